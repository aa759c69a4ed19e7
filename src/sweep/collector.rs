//! The one place a sweep's workers hand in their runs, under one lock: the
//! records, the close codes and spreads folded per target, and the first
//! [`MAX_FAILURES_KEPT`] failing runs in job order with their violations.
//!
//! Data flow: worker (`run_one`, one `Finished` per job) -> `Collector::add`
//! -> `SweepResult`. Whatever order the workers finish in, what is kept is
//! the same: records are sorted by job afterwards, sums, mins, maxes and
//! unions do not depend on order, and the kept failures are the lowest job
//! indices.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::coverage::Coverage;

use super::{Failure, MAX_FAILURES_KEPT, RunRecord, Spread};

/// What a worker hands in for one run: everything a sweep keeps of it.
pub(super) struct Finished {
    pub(super) record: RunRecord,
    pub(super) close_codes: BTreeMap<u16, u64>,
    pub(super) failure: Option<Failure>,
    pub(super) spread: Spread,
    pub(super) coverage: Coverage,
    /// Its HTML report was written (`--report-dir`).
    pub(super) reported: bool,
}

/// What the workers hand in, under one lock.
pub(super) struct Collector {
    pub(super) runs: Vec<(usize, RunRecord)>,
    pub(super) failures: BTreeMap<usize, Failure>,
    pub(super) close_codes: Vec<BTreeMap<u16, u64>>,
    pub(super) spreads: Vec<Spread>,
    pub(super) coverage: Vec<Coverage>,
    /// The jobs among `failures` whose HTML report is on disk.
    pub(super) reported: BTreeSet<usize>,
    /// The first report that could not be written.
    pub(super) report_error: Option<String>,
}

impl Collector {
    pub(super) fn new(targets: usize) -> Self {
        Collector {
            runs: Vec::new(),
            failures: BTreeMap::new(),
            close_codes: vec![BTreeMap::new(); targets],
            spreads: vec![Spread::default(); targets],
            coverage: vec![Coverage::default(); targets],
            reported: BTreeSet::new(),
            report_error: None,
        }
    }

    /// Whether a failure of `job` would be kept if it were handed in now.
    /// Once false it stays false: the kept failures only ever get lower
    /// job indices.
    pub(super) fn keeps(&self, job: usize) -> bool {
        self.failures.len() < MAX_FAILURES_KEPT
            || self
                .failures
                .last_key_value()
                .is_some_and(|(&last, _)| job < last)
    }

    /// Fold in one run. Returns the failure this pushed out of the kept
    /// ones if its report was written, so that the caller removes it.
    pub(super) fn add(&mut self, job: usize, run: Finished) -> Option<Failure> {
        let target = run.record.target;
        self.runs.push((job, run.record));
        let sums = &mut self.close_codes[target];
        for (code, n) in run.close_codes {
            *sums.entry(code).or_default() += n;
        }
        self.spreads[target].merge(run.spread);
        self.coverage[target].merge(&run.coverage);
        let failure = run.failure?;
        self.failures.insert(job, failure);
        if run.reported {
            self.reported.insert(job);
        }
        // Keep the lowest job indices, so what is kept does not depend on
        // which worker finished first.
        if self.failures.len() <= MAX_FAILURES_KEPT {
            return None;
        }
        let (dropped, failure) = self.failures.pop_last()?;
        self.reported.remove(&dropped).then_some(failure)
    }
}

/// The collector, for a short look or hand-in. A poisoned lock means
/// another worker panicked; the scope re-raises that panic, so the data
/// here no longer matters.
pub(super) fn lock(collector: &Mutex<Collector>) -> MutexGuard<'_, Collector> {
    collector.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Cause;
    use crate::sweep::tests::{record, violation};

    #[test]
    fn only_the_first_failures_in_job_order_keep_their_violations() {
        let mut c = Collector::new(2);
        // Jobs handed in from last to first, as a slow worker might.
        let jobs = 2 * MAX_FAILURES_KEPT;
        for job in (0..jobs).rev() {
            let (target, seed) = (job / MAX_FAILURES_KEPT, job as u64);
            let failure = Failure {
                target,
                seed,
                violations: vec![violation(Cause::Closed1011, 1)],
                violations_total: 1,
            };
            let run = Finished {
                record: record(target, seed),
                close_codes: BTreeMap::from([(1011, 1)]),
                failure: Some(failure),
                spread: Spread::default(),
                coverage: Coverage::default(),
                reported: false,
            };
            assert_eq!(c.add(job, run), None, "no report was written");
        }
        assert_eq!(c.failures.len(), MAX_FAILURES_KEPT);
        assert!(c.failures.keys().copied().eq(0..MAX_FAILURES_KEPT));
        assert_eq!(c.close_codes[1][&1011], MAX_FAILURES_KEPT as u64);
        assert_eq!(c.runs.len(), jobs);
    }

    #[test]
    fn a_report_pushed_out_of_the_kept_failures_is_handed_back_for_removal() {
        let mut c = Collector::new(1);
        let failing = |job: usize, reported: bool| Finished {
            record: record(0, job as u64),
            close_codes: BTreeMap::new(),
            failure: Some(Failure {
                target: 0,
                seed: job as u64,
                violations: Vec::new(),
                violations_total: 1,
            }),
            spread: Spread::default(),
            coverage: Coverage::default(),
            reported,
        };
        // Every job from 1 on fails and writes its report while it is kept.
        for job in 1..=MAX_FAILURES_KEPT {
            assert!(c.keeps(job));
            assert_eq!(c.add(job, failing(job, true)), None);
        }
        assert!(
            !c.keeps(MAX_FAILURES_KEPT + 1),
            "the kept failures are full"
        );
        // Job 0 finishes last: the highest kept job is pushed out, and its
        // report must go.
        assert!(c.keeps(0));
        let dropped = c.add(0, failing(0, true)).expect("a report to remove");
        assert_eq!(dropped.seed, MAX_FAILURES_KEPT as u64);
        assert!(c.reported.iter().copied().eq(0..MAX_FAILURES_KEPT));
        // A run that wrote no report hands nothing back when pushed out.
        assert_eq!(
            c.add(MAX_FAILURES_KEPT + 1, failing(MAX_FAILURES_KEPT + 1, false)),
            None
        );
    }
}
