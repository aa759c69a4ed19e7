//! `stagesim bench`: the speed and memory figures of the README, measured.
//!
//! Not a test: wall time depends on the machine. Everything measured here is
//! a real run of the simulation; wall clocks are read only outside it.
//! Peak memory is per process (`VmHWM`), so each scale point runs in a child
//! process of its own.

mod scale;

use std::time::{Duration, Instant};

pub use scale::{ScalePoint, measure_in_child, scale_point, scale_scenario};

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
    let mut best = Duration::MAX;
    let mut sim = Duration::ZERO;
    let mut verdict = crate::oracle::Verdict::Pass;
    for _ in 0..repeat.max(1) {
        let started = Instant::now();
        let outcome = crate::run::run(scenario, seed);
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
