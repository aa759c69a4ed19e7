//! Seed sweeps: many runs of many scenarios, one simulation per worker
//! thread.
//!
//! Data flow: `scenarios x seed range -> shard -> jobs -> workers (each
//! builds and runs its own simulation) -> one RunRecord per job, in job
//! order`. Parallelism is only between simulations; each simulation stays
//! single-threaded and deterministic, so a run's record does not depend on
//! `--jobs` or `--shard`.

mod junit;
mod shard;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use junit::to_junit;
pub use shard::{Shard, seeds_for};

use crate::oracle::{Verdict, Violation};
use crate::scenario::Scenario;

/// One scenario of a sweep, with the path it was loaded from (for the
/// reproduce line) and any `--bug` flags to repeat.
#[derive(Debug, Clone)]
pub struct Target {
    pub path: String,
    pub scenario: Scenario,
    pub flags: String,
}

impl Target {
    pub fn reproduce(&self, seed: u64) -> String {
        format!("stagesim run {} --seed {seed}{}", self.path, self.flags)
    }
}

/// What a sweep keeps of one run: enough to report and compare, small and
/// `Send` (the trace itself stays in the worker).
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub target: usize,
    pub seed: u64,
    pub verdict: Verdict,
    pub trace_hash: String,
    pub sim_ms: u64,
    pub close_codes: BTreeMap<u16, u64>,
    pub violations: Vec<Violation>,
    /// Wall time of this run (outside the simulation; not compared).
    pub wall: Duration,
}

/// The results of a sweep, in job order (target, then seed).
#[derive(Debug, Clone)]
pub struct SweepResult {
    pub records: Vec<RunRecord>,
    pub wall: Duration,
    pub jobs: usize,
}

/// Run every target on every seed of `seeds`, on `jobs` worker threads.
/// `progress` is called after each run (from the worker that finished it).
pub fn run(
    targets: &[Target],
    seeds: &[u64],
    jobs: usize,
    progress: &(dyn Fn(&RunRecord) + Sync),
) -> SweepResult {
    let work: Vec<(usize, u64)> = (0..targets.len())
        .flat_map(|t| seeds.iter().map(move |&s| (t, s)))
        .collect();
    let slots: Vec<Mutex<Option<RunRecord>>> = work.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let jobs = jobs.max(1).min(work.len().max(1));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(t, seed)) = work.get(i) else { break };
                    let record = run_one(t, &targets[t].scenario, seed);
                    progress(&record);
                    *slots[i]
                        .lock()
                        .expect("no worker panics while holding a slot") = Some(record);
                }
            });
        }
    });
    let records = slots
        .into_iter()
        .map(|m| m.into_inner().expect("slot lock").expect("every job ran"))
        .collect();
    SweepResult {
        records,
        wall: started.elapsed(),
        jobs,
    }
}

/// One run, reduced to its record.
pub fn run_one(target: usize, scenario: &Scenario, seed: u64) -> RunRecord {
    let started = Instant::now();
    let outcome = crate::run::run(scenario, seed);
    RunRecord {
        target,
        seed,
        verdict: outcome.verdict,
        trace_hash: outcome.trace_hash,
        sim_ms: outcome.summary.sim_ms,
        close_codes: outcome.summary.close_codes,
        violations: outcome.violations,
        wall: started.elapsed(),
    }
}

/// Counts for one target.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetSummary {
    pub runs: u64,
    pub pass: u64,
    pub reproduced: u64,
    pub fail: u64,
    pub close_codes: BTreeMap<u16, u64>,
    pub wall: Duration,
    pub failing_seeds: Vec<u64>,
    pub reproducing_seeds: Vec<u64>,
}

impl SweepResult {
    pub fn summary(&self, targets: usize) -> Vec<TargetSummary> {
        let mut out = vec![TargetSummary::default(); targets];
        for r in &self.records {
            let s = &mut out[r.target];
            s.runs += 1;
            s.wall += r.wall;
            match r.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Reproduced => {
                    s.reproduced += 1;
                    s.reproducing_seeds.push(r.seed);
                }
                Verdict::Fail => {
                    s.fail += 1;
                    s.failing_seeds.push(r.seed);
                }
            }
            for (code, n) in &r.close_codes {
                *s.close_codes.entry(*code).or_default() += n;
            }
        }
        out
    }

    pub fn runs_per_sec(&self) -> f64 {
        self.records.len() as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// Whether a target is a regression scenario that reproduced on no seed of
/// the sweep (which fails the sweep: the regression no longer proves
/// anything).
pub fn regression_missed(target: &Target, summary: &TargetSummary) -> bool {
    !target.scenario.expect.violations.is_empty() && summary.runs > 0 && summary.reproduced == 0
}
