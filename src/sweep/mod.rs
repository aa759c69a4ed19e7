//! Seed sweeps: many runs of many scenarios, one simulation per worker
//! thread.
//!
//! Data flow: `scenarios x seed range -> shard -> jobs -> workers (each
//! builds and runs its own simulation) -> one RunRecord per job, in job
//! order`. Parallelism is only between simulations; each simulation stays
//! single-threaded and deterministic, so a run's record does not depend on
//! `--jobs` or `--shard`.
//!
//! Memory is bounded by what has run, not by what was asked for: nothing is
//! allocated per job up front, each finished run leaves one fixed-size
//! [`RunRecord`] (no heap), close codes and the [`Spread`] of unexpected
//! violations (when, and which user groups) are folded per target, and only
//! the first [`MAX_FAILURES_KEPT`] failing runs keep their violations (at most
//! [`MAX_VIOLATIONS_KEPT`] each). A million-seed sweep holds about 80 MB of
//! records per scenario, however many violations its runs find.

mod collector;
mod junit;
mod report_dir;
mod screen;
mod shard;
mod spread;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use junit::to_junit;
pub use report_dir::ReportDir;
pub use screen::{BugScreen, Catch, Screening, catches, screen, with_only};
pub use shard::{Shard, seeds_for};
pub use spread::Spread;

use collector::{Collector, Finished, lock};

use crate::oracle::{Verdict, Violation};
use crate::scenario::{Expect, Scenario};

/// The most seeds one sweep takes (the CLI's `--seeds` bound). A run costs
/// 0.05 to 0.5 s of CPU, so a million seeds of one scenario is already a day
/// on a 16-core machine; larger ranges are split with `--start`.
pub const MAX_SEEDS: u64 = 1_000_000;
/// Failing runs whose violations are kept, the first in job order: enough to
/// read and to reproduce, without a failing million-seed sweep holding every
/// violation of every run.
pub const MAX_FAILURES_KEPT: usize = 1000;
/// Violations kept per failing run (always including the first one the
/// scenario does not expect, which the reports print).
pub const MAX_VIOLATIONS_KEPT: usize = 20;

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
        format!(
            "stagesim run {} --seed {seed}{}",
            shell_word(&self.path),
            self.flags
        )
    }
}

/// `text` as one word of a POSIX shell command line: quoted when it holds
/// a space or another character the shell would act on, so a reproduce
/// line pasted into a terminal runs the same file. A NUL, which no shell
/// word can hold, is left as it is (no path has one).
pub fn shell_word(text: &str) -> std::borrow::Cow<'_, str> {
    shlex::try_quote(text).unwrap_or(std::borrow::Cow::Borrowed(text))
}

/// SHA-256 of a run's rendered trace, as bytes: a hex `String` per run would
/// be one heap allocation per record.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TraceHash(pub [u8; 32]);

impl TraceHash {
    /// From the 64 hex digits of [`crate::run::Outcome::trace_hash`].
    pub fn from_hex(hex: &str) -> Self {
        let mut bytes = [0u8; 32];
        for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks(2)) {
            let pair = std::str::from_utf8(pair).unwrap_or("");
            *byte = u8::from_str_radix(pair, 16).unwrap_or(0);
        }
        TraceHash(bytes)
    }
}

impl fmt::Display for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// What a sweep keeps of every run: enough to count and compare, fixed size
/// and `Copy` (the trace and the violations stay in the worker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunRecord {
    pub target: usize,
    pub seed: u64,
    pub verdict: Verdict,
    pub trace_hash: TraceHash,
    pub sim_ms: u64,
    /// Wall time of this run (outside the simulation; not compared).
    pub wall: Duration,
}

/// The violations of one failing run, trimmed to [`MAX_VIOLATIONS_KEPT`].
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub target: usize,
    pub seed: u64,
    pub violations: Vec<Violation>,
    /// How many violations the run had before trimming.
    pub violations_total: usize,
}

impl Failure {
    /// The violation the reports lead with: the first one `expect` does not
    /// list (the reason the run failed), else the first.
    pub fn first_unexpected(&self, expect: &Expect) -> Option<&Violation> {
        self.violations
            .iter()
            .find(|v| !crate::oracle::is_expected(expect, v))
            .or(self.violations.first())
    }
}

/// The results of a sweep.
#[derive(Debug, Clone)]
pub struct SweepResult {
    /// One per run, in job order (target, then seed).
    pub records: Vec<RunRecord>,
    /// The first [`MAX_FAILURES_KEPT`] failing runs in job order.
    pub failures: Vec<Failure>,
    /// Close codes users recorded, summed per target.
    pub close_codes: Vec<BTreeMap<u16, u64>>,
    /// When and to whom each target's unexpected violations happened.
    pub spreads: Vec<Spread>,
    /// The coverage probes each target's runs reached.
    pub coverage: Vec<crate::coverage::Coverage>,
    /// With a report directory: the first report that could not be written.
    pub report_error: Option<String>,
    pub wall: Duration,
    /// Worker threads that ran.
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
    run_reporting(targets, seeds, jobs, None, progress)
}

/// [`run`], also writing the HTML report of every kept failing run into
/// `reports` (see [`ReportDir`]).
pub fn run_reporting(
    targets: &[Target],
    seeds: &[u64],
    jobs: usize,
    reports: Option<&ReportDir>,
    progress: &(dyn Fn(&RunRecord) + Sync),
) -> SweepResult {
    let total = targets.len().saturating_mul(seeds.len());
    let next = AtomicUsize::new(0);
    let collector = Mutex::new(Collector::new(targets.len()));
    let worker = || {
        loop {
            let job = next.fetch_add(1, Ordering::Relaxed);
            if job >= total {
                break;
            }
            let target = job / seeds.len();
            let seed = seeds[job % seeds.len()];
            let run = run_one(job, target, &targets[target], seed, reports, &collector);
            progress(&run.record);
            let dropped = lock(&collector).add(job, run);
            if let (Some(dir), Some(f)) = (reports, dropped) {
                dir.remove(f.target, f.seed);
            }
        }
    };
    let started = Instant::now();
    let jobs = crate::workers::on_workers(jobs.clamp(1, total.max(1)), &worker);
    let c = collector
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    let mut runs = c.runs;
    runs.sort_unstable_by_key(|(job, _)| *job);
    SweepResult {
        records: runs.into_iter().map(|(_, r)| r).collect(),
        failures: c.failures.into_values().collect(),
        close_codes: c.close_codes,
        spreads: c.spreads,
        coverage: c.coverage,
        report_error: c.report_error,
        wall: started.elapsed(),
        jobs,
    }
}

/// Job `job`, reduced to what a sweep keeps of it: its record, its close
/// codes, its spread and, if it failed, its trimmed violations, with its
/// HTML report written first if it is a failure the sweep keeps so far.
fn run_one(
    job: usize,
    target: usize,
    t: &Target,
    seed: u64,
    reports: Option<&ReportDir>,
    collector: &Mutex<Collector>,
) -> Finished {
    let started = Instant::now();
    let outcome = crate::run::run(&t.scenario, seed);
    let record = RunRecord {
        target,
        seed,
        verdict: outcome.verdict,
        trace_hash: TraceHash::from_hex(outcome.trace_hash()),
        sim_ms: outcome.summary.sim_ms,
        wall: started.elapsed(),
    };
    let failed = outcome.verdict == Verdict::Fail;
    let mut reported = false;
    if let Some(dir) = reports.filter(|_| failed && lock(collector).keeps(job)) {
        // Rendered outside the lock: the other workers carry on meanwhile.
        match dir.write(target, t, &outcome) {
            Ok(()) => reported = true,
            Err(e) => {
                lock(collector).report_error.get_or_insert(e);
            }
        }
    }
    let spread = Spread::of(&outcome, &t.scenario.expect);
    let coverage = crate::coverage::Coverage::of(&outcome.trace);
    let failure = failed.then(|| Failure {
        target,
        seed,
        violations_total: outcome.violations.len(),
        violations: trim(outcome.violations, &t.scenario.expect),
    });
    Finished {
        record,
        close_codes: outcome.summary.close_codes,
        failure,
        spread,
        coverage,
        reported,
    }
}

/// The first [`MAX_VIOLATIONS_KEPT`] violations, with the first unexpected
/// one in the last place if it would otherwise be cut.
fn trim(mut violations: Vec<Violation>, expect: &Expect) -> Vec<Violation> {
    if violations.len() > MAX_VIOLATIONS_KEPT {
        let first = violations
            .iter()
            .position(|v| !crate::oracle::is_expected(expect, v));
        if let Some(i) = first.filter(|&i| i >= MAX_VIOLATIONS_KEPT) {
            violations.swap(i, MAX_VIOLATIONS_KEPT - 1);
        }
        violations.truncate(MAX_VIOLATIONS_KEPT);
        violations.shrink_to_fit();
    }
    violations
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
    /// When and to whom the unexpected violations happened.
    pub spread: Spread,
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
        }
        for ((s, codes), spread) in out.iter_mut().zip(&self.close_codes).zip(&self.spreads) {
            s.close_codes = codes.clone();
            s.spread = spread.clone();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{Cause, Expected, Invariant};

    pub(super) fn violation(cause: Cause, user: usize) -> Violation {
        Violation {
            invariant: cause.invariant(),
            cause,
            user: Some(format!("user-{user:04}")),
            host: "clients-1".into(),
            at: Duration::from_millis(user as u64),
            conn: Some(1),
            detail: "x".repeat(100),
            component: None,
            reason: None,
            count: 1,
        }
    }

    pub(super) fn record(target: usize, seed: u64) -> RunRecord {
        RunRecord {
            target,
            seed,
            verdict: Verdict::Fail,
            trace_hash: TraceHash([0; 32]),
            sim_ms: 0,
            wall: Duration::ZERO,
        }
    }

    #[test]
    fn a_record_is_small_and_owns_no_heap() {
        // `Copy` proves there is no heap behind it; the size is what a
        // million-seed sweep multiplies.
        fn copy<T: Copy>() {}
        copy::<RunRecord>();
        assert!(std::mem::size_of::<RunRecord>() <= 80);
    }

    #[test]
    fn trimming_keeps_the_first_unexpected_violation() {
        let expect = Expect {
            violations: vec![Expected::invariant(Invariant::Isolation)],
            ..Expect::default()
        };
        let mut all: Vec<Violation> = (0..500)
            .map(|u| violation(Cause::ForeignEvent, u))
            .collect();
        all.push(violation(Cause::Closed1011, 999));
        let kept = trim(all, &expect);
        assert_eq!(kept.len(), MAX_VIOLATIONS_KEPT);
        assert_eq!(kept[MAX_VIOLATIONS_KEPT - 1].cause, Cause::Closed1011);
        let failure = Failure {
            target: 0,
            seed: 1,
            violations: kept,
            violations_total: 501,
        };
        let first = failure.first_unexpected(&expect).unwrap();
        assert_eq!(first.cause, Cause::Closed1011);
    }
}
