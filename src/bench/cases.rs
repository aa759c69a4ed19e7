//! Property-test throughput: how many generated scenarios a second the
//! simulation gets through, fast-forwarded and stepped every tick.
//!
//! `envelope::valid_case -> Case -> run (both steppings, alternating) ->
//! cases per second`. The cases come from a fixed proptest RNG, so every
//! bench run times the same scenarios; each case's seed is its own.

use super::cost::{Cost, measure, per_second};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::envelope::{Case, Shape, valid_case};
use crate::run::{Stepping, run_stepping};

/// Wall and CPU time for the same generated cases in each mode.
#[derive(Debug, Clone)]
pub struct CaseRate {
    pub cases: usize,
    pub fast: Cost,
    pub every_tick: Cost,
    /// Cases whose two verdicts differed (expected: none).
    pub disagreements: usize,
}

impl CaseRate {
    /// Cases per wall second, fast-forwarded.
    pub fn fast_per_sec(&self) -> f64 {
        per_second(self.cases as f64, self.fast.wall)
    }

    /// Cases per wall second, stepped every tick.
    pub fn every_tick_per_sec(&self) -> f64 {
        per_second(self.cases as f64, self.every_tick.wall)
    }

    /// How many times faster fast-forwarding is, by CPU time.
    pub fn cpu_speedup(&self) -> f64 {
        self.every_tick.cpu.as_secs_f64() / self.fast.cpu.as_secs_f64().max(1e-9)
    }
}

/// `count` cases of the valid envelope, the same ones on every call.
pub fn generated_cases(count: usize) -> Vec<Case> {
    let rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    let strategy = valid_case(Shape::any());
    (0..count)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the envelope always generates")
                .current()
        })
        .collect()
}

/// Run each of `count` generated cases in both modes, one after the other,
/// and add up the wall and CPU time of each mode.
pub fn case_rate(count: usize) -> CaseRate {
    let mut rate = CaseRate {
        cases: count,
        fast: Cost::default(),
        every_tick: Cost::default(),
        disagreements: 0,
    };
    for case in generated_cases(count) {
        let (fast, cost) =
            measure(|| run_stepping(&case.scenario, case.seed, Stepping::FastForward));
        rate.fast = rate.fast + cost;
        let (every, cost) =
            measure(|| run_stepping(&case.scenario, case.seed, Stepping::EveryTick));
        rate.every_tick = rate.every_tick + cost;
        if fast.verdict != every.verdict {
            rate.disagreements += 1;
        }
    }
    rate
}
