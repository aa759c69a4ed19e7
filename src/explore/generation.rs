//! One generation's runs on every core: the draws are made before it
//! starts (from the corpus as it stood), the results come back in run
//! order, so what is merged never depends on which worker ran what.
//!
//! Part of `explore`: `plan_generation -> generation::run_plans -> merged in run
//! order -> corpus`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use super::mutate::Drawn;
use super::{Failing, Options, RunNote, Stop, run_one};
use crate::coverage::Coverage;

/// A run's coverage, and the run if it failed.
pub type Result = (Coverage, Option<Failing>);

/// Run `plans` on `options.jobs` workers; the results in plan order (all
/// of them, or under `--budget` the ones begun before it ran out: always a
/// prefix, since runs are begun in order) and the number of workers.
pub fn run_plans(
    plans: &[Drawn],
    options: &Options,
    started: Instant,
    progress: &(dyn Fn(RunNote<'_>) + Sync),
) -> (Vec<Result>, usize) {
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result>>> = Mutex::new(vec![None; plans.len()]);
    let worker = || {
        loop {
            // The budget is checked before a run is taken, so no run is
            // taken and then left: the ones begun are a prefix.
            if let Stop::Budget(budget) = options.stop
                && started.elapsed() >= budget
            {
                break;
            }
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(drawn) = plans.get(i) else {
                break;
            };
            let (coverage, failing) = run_one(drawn, options);
            progress(RunNote {
                drawn,
                failure: failing.as_ref().map(|f| f.signature),
                coverage: &coverage,
            });
            let mut slots = slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots[i] = Some((coverage, failing));
        }
    };
    let workers = crate::workers::on_workers(options.jobs.min(plans.len()), &worker);
    let slots = slots.into_inner().unwrap_or_else(PoisonError::into_inner);
    (slots.into_iter().map_while(|r| r).collect(), workers)
}
