//! `stagesim bench [--quick] [--json]`: time compression, sweep throughput,
//! scale (wall time and peak memory per user count) and the staging soak.

use std::path::PathBuf;

use clap::Args;
use serde_json::json;

use super::{UsageError, out};
use crate::bench;
use crate::scenario;
use crate::sweep::Target;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Smaller sizes (up to 1,000 users, no soak): a quick look, not the README figures.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The soak scenario to run.
    #[arg(long, default_value = "bench/soak.toml")]
    pub soak: PathBuf,
    /// Internal: run one scale point and print it as JSON (the parent reads
    /// this child's peak memory).
    #[arg(long, hide = true)]
    pub child_scale: Option<u32>,
    #[arg(long, hide = true, default_value_t = 1)]
    pub seed: u64,
}

pub fn execute(args: BenchArgs) -> Result<u8, UsageError> {
    if let Some(users) = args.child_scale {
        // The same bound a scenario file has: the load balancer's ports.
        let max = crate::scenario::MAX_USERS;
        if u64::from(users) > max {
            return Err(UsageError(format!(
                "error: `--child-scale` takes at most {max} users; got {users}"
            )));
        }
        let point = bench::scale_point(users, args.seed);
        out(&format!(
            "{}\n",
            serde_json::to_string(&point).expect("plain struct")
        ));
        return Ok(0);
    }
    let say = |line: String| {
        if !args.json {
            out(&format!("{line}\n"));
        }
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    say(format!(
        "stagesim bench: {cores} cores, release build: {}",
        !cfg!(debug_assertions)
    ));

    let golden_path = "scenarios/golden_path.toml";
    let golden = scenario::load(golden_path.as_ref()).map_err(|e| UsageError(e.render()))?;
    let mut hundred = bench::scale_scenario(100);
    hundred.name = "users_100".into();
    let mut compressions = Vec::new();
    say("\ntime compression (simulated s per wall s, best of 3, seed 1)".into());
    for s in [&golden, &hundred] {
        let c = bench::compression(s, 1, 3);
        say(format!(
            "  {:<14} {:>6} users  sim {:>8.1}s  wall {:>7.3}s  {:>8.0}x",
            c.scenario,
            c.users,
            c.sim.as_secs_f64(),
            c.wall.as_secs_f64(),
            c.ratio()
        ));
        compressions.push(json!({"scenario": c.scenario, "users": c.users, "sim_s": c.sim.as_secs_f64(), "wall_s": c.wall.as_secs_f64(), "ratio": c.ratio()}));
    }

    // The tick lever: turmoil steps every host and link once per tick, so
    // the wall cost of a run is about ticks x hosts.
    say("  golden_path with a coarser [network] tick:".into());
    let mut ticks = Vec::new();
    for ms in [2u64, 5, 10] {
        let mut coarse = golden.clone();
        coarse.network.tick = std::time::Duration::from_millis(ms);
        let c = bench::compression(&coarse, 1, 3);
        say(format!(
            "    tick {ms:>2}ms  sim {:>6.1}s  wall {:>7.3}s  {:>8.0}x",
            c.sim.as_secs_f64(),
            c.wall.as_secs_f64(),
            c.ratio()
        ));
        ticks.push(json!({"tick_ms": ms, "ratio": c.ratio(), "wall_s": c.wall.as_secs_f64()}));
    }

    let seeds = if args.quick { 8 } else { 24 };
    let target = Target {
        path: golden_path.into(),
        scenario: golden.clone(),
        flags: String::new(),
    };
    let t = bench::throughput(&target, seeds, cores.max(2));
    say(format!(
        "\nsweep throughput (golden_path, {} seeds)\n  1 job: {:.1} runs/s   {} jobs: {:.1} runs/s   speedup {:.2}x",
        t.runs,
        t.one_job,
        t.jobs,
        t.many_jobs,
        t.speedup()
    ));

    let sizes: &[u32] = if args.quick {
        &[10, 100, 1000]
    } else {
        &[10, 100, 1000, 10_000]
    };
    say("\nscale (users arrive within 10s, all connected at once; one child process each)".into());
    let mut points = Vec::new();
    for &n in sizes {
        let p = bench::measure_in_child(n, 1).map_err(UsageError)?;
        say(format!(
            "  {:>6} users  peak connected {:>6}  wall {:>7.2}s  sim {:>6.1}s  peak RSS {:>8.1} MiB  verdict {}",
            p.users,
            p.peak_connected,
            p.wall_ms as f64 / 1000.0,
            p.sim_ms as f64 / 1000.0,
            p.peak_rss_kib as f64 / 1024.0,
            p.verdict
        ));
        points.push(p);
    }
    // Memory per connected user: the slope between the smallest and the
    // largest point, so the fixed cost of the process drops out.
    let per_user_kib = match (points.first(), points.last()) {
        (Some(a), Some(b)) if b.peak_connected > a.peak_connected => {
            (b.peak_rss_kib as f64 - a.peak_rss_kib as f64)
                / (b.peak_connected - a.peak_connected) as f64
        }
        _ => f64::NAN,
    };
    say(format!(
        "  memory per connected user (slope {}..{} users): {per_user_kib:.1} KiB",
        sizes[0],
        sizes[sizes.len() - 1]
    ));

    let mut soak_json = serde_json::Value::Null;
    if !args.quick {
        let soak = scenario::load(&args.soak).map_err(|e| UsageError(e.render()))?;
        let c = bench::compression(&soak, 1, 1);
        let outcome_verdict = c.verdict;
        say(format!(
            "\nstaging soak ({}: {} users, tick {}ms)\n  sim {:.1}h  wall {:.1}s  {:.0}x  verdict {}",
            args.soak.display(),
            c.users,
            soak.network.tick.as_millis(),
            c.sim.as_secs_f64() / 3600.0,
            c.wall.as_secs_f64(),
            c.ratio(),
            outcome_verdict
        ));
        soak_json = json!({"sim_s": c.sim.as_secs_f64(), "wall_s": c.wall.as_secs_f64(), "tick_ms": soak.network.tick.as_millis() as u64, "verdict": outcome_verdict.to_string()});
    }
    if args.json {
        let doc = json!({
            "cores": cores,
            "compression": compressions,
            "golden_path_by_tick": ticks,
            "throughput": {"seeds": t.runs, "one_job": t.one_job, "jobs": t.jobs, "many_jobs": t.many_jobs, "speedup": t.speedup()},
            "scale": points,
            "kib_per_connected_user": per_user_kib,
            "soak": soak_json,
        });
        out(&format!("{doc}\n"));
    }
    Ok(0)
}
