//! Scale points: N users all connected at once, and the shipped scenario at
//! scale (`bench/users_100k.toml`), one child process each so the peak
//! memory belongs to that run alone.

use std::path::Path;
use std::time::Duration;

use crate::scenario::{Range, Scenario, TokenVia, UserGroup};
use crate::trace::Kind;

/// A scenario where `users` users arrive within 10s, send a message, think
/// 20s (so that all are connected at once), send another and leave.
pub fn scale_scenario(users: u32) -> Scenario {
    let mut s = Scenario::with_defaults(format!("scale_{users}"));
    s.description = format!("{users} users connected at once");
    s.duration = Duration::from_secs(600);
    s.gateway.max_connections = users + 100;
    // 50 up to 10,000 users (the figures measured before 100,000 was a
    // point); then as many as keep the first messages' queue short.
    s.agents.db_pool = 50.max(users / 200);
    s.agents.db_acquire_timeout = Duration::from_secs(120);
    s.users = vec![UserGroup {
        count: users,
        send_token_via: vec![TokenVia::Header],
        arrive: Range::new(Duration::ZERO, Duration::from_secs(10)),
        messages: 2,
        think: Range::new(Duration::from_secs(20), Duration::from_secs(20)),
        ..UserGroup::default()
    }];
    s
}

/// What one scale point measured.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ScalePoint {
    pub users: u32,
    pub wall_ms: u64,
    /// CPU time of the thread that ran the simulation.
    pub cpu_ms: u64,
    pub sim_ms: u64,
    /// Most users connected at the same moment.
    pub peak_connected: u64,
    pub peak_rss_kib: u64,
    pub verdict: String,
}

/// Run one scale point in this process.
pub fn scale_point(users: u32, seed: u64) -> ScalePoint {
    scenario_point(&scale_scenario(users), seed)
}

/// Run `scenario` in this process and measure it as a scale point: the CPU
/// time of the run and its verdict, and the process's peak memory.
pub fn scenario_point(scenario: &Scenario, seed: u64) -> ScalePoint {
    let users = scenario.users.iter().map(|g| g.count).sum();
    let (outcome, cost) = super::measure(|| crate::run::run(scenario, seed));
    let mut connected: i64 = 0;
    let mut peak: i64 = 0;
    for e in &outcome.trace.events {
        match e.kind {
            Kind::Opened { .. } => {
                connected += 1;
                peak = peak.max(connected);
            }
            Kind::Closed { .. } => connected -= 1,
            _ => {}
        }
    }
    ScalePoint {
        users,
        wall_ms: cost.wall.as_millis() as u64,
        cpu_ms: cost.cpu.as_millis() as u64,
        sim_ms: outcome.summary.sim_ms,
        peak_connected: peak as u64,
        peak_rss_kib: super::peak_rss_kib().unwrap_or(0),
        verdict: outcome.verdict.to_string(),
    }
}

/// Run one scale point in a child `stagesim bench --child-scale N`.
pub fn measure_in_child(users: u32, seed: u64) -> Result<ScalePoint, String> {
    let what = format!("{users} users");
    in_child(&["--child-scale", &users.to_string()], seed, &what)
}

/// Run the scenario at `path` in a child `stagesim bench --child-scenario
/// PATH`, which reads it again (the parent has checked it loads).
pub fn measure_scenario_in_child(path: &Path, seed: u64) -> Result<ScalePoint, String> {
    let path_text = path.to_string_lossy();
    in_child(&["--child-scenario", &path_text], seed, &path_text)
}

fn in_child(what_to_run: &[&str], seed: u64, what: &str) -> Result<ScalePoint, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own binary: {e}"))?;
    let seed = seed.to_string();
    let out = std::process::Command::new(exe)
        .arg("bench")
        .args(what_to_run)
        .args(["--seed", &seed])
        .output()
        .map_err(|e| format!("cannot start child: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "child for {what} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("child output: {e}"))
}
