//! `stagesim bench`: the speed and memory figures of the README, measured.
//!
//! Not a test: wall time depends on the machine. Everything measured here is
//! a real run of the simulation; wall clocks are read only outside it.
//! Peak memory is per process (`VmHWM`), so each scale point runs in a child
//! process of its own.

mod cases;
mod scale;

use std::time::{Duration, Instant};

pub use cases::{CaseRate, case_rate};
pub use scale::{ScalePoint, measure_in_child, scale_point, scale_scenario};

use crate::run::Stepping;
use crate::scenario::Scenario;
use crate::sweep::{self, Target};

/// Simulated seconds per wall second of one run (best of `repeat`).
#[derive(Debug, Clone)]
pub struct Compression {
    pub scenario: String,
    pub users: usize,
    pub sim: Duration,
    pub wall: Duration,
    pub verdict: crate::oracle::Verdict,
}

impl Compression {
    pub fn ratio(&self) -> f64 {
        self.sim.as_secs_f64() / self.wall.as_secs_f64().max(1e-9)
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
    let mut best = Duration::MAX;
    let mut sim = Duration::ZERO;
    let mut verdict = crate::oracle::Verdict::Pass;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let outcome = crate::run::run_stepping(scenario, seed, stepping);
        best = best.min(started.elapsed());
        sim = outcome.trace.end;
        verdict = outcome.verdict;
    }
    Compression {
        scenario: scenario.name.clone(),
        users: scenario.users.iter().map(|g| g.count as usize).sum(),
        sim,
        wall: best,
        verdict,
    }
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
    pub fn speedup(&self) -> f64 {
        self.every_tick.wall.as_secs_f64() / self.fast.wall.as_secs_f64().max(1e-9)
    }
}

pub fn before_after(scenario: &Scenario, seed: u64, repeat: usize) -> BeforeAfter {
    let mut fast = compression_stepping(scenario, seed, 1, Stepping::FastForward);
    let mut every_tick = compression_stepping(scenario, seed, 1, Stepping::EveryTick);
    for _ in 1..repeat.max(1) {
        let f = compression_stepping(scenario, seed, 1, Stepping::FastForward);
        let e = compression_stepping(scenario, seed, 1, Stepping::EveryTick);
        if f.wall < fast.wall {
            fast = f;
        }
        if e.wall < every_tick.wall {
            every_tick = e;
        }
    }
    BeforeAfter { fast, every_tick }
}

/// Sweep throughput with 1 and with `jobs` workers.
#[derive(Debug, Clone)]
pub struct Throughput {
    pub runs: usize,
    pub one_job: f64,
    pub jobs: usize,
    pub many_jobs: f64,
}

impl Throughput {
    pub fn speedup(&self) -> f64 {
        self.many_jobs / self.one_job.max(1e-9)
    }
}

pub fn throughput(target: &Target, seeds: u64, jobs: usize) -> Throughput {
    let seeds: Vec<u64> = (1..=seeds).collect();
    let one = sweep::run(std::slice::from_ref(target), &seeds, 1, &|_| {});
    let many = sweep::run(std::slice::from_ref(target), &seeds, jobs, &|_| {});
    Throughput {
        runs: seeds.len(),
        one_job: one.runs_per_sec(),
        jobs,
        many_jobs: many.runs_per_sec(),
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
