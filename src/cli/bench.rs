//! `stagesim bench [--quick] [--json]`: time compression and the staging
//! soak (fast-forwarded and stepped every tick, side by side), property-test
//! cases per second (both ways), sweep and explore throughput, scale (time and peak
//! memory per user count), and a scenario file at scale (`--at-scale`, the
//! issue-24 target of 100,000 users chatting). Every time is given by wall
//! clock and by CPU time, and the load average is printed before and after:
//! on a shared machine the CPU figures and the ratios are the ones to compare.
//!
//! The golden path is the checkout's `scenarios/golden_path.toml`, else the
//! copy built into the binary, so `bench --quick` runs from any directory;
//! the soak and the scenario at scale (`--soak`, `--at-scale`, not built in)
//! are read before anything is measured.

use std::path::PathBuf;

use bytesize::ByteSize;
use clap::Args;

use super::json_docs::{
    AtScaleJson, BenchJson, CompressionJson, ExploreJson, LoadAverageJson, PropertyCasesJson,
    ScaleJson, ScalePointJson, SoakJson, ThroughputJson, TickJson,
};
use super::source::Source;
use super::{UsageError, out};
use crate::bench;
use crate::scenario::{self, Scenario};
use crate::sweep::Target;

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Smaller sizes (up to 1,000 users, no soak): a quick look, not the figures of docs/performance.md.
    #[arg(long)]
    pub quick: bool,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// The soak scenario to run.
    #[arg(long, default_value = "bench/soak.toml")]
    pub soak: PathBuf,
    /// The scenario run at scale, in a child process of its own: the CPU
    /// time of its run and its peak memory.
    #[arg(long, default_value = "bench/users_100k.toml")]
    pub at_scale: PathBuf,
    /// Internal: run one scale point and print it as JSON (the parent reads
    /// this child's peak memory).
    #[arg(long, hide = true, value_parser = child_users)]
    pub child_scale: Option<u32>,
    /// Internal: run this scenario file as a scale point and print it as
    /// JSON (for `--at-scale`).
    #[arg(long, hide = true)]
    pub child_scenario: Option<PathBuf>,
    #[arg(long, hide = true, default_value_t = 1)]
    pub seed: u64,
}

pub fn execute(args: BenchArgs) -> Result<u8, UsageError> {
    if let Some(users) = args.child_scale {
        return child_scale(users, args.seed);
    }
    if let Some(path) = &args.child_scenario {
        return child_scenario(path, args.seed);
    }
    let say = |line: String| {
        if !args.json {
            out(&format!("{line}\n"));
        }
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load_at_start = bench::load_average();
    say(format!(
        "stagesim bench: {cores} cores, release build: {}, load average {}",
        !cfg!(debug_assertions),
        load_text(load_at_start)
    ));
    let source = Source::golden_path();
    let golden = source.load("bench")?;
    let soak_scenario = load_soak(&args)?;
    let at_scale_scenario = load_at_scale(&args)?;
    // Measured in the order the text prints them.
    let compression = compression(&golden, &say);
    let golden_path_by_tick = by_tick(&golden, &say);
    let property_cases = property_cases(args.quick, &say);
    let throughput = throughput(&source, &golden, args.quick, cores, &say);
    let explore = explore(args.quick, cores, &say);
    let scale = scale(args.quick, &say)?;
    let soak = soak_scenario.map(|s| soak(&args, &s, &say));
    let at_scale = match at_scale_scenario {
        Some(s) => Some(at_scale(&args, &s, &say)?),
        None => None,
    };
    let load_at_end = bench::load_average();
    say(format!(
        "\nload average at the end {}",
        load_text(load_at_end)
    ));
    if args.json {
        out(&super::json_docs::line(&BenchJson {
            at_scale,
            compression,
            cores,
            explore,
            golden_path_by_tick,
            load_average: LoadAverageJson {
                end: load_at_end,
                start: load_at_start,
            },
            property_cases,
            scale,
            soak,
            throughput,
        }));
    }
    Ok(0)
}

/// The 1, 5 and 15 minute load averages as `uptime` prints them.
fn load_text(load: Option<[f64; 3]>) -> String {
    match load {
        Some([one, five, fifteen]) => format!("{one:.2}, {five:.2}, {fifteen:.2}"),
        None => "unknown (no /proc/loadavg)".into(),
    }
}

/// `--child-scale`: 1 to the users a scenario file may have (the load
/// balancer's ports), checked while clap parses, as every count is.
fn child_users(text: &str) -> Result<u32, String> {
    let max = crate::scenario::MAX_USERS;
    super::values::whole("--child-scale", 1, max, "", text).map(|n| n as u32)
}

/// `--child-scale N`: one scale point, as JSON for the parent.
fn child_scale(users: u32, seed: u64) -> Result<u8, UsageError> {
    print_point(&bench::scale_point(users, seed))
}

/// `--child-scenario FILE`: the scenario as one scale point, as JSON.
fn child_scenario(path: &std::path::Path, seed: u64) -> Result<u8, UsageError> {
    let scenario = scenario::load(path).map_err(|e| UsageError(e.render()))?;
    print_point(&bench::scenario_point(&scenario, seed))
}

/// A child's one line for its parent (`bench::measure_in_child`).
fn print_point(point: &bench::ScalePoint) -> Result<u8, UsageError> {
    out(&format!(
        "{}\n",
        serde_json::to_string(point).expect("plain struct")
    ));
    Ok(0)
}

/// The soak scenario, unless `--quick`. Read before anything is measured:
/// a missing file found after minutes of measuring would waste them.
fn load_soak(args: &BenchArgs) -> Result<Option<Scenario>, UsageError> {
    load_unless_quick(args, &args.soak, "The soak", "--soak")
}

/// The scenario at scale, unless `--quick`; read up front like the soak.
fn load_at_scale(args: &BenchArgs) -> Result<Option<Scenario>, UsageError> {
    load_unless_quick(args, &args.at_scale, "The scenario at scale", "--at-scale")
}

fn load_unless_quick(
    args: &BenchArgs,
    path: &std::path::Path,
    what: &str,
    flag: &str,
) -> Result<Option<Scenario>, UsageError> {
    if args.quick {
        return Ok(None);
    }
    let loaded = scenario::load(path).map_err(|e| {
        UsageError(format!(
            "{}\n{what} is not built into the binary: run bench in the checkout, \
             give `{flag} FILE`, or use `--quick`.",
            e.render()
        ))
    })?;
    Ok(Some(loaded))
}

/// Runs per figure in the compression table, keeping the fastest: a short
/// run on a shared machine is often descheduled, and the best of many is
/// the closest to what the run itself costs.
const REPEAT: usize = 10;

/// Time compression of `golden_path` and of 100 users, fast-forwarded and
/// stepped every tick, side by side.
fn compression(golden: &Scenario, say: &dyn Fn(String)) -> Vec<CompressionJson> {
    let mut hundred = bench::scale_scenario(100);
    hundred.name = "users_100".into();
    say(format!(
        "\ntime compression (simulated s per wall s and per CPU s, best of {REPEAT}, seed 1)"
    ));
    say(format!(
        "  {:<12} {:>5}  {:>8}  {:>6} {:>30}  {:>30}  {:>7}",
        "scenario", "users", "sim", "", "fast-forward", "every tick", "speedup"
    ));
    let mut rows = Vec::new();
    for s in [golden, &hundred] {
        let b = bench::before_after(s, 1, REPEAT);
        let cell = |took: std::time::Duration, ratio: f64| {
            format!("{:>8.3}s {:>9.0}x", took.as_secs_f64(), ratio)
        };
        say(format!(
            "  {:<12} {:>5}  {:>7.1}s  {:>6} {:>30}  {:>30}  {:>6.1}x",
            b.fast.scenario,
            b.fast.users,
            b.fast.sim.as_secs_f64(),
            "wall",
            cell(b.fast.cost.wall, b.fast.ratio()),
            cell(b.every_tick.cost.wall, b.every_tick.ratio()),
            b.speedup()
        ));
        say(format!(
            "  {:<12} {:>5}  {:>8}  {:>6} {:>30}  {:>30}  {:>6.1}x",
            "",
            "",
            "",
            "cpu",
            cell(b.fast.cost.cpu, b.fast.cpu_ratio()),
            cell(b.every_tick.cost.cpu, b.every_tick.cpu_ratio()),
            b.cpu_speedup()
        ));
        rows.push(CompressionJson {
            cpu_ratio: b.fast.cpu_ratio(),
            cpu_s: b.fast.cost.cpu.as_secs_f64(),
            cpu_speedup: b.cpu_speedup(),
            every_tick_cpu_ratio: b.every_tick.cpu_ratio(),
            every_tick_cpu_s: b.every_tick.cost.cpu.as_secs_f64(),
            every_tick_ratio: b.every_tick.ratio(),
            every_tick_wall_s: b.every_tick.cost.wall.as_secs_f64(),
            ratio: b.fast.ratio(),
            scenario: b.fast.scenario.clone(),
            sim_s: b.fast.sim.as_secs_f64(),
            speedup: b.speedup(),
            users: b.fast.users,
            wall_s: b.fast.cost.wall.as_secs_f64(),
        });
    }
    rows
}

/// `golden_path` with a coarser `[network] tick` (fast-forwarded).
fn by_tick(golden: &Scenario, say: &dyn Fn(String)) -> Vec<TickJson> {
    say("  golden_path with a coarser [network] tick:".into());
    let mut ticks = Vec::new();
    for ms in [2u64, 5, 10] {
        let mut coarse = golden.clone();
        coarse.network.tick = std::time::Duration::from_millis(ms);
        let c = bench::compression(&coarse, 1, REPEAT);
        say(format!(
            "    tick {ms:>2}ms  sim {:>6.1}s  wall {:>7.3}s {:>8.0}x  cpu {:>7.3}s {:>8.0}x",
            c.sim.as_secs_f64(),
            c.cost.wall.as_secs_f64(),
            c.ratio(),
            c.cost.cpu.as_secs_f64(),
            c.cpu_ratio()
        ));
        ticks.push(TickJson {
            cpu_ratio: c.cpu_ratio(),
            cpu_s: c.cost.cpu.as_secs_f64(),
            ratio: c.ratio(),
            tick_ms: ms,
            wall_s: c.cost.wall.as_secs_f64(),
        });
    }
    ticks
}

/// Generated property-test cases per second, both ways.
fn property_cases(quick: bool, say: &dyn Fn(String)) -> PropertyCasesJson {
    let r = bench::case_rate(if quick { 16 } else { 64 });
    say(format!(
        "\nproperty-test cases (valid envelope, {} fixed cases, each run both ways)\n  \
         fast-forward {:.1} cases/s (cpu {:.2}s)   every tick {:.1} cases/s (cpu {:.2}s)   \
         speedup {:.1}x wall, {:.1}x cpu   verdicts differing {}",
        r.cases,
        r.fast_per_sec(),
        r.fast.cpu.as_secs_f64(),
        r.every_tick_per_sec(),
        r.every_tick.cpu.as_secs_f64(),
        r.fast_per_sec() / r.every_tick_per_sec().max(1e-9),
        r.cpu_speedup(),
        r.disagreements
    ));
    PropertyCasesJson {
        cases: r.cases,
        cpu_speedup: r.cpu_speedup(),
        disagreements: r.disagreements,
        every_tick_cpu_s: r.every_tick.cpu.as_secs_f64(),
        every_tick_per_s: r.every_tick_per_sec(),
        fast_cpu_s: r.fast.cpu.as_secs_f64(),
        fast_per_s: r.fast_per_sec(),
    }
}

/// Sweep throughput of `golden_path` with 1 and with every core.
fn throughput(
    source: &Source,
    golden: &Scenario,
    quick: bool,
    cores: usize,
    say: &dyn Fn(String),
) -> ThroughputJson {
    let seeds = if quick { 8 } else { 24 };
    let target = Target {
        path: source.display(),
        scenario: golden.clone(),
        flags: String::new(),
    };
    let t = bench::throughput(&target, seeds, cores.max(2));
    say(format!(
        "\nsweep throughput (golden_path, {} seeds)\n  1 job: {:.1} runs/s   {} jobs: {:.1} runs/s   \
         speedup {:.2}x   runs per CPU s: {:.1} (1 job), {:.1} ({} jobs)",
        t.runs,
        t.one_job,
        t.jobs,
        t.many_jobs,
        t.speedup(),
        t.one_job_cpu,
        t.many_jobs_cpu,
        t.jobs
    ));
    ThroughputJson {
        jobs: t.jobs,
        many_jobs: t.many_jobs,
        many_jobs_per_cpu_s: t.many_jobs_cpu,
        one_job: t.one_job,
        one_job_per_cpu_s: t.one_job_cpu,
        seeds: t.runs,
        speedup: t.speedup(),
    }
}

/// Explore's runs per second on every core, every defect off.
fn explore(quick: bool, cores: usize, say: &dyn Fn(String)) -> ExploreJson {
    let runs = if quick { 100 } else { 300 };
    let r = bench::explore_rate(runs, cores.max(2));
    say(format!(
        "\nexplore throughput (guided, runs 1..={}, every defect off)\n  \
         {} jobs: {:.1} runs/s   runs per CPU s: {:.1}   failed {}",
        r.runs, r.jobs, r.per_s, r.per_cpu_s, r.failed
    ));
    ExploreJson {
        failed: r.failed,
        jobs: r.jobs,
        per_cpu_s: r.per_cpu_s,
        per_s: r.per_s,
        runs: r.runs,
    }
}

/// Wall time and peak memory by user count, one child process each.
fn scale(quick: bool, say: &dyn Fn(String)) -> Result<ScaleJson, UsageError> {
    let sizes: &[u32] = if quick {
        &[10, 100, 1000]
    } else {
        &[10, 100, 1000, 10_000, 100_000]
    };
    say("\nscale (users arrive within 10s, all connected at once; one child process each)".into());
    let mut points = Vec::new();
    for &n in sizes {
        let p = bench::measure_in_child(n, 1).map_err(UsageError)?;
        say(format!(
            "  {:>6} users  peak connected {:>6}  wall {:>7.2}s  cpu {:>7.2}s  sim {:>6.1}s  peak RSS {:>12}  verdict {}",
            p.users,
            p.peak_connected,
            p.wall_ms as f64 / 1000.0,
            p.cpu_ms as f64 / 1000.0,
            p.sim_ms as f64 / 1000.0,
            ByteSize::kib(p.peak_rss_kib).display().iec().to_string(),
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
        "  memory per connected user (slope {}..{} users): {}",
        sizes[0],
        sizes[sizes.len() - 1],
        per_user(per_user_kib)
    ));
    Ok(ScaleJson {
        // No slope (NaN) prints as null, as it always has.
        kib_per_connected_user: (!per_user_kib.is_nan()).then_some(per_user_kib),
        points: points.iter().map(ScalePointJson::from).collect(),
    })
}

/// Memory per connected user, in the unit that suits it (`48.4 KiB`); no
/// slope (the points connected the same number of users) is `n/a`.
fn per_user(kib: f64) -> String {
    if kib.is_finite() && kib >= 0.0 {
        ByteSize::b((kib * 1024.0).round() as u64)
            .display()
            .iec()
            .to_string()
    } else {
        format!("n/a ({kib:.1} KiB)")
    }
}

/// The scenario at scale (`bench/users_100k.toml`: the 100,000
/// users chatting for 2 simulated minutes), in a child process.
fn at_scale(
    args: &BenchArgs,
    scenario: &Scenario,
    say: &dyn Fn(String),
) -> Result<AtScaleJson, UsageError> {
    let p = bench::measure_scenario_in_child(&args.at_scale, 1).map_err(UsageError)?;
    say(format!(
        "\nat scale ({}: {} users, one child process, seed 1)\n  \
         peak connected {}  wall {:.2}s  cpu {:.2}s  sim {:.1}s  peak RSS {}  verdict {}",
        args.at_scale.display(),
        p.users,
        p.peak_connected,
        p.wall_ms as f64 / 1000.0,
        p.cpu_ms as f64 / 1000.0,
        p.sim_ms as f64 / 1000.0,
        ByteSize::kib(p.peak_rss_kib).display().iec(),
        p.verdict
    ));
    Ok(AtScaleJson {
        file: args.at_scale.display().to_string(),
        name: scenario.name.clone(),
        point: ScalePointJson::from(&p),
    })
}

/// The staging soak, fast-forwarded and stepped every tick.
fn soak(args: &BenchArgs, soak: &Scenario, say: &dyn Fn(String)) -> SoakJson {
    let b = bench::before_after(soak, 1, 1);
    say(format!(
        "\nstaging soak ({}: {} users, tick {}ms, {:.1} simulated hours)\n  \
         fast-forward {:.1}s wall ({:.0}x), {:.1}s cpu ({:.0}x), verdict {}\n  \
         every tick   {:.1}s wall ({:.0}x), {:.1}s cpu ({:.0}x), verdict {}\n  \
         speedup {:.1}x wall, {:.1}x cpu",
        args.soak.display(),
        b.fast.users,
        soak.network.tick.as_millis(),
        b.fast.sim.as_secs_f64() / 3600.0,
        b.fast.cost.wall.as_secs_f64(),
        b.fast.ratio(),
        b.fast.cost.cpu.as_secs_f64(),
        b.fast.cpu_ratio(),
        b.fast.verdict,
        b.every_tick.cost.wall.as_secs_f64(),
        b.every_tick.ratio(),
        b.every_tick.cost.cpu.as_secs_f64(),
        b.every_tick.cpu_ratio(),
        b.every_tick.verdict,
        b.speedup(),
        b.cpu_speedup()
    ));
    SoakJson {
        cpu_ratio: b.fast.cpu_ratio(),
        cpu_s: b.fast.cost.cpu.as_secs_f64(),
        cpu_speedup: b.cpu_speedup(),
        every_tick_cpu_ratio: b.every_tick.cpu_ratio(),
        every_tick_cpu_s: b.every_tick.cost.cpu.as_secs_f64(),
        every_tick_verdict: b.every_tick.verdict.to_string(),
        every_tick_wall_s: b.every_tick.cost.wall.as_secs_f64(),
        ratio: b.fast.ratio(),
        sim_s: b.fast.sim.as_secs_f64(),
        speedup: b.speedup(),
        tick_ms: soak.network.tick.as_millis() as u64,
        verdict: b.fast.verdict.to_string(),
        wall_s: b.fast.cost.wall.as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_figures_read_in_the_unit_that_suits_them() {
        assert_eq!(per_user(48.4), "48.4 KiB");
        assert_eq!(per_user(2048.0), "2.0 MiB");
        assert!(per_user(f64::NAN).starts_with("n/a"));
        let rss = |kib| ByteSize::kib(kib).display().iec().to_string();
        assert_eq!(rss(54_886), "53.6 MiB");
        assert_eq!(rss(6_291_456), "6.0 GiB");
    }
}
