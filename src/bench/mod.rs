//! `stagesim bench`: the speed and memory figures of the README, measured.
//!
//! Not a test: wall time depends on the machine. Everything measured here is
//! a real run of the simulation; wall and CPU clocks are read only outside
//! it (`cost`). Peak memory is per process (`VmHWM`), so each scale point
//! runs in a child process of its own.

mod cases;
mod cost;
mod explore_rate;
mod scale;

use std::time::Duration;

pub use cases::{CaseRate, case_rate};
pub use cost::{Cost, load_average, measure, measure_process, per_second};
pub use explore_rate::{ExploreRate, explore_rate};
pub use scale::{
    ScalePoint, measure_in_child, measure_scenario_in_child, scale_point, scale_scenario,
    scenario_point,
};

use crate::run::Stepping;
use crate::scenario::Scenario;
use crate::sweep::{self, Target};

/// Simulated seconds per second of one run, by wall and by CPU time (the
/// best of `repeat` each).
#[derive(Debug, Clone)]
pub struct Compression {
    pub scenario: String,
    pub users: usize,
    pub sim: Duration,
    pub cost: Cost,
    pub verdict: crate::oracle::Verdict,
}

impl Compression {
    /// Simulated seconds per wall second.
    pub fn ratio(&self) -> f64 {
        per_second(self.sim.as_secs_f64(), self.cost.wall)
    }

    /// Simulated seconds per CPU second of the thread that ran it.
    pub fn cpu_ratio(&self) -> f64 {
        per_second(self.sim.as_secs_f64(), self.cost.cpu)
    }
}

pub fn compression(scenario: &Scenario, seed: u64, repeat: usize) -> Compression {
    compression_stepping(scenario, seed, repeat, Stepping::default())
}

/// [`compression`] with the simulation stepping as asked.
pub fn compression_stepping(
    scenario: &Scenario,
    seed: u64,
    repeat: usize,
    stepping: Stepping,
) -> Compression {
    let mut best: Option<Compression> = None;
    for _ in 0..repeat.max(1) {
        let (outcome, cost) = measure(|| crate::run::run_stepping(scenario, seed, stepping));
        let cost = best.as_ref().map_or(cost, |b| b.cost.min(cost));
        best = Some(Compression {
            scenario: scenario.name.clone(),
            users: scenario.users.iter().map(|g| g.count as usize).sum(),
            sim: outcome.trace.end,
            cost,
            verdict: outcome.verdict,
        });
    }
    best.expect("at least one run")
}

/// The same run fast-forwarded and stepped every tick, measured side by
/// side (alternating, best of `repeat` each), so that the machine's noise
/// falls on both.
#[derive(Debug, Clone)]
pub struct BeforeAfter {
    pub fast: Compression,
    pub every_tick: Compression,
}

impl BeforeAfter {
    /// How many times faster fast-forwarding is, by wall time.
    pub fn speedup(&self) -> f64 {
        self.every_tick.cost.wall.as_secs_f64() / self.fast.cost.wall.as_secs_f64().max(1e-9)
    }

    /// How many times faster fast-forwarding is, by CPU time.
    pub fn cpu_speedup(&self) -> f64 {
        self.every_tick.cost.cpu.as_secs_f64() / self.fast.cost.cpu.as_secs_f64().max(1e-9)
    }
}

pub fn before_after(scenario: &Scenario, seed: u64, repeat: usize) -> BeforeAfter {
    let mut fast = compression_stepping(scenario, seed, 1, Stepping::FastForward);
    let mut every_tick = compression_stepping(scenario, seed, 1, Stepping::EveryTick);
    for _ in 1..repeat.max(1) {
        let f = compression_stepping(scenario, seed, 1, Stepping::FastForward);
        let e = compression_stepping(scenario, seed, 1, Stepping::EveryTick);
        fast.cost = fast.cost.min(f.cost);
        every_tick.cost = every_tick.cost.min(e.cost);
    }
    BeforeAfter { fast, every_tick }
}

/// Sweep throughput with 1 and with `jobs` workers, by wall time, and the
/// CPU time each sweep spent per run (all threads of the process).
#[derive(Debug, Clone)]
pub struct Throughput {
    pub runs: usize,
    pub one_job: f64,
    pub jobs: usize,
    pub many_jobs: f64,
    /// Runs per CPU second with 1 job and with `jobs` (what the runs cost,
    /// whatever else the machine was doing).
    pub one_job_cpu: f64,
    pub many_jobs_cpu: f64,
}

impl Throughput {
    pub fn speedup(&self) -> f64 {
        self.many_jobs / self.one_job.max(1e-9)
    }
}

pub fn throughput(target: &Target, seeds: u64, jobs: usize) -> Throughput {
    let seeds: Vec<u64> = (1..=seeds).collect();
    let (one, one_cost) =
        measure_process(|| sweep::run(std::slice::from_ref(target), &seeds, 1, &|_| {}));
    let (many, many_cost) =
        measure_process(|| sweep::run(std::slice::from_ref(target), &seeds, jobs, &|_| {}));
    let runs = seeds.len();
    Throughput {
        runs,
        one_job: one.runs_per_sec(),
        jobs,
        many_jobs: many.runs_per_sec(),
        one_job_cpu: per_second(runs as f64, one_cost.cpu),
        many_jobs_cpu: per_second(runs as f64, many_cost.cpu),
    }
}

/// The peak resident memory of this process so far, in KiB (Linux).
pub fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed 1 of ten users who think for 20 s: most ticks are idle, so
    /// stepping every tick costs several times the CPU of fast-forwarding
    /// (about 4x measured). The figures must say so by CPU as by wall, with
    /// each mode's time in its own column and each ratio from its own time.
    #[test]
    fn before_and_after_are_measured_by_cpu_time_each_in_its_own_column() {
        let scenario = scale_scenario(10);
        let b = before_after(&scenario, 1, 1);
        for c in [&b.fast, &b.every_tick] {
            assert!(c.cost.cpu > Duration::ZERO, "{c:?}");
            assert!(
                c.cost.cpu <= c.cost.wall + Duration::from_millis(2),
                "{c:?}"
            );
            let expected = c.sim.as_secs_f64() / c.cost.cpu.as_secs_f64();
            assert!((c.cpu_ratio() - expected).abs() < 1e-6 * expected, "{c:?}");
        }
        assert!(
            b.cpu_speedup() > 1.5,
            "every tick {:?} vs fast-forward {:?}\nreproduce: cargo test --lib bench::tests",
            b.every_tick.cost,
            b.fast.cost
        );
    }
}
