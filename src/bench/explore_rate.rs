//! Explore throughput: how many generated runs `stagesim explore` draws,
//! simulates and judges per second, with every defect off (so nothing
//! fails and nothing is shrunk: the figure is the runs alone).

use super::{measure_process, per_second};
use crate::explore::{self, Options};
use crate::scenario::Bugs;

/// `runs` guided explore runs from run 1 on `jobs` workers, by wall time
/// and by the CPU time of the whole process.
#[derive(Debug, Clone)]
pub struct ExploreRate {
    pub runs: u64,
    pub jobs: usize,
    /// Runs per wall second.
    pub per_s: f64,
    /// Runs per CPU second (every worker thread).
    pub per_cpu_s: f64,
    /// Runs that failed: 0 unless the backend without defects is wrong.
    pub failed: u64,
}

pub fn explore_rate(runs: u64, jobs: usize) -> ExploreRate {
    let options = Options::runs(1, runs, Bugs::default(), jobs);
    let (exploration, cost) = measure_process(|| explore::explore(&options, &|_| {}));
    ExploreRate {
        runs: exploration.runs,
        jobs: exploration.jobs,
        per_s: per_second(exploration.runs as f64, cost.wall),
        per_cpu_s: per_second(exploration.runs as f64, cost.cpu),
        failed: exploration.failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs 1-4 (seeds as numbered), every defect off: four runs, none
    /// failing, and both rates from the same four.
    #[test]
    fn counts_the_runs_it_made_and_rates_them_by_wall_and_cpu() {
        let rate = explore_rate(4, 2);
        assert_eq!((rate.runs, rate.failed), (4, 0), "{rate:?}");
        assert!(rate.per_s > 0.0 && rate.per_cpu_s > 0.0, "{rate:?}");
        assert!(rate.jobs >= 1 && rate.jobs <= 2, "{rate:?}");
    }
}
