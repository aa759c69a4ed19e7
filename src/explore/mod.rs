//! Exploration: swarm testing over the valid envelope, on every core.
//!
//! Data flow: `run number n -> a proptest RNG seeded from n -> families on
//! or off (swarm) -> a whole scenario and seed from the envelope
//! (crate::envelope) -> the bugs asked for switched on -> run -> oracle ->
//! coverage merged, failures kept -> one failure per signature shrunk
//! (crate::shrink)`.
//!
//! Run `n` draws the same scenario on every machine, so `--start n --runs 1`
//! replays it. Which runs happen depends only on `--start` and `--runs`;
//! with `--budget` it also depends on the machine's speed, and the report
//! says how many ran. Parallelism is between runs and between shrink
//! candidates; every simulation stays single-threaded and deterministic.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::coverage::Coverage;
use crate::envelope::{Case, Families, explore_case};
use crate::oracle::Verdict;
use crate::scenario::Bugs;
use crate::shrink::{Shrunk, Signature};

mod around;
pub use around::around;

/// Failing runs whose scenario is kept, the first in run order; the rest
/// are counted.
pub const MAX_FAILURES_KEPT: usize = 1000;

/// When to stop drawing runs.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Exactly this many runs.
    Runs(u64),
    /// Until this much wall time has passed (shrinking comes after).
    Budget(Duration),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub stop: Stop,
    /// The first run number.
    pub start: u64,
    pub jobs: usize,
    /// The defects on in every drawn scenario.
    pub bugs: Bugs,
    /// Candidate runs each shrink may spend.
    pub shrink_runs: usize,
    /// Draw around this scenario (`--from`) instead of from the envelope.
    pub from: Option<crate::scenario::Scenario>,
}

/// What run `n` draws: its families and its case, before any bug is on.
pub fn draw(n: u64) -> (Families, Case) {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&crate::seed::derive(n, "explore").to_le_bytes());
    seed[8..16].copy_from_slice(&n.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let (families, mut case) = explore_case()
        .new_tree(&mut runner)
        .expect("the envelope's strategies never reject a draw")
        .current();
    case.scenario.name = format!("explore_{n}");
    case.scenario.description = format!("drawn by stagesim explore, run {n}");
    (families, case)
}

/// One failing run.
#[derive(Debug, Clone)]
pub struct Failing {
    pub run: u64,
    pub families: Families,
    pub case: Case,
    pub signature: Signature,
}

/// A distinct failure: every failing run of one signature, the first of
/// them shrunk.
pub struct Found {
    pub first: Failing,
    /// Failing runs with this signature (among those kept).
    pub runs: u64,
    pub shrunk: Shrunk,
}

pub struct Exploration {
    pub runs: u64,
    pub failed: u64,
    pub found: Vec<Found>,
    pub coverage: Coverage,
    /// Wall time of the runs (shrinking not included).
    pub wall: Duration,
    pub jobs: usize,
}

struct Collector {
    runs: u64,
    failed: u64,
    failing: BTreeMap<u64, Failing>,
    coverage: Coverage,
}

/// Draw, run and judge; then shrink one failing run per signature.
/// What the progress callback hears of each finished run: the signature
/// of its failure, if it failed, and the probes it reached.
pub struct RunNote<'a> {
    pub failure: Option<Signature>,
    pub coverage: &'a Coverage,
}

pub fn explore(options: &Options, progress: &(dyn Fn(RunNote<'_>) + Sync)) -> Exploration {
    let started = Instant::now();
    let next = AtomicUsize::new(0);
    let collector = Mutex::new(Collector {
        runs: 0,
        failed: 0,
        failing: BTreeMap::new(),
        coverage: Coverage::default(),
    });
    let worker = || {
        while let Some(n) = take(options, &next, started) {
            let (coverage, failing) = run_one(n, options);
            progress(RunNote {
                failure: failing.as_ref().map(|f| f.signature),
                coverage: &coverage,
            });
            let mut c = collector.lock().unwrap_or_else(PoisonError::into_inner);
            c.runs += 1;
            c.coverage.merge(&coverage);
            if let Some(f) = failing {
                c.failed += 1;
                c.failing.insert(n, f);
                if c.failing.len() > MAX_FAILURES_KEPT {
                    c.failing.pop_last();
                }
            }
        }
    };
    let jobs = crate::workers::on_workers(options.jobs, &worker);
    let wall = started.elapsed();
    let c = collector
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let found = shrink_each(c.failing.into_values(), options);
    Exploration {
        runs: c.runs,
        failed: c.failed,
        found,
        coverage: c.coverage,
        wall,
        jobs,
    }
}

/// The next run number, or `None` when the runs or the budget are spent,
/// or past the last run number (a budget started near it stops there
/// rather than wrap around to run 0).
fn take(options: &Options, next: &AtomicUsize, started: Instant) -> Option<u64> {
    let i = next.fetch_add(1, Ordering::Relaxed) as u64;
    let more = match options.stop {
        Stop::Runs(n) => i < n,
        Stop::Budget(budget) => started.elapsed() < budget,
    };
    if !more {
        return None;
    }
    options.start.checked_add(i)
}

/// Run `n`'s coverage, and the run if it failed.
fn run_one(n: u64, options: &Options) -> (Coverage, Option<Failing>) {
    let (families, mut case) = match &options.from {
        // Around a scenario, no family is drawn: it keeps its own.
        Some(base) => (Families::NONE, around(base, n)),
        None => draw(n),
    };
    case.scenario.bugs = options.bugs;
    let outcome = crate::run::run(&case.scenario, case.seed);
    let coverage = Coverage::of(&outcome.trace);
    let failing = (outcome.verdict == Verdict::Fail).then(|| Failing {
        run: n,
        families,
        signature: Signature::of(&outcome, &case.scenario).expect("a failed run has a violation"),
        case,
    });
    (coverage, failing)
}

/// Group the failing runs by signature, in run order, and shrink the first
/// of each group.
fn shrink_each(failing: impl Iterator<Item = Failing>, options: &Options) -> Vec<Found> {
    let mut groups: Vec<(Failing, u64)> = Vec::new();
    for f in failing {
        match groups.iter_mut().find(|(g, _)| g.signature == f.signature) {
            Some((_, runs)) => *runs += 1,
            None => groups.push((f, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(first, runs)| {
            let shrunk = crate::shrink::shrink(
                &first.case.scenario,
                first.case.seed,
                options.jobs,
                options.shrink_runs,
            )
            .unwrap_or_else(|_| {
                panic!(
                    "run {} failed and then passed: not deterministic",
                    first.run
                )
            });
            Found {
                first,
                runs,
                shrunk,
            }
        })
        .collect()
}
