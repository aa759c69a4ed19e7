//! `stagesim sweep SCENARIO_OR_DIR... [--seeds N] [--start S] [--jobs J]
//! [--shard I/N] [--junit FILE] [--json]`: many seeds, every core, a
//! progress bar; fails on any failing seed and on a regression scenario that
//! reproduced on no seed.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use super::{EXIT_VIOLATION, UsageError, err, out};
use crate::scenario;
use crate::sweep::{self, Shard, Target};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Scenario files, or directories searched recursively for `*.toml`.
    #[arg(required = true, value_name = "SCENARIO_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// How many seeds (before sharding).
    #[arg(long, default_value_t = 100)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 1)]
    pub start: u64,
    /// Worker threads, one simulation each (default: every core).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Run only shard I of N of the seed range (contiguous, no overlap, no gap).
    #[arg(long, default_value = "1/1", value_name = "I/N")]
    pub shard: Shard,
    /// Write JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Turn a defect on (`NAME`) or off (`NAME=off`) in every scenario.
    #[arg(long = "bug", value_name = "NAME[=on|off]")]
    pub bugs: Vec<String>,
    /// Turn every defect off in every scenario.
    #[arg(long)]
    pub fixed: bool,
}

fn load_targets(args: &SweepArgs) -> Result<Vec<Target>, UsageError> {
    let mut files = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            let found = super::list::scenario_files(path).map_err(|e| {
                UsageError(format!(
                    "error: cannot read directory {}: {e}",
                    path.display()
                ))
            })?;
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(UsageError(
            "error: no scenario files found in the given paths".into(),
        ));
    }
    let mut targets = Vec::new();
    for file in files {
        let mut scenario = scenario::load(&file).map_err(|e| UsageError(e.render()))?;
        let flags = super::run::apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?;
        targets.push(Target {
            path: file.display().to_string(),
            scenario,
            flags,
        });
    }
    Ok(targets)
}

pub fn execute(args: SweepArgs) -> Result<u8, UsageError> {
    let targets = load_targets(&args)?;
    let seeds = sweep::seeds_for(args.start, args.seeds, args.shard);
    let jobs = args.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    });
    if jobs == 0 {
        return Err(UsageError("error: --jobs must be at least 1".into()));
    }
    let total = (targets.len() * seeds.len()) as u64;
    let range = match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) => format!("seeds {a}..={b}"),
        _ => "no seeds".into(),
    };
    err(&format!(
        "sweep: {} scenario(s) x {range} (shard {}), {jobs} job(s), {total} runs\n",
        targets.len(),
        args.shard
    ));

    // A bar on a terminal; otherwise a plain line at every tenth.
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} runs, {per_sec}, eta {eta} {msg}")
                .expect("static template"),
        );
        bar
    });
    let done = AtomicUsize::new(0);
    let failures = AtomicUsize::new(0);
    let progress = |record: &sweep::RunRecord| {
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if record.verdict == crate::oracle::Verdict::Fail {
            failures.fetch_add(1, Ordering::Relaxed);
        }
        let failed = failures.load(Ordering::Relaxed);
        match &bar {
            Some(bar) => {
                bar.inc(1);
                if failed > 0 {
                    bar.set_message(format!("{failed} failed"));
                }
            }
            None => {
                let step = (total / 10).max(1);
                if (n as u64).is_multiple_of(step) || n as u64 == total {
                    err(&format!("  {n}/{total} runs, {failed} failed\n"));
                }
            }
        }
    };
    let result = sweep::run(&targets, &seeds, jobs, &progress);
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }

    let summaries = result.summary(targets.len());
    let missed: Vec<&Target> = targets
        .iter()
        .zip(&summaries)
        .filter(|(t, s)| sweep::regression_missed(t, s))
        .map(|(t, _)| t)
        .collect();
    let failed: Vec<&sweep::RunRecord> = result
        .records
        .iter()
        .filter(|r| r.verdict == crate::oracle::Verdict::Fail)
        .collect();
    let reproduced = result
        .records
        .iter()
        .filter(|r| r.verdict == crate::oracle::Verdict::Reproduced)
        .count();

    if let Some(path) = &args.junit {
        std::fs::write(path, sweep::to_junit(&targets, &seeds, &result)).map_err(|e| {
            UsageError(format!(
                "error: cannot write JUnit to {}: {e}",
                path.display()
            ))
        })?;
    }

    if args.json {
        let failing: Vec<_> = failed
            .iter()
            .map(|r| {
                let t = &targets[r.target];
                json!({
                    "scenario": t.scenario.name,
                    "file": t.path,
                    "seed": r.seed,
                    "reproduce": t.reproduce(r.seed),
                    "violations": r.violations.iter().map(crate::report::violation_json).collect::<Vec<_>>(),
                })
            })
            .collect();
        let per_scenario: Vec<_> = targets
            .iter()
            .zip(&summaries)
            .map(|(t, s)| {
                json!({
                    "scenario": t.scenario.name,
                    "file": t.path,
                    "runs": s.runs,
                    "pass": s.pass,
                    "reproduced": s.reproduced,
                    "fail": s.fail,
                    "close_codes": s.close_codes.iter().map(|(c, n)| (c.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "reproducing_seeds": s.reproducing_seeds,
                })
            })
            .collect();
        let doc = json!({
            "runs": result.records.len(),
            "failed": failed.len(),
            "reproduced": reproduced,
            "failing_seeds": failing,
            "regressions_not_reproduced": missed.iter().map(|t| &t.path).collect::<Vec<_>>(),
            "runs_per_sec": (result.runs_per_sec() * 100.0).round() / 100.0,
            "jobs": result.jobs,
            "shard": args.shard.to_string(),
            "seeds": seeds.len(),
            "scenarios": per_scenario,
        });
        out(&format!("{doc}\n"));
    } else {
        let mut text = format!(
            "{:<34} {:>5} {:>5} {:>6} {:>5} {:>8}  close codes\n",
            "scenario", "runs", "pass", "repro", "fail", "runs/s"
        );
        for (t, s) in targets.iter().zip(&summaries) {
            let per_core = s.runs as f64 / s.wall.as_secs_f64().max(1e-9);
            let codes: Vec<String> = s
                .close_codes
                .iter()
                .map(|(c, n)| format!("{c}x{n}"))
                .collect();
            text.push_str(&format!(
                "{:<34} {:>5} {:>5} {:>6} {:>5} {:>8.1}  {}\n",
                t.scenario.name,
                s.runs,
                s.pass,
                s.reproduced,
                s.fail,
                per_core,
                codes.join(" ")
            ));
        }
        text.push_str(&format!(
            "total: {} runs in {:.1}s ({:.1} runs/s on {} jobs; per-scenario runs/s is per core): {} pass, {reproduced} reproduced, {} failed\n",
            result.records.len(),
            result.wall.as_secs_f64(),
            result.runs_per_sec(),
            result.jobs,
            result.records.len() - reproduced - failed.len(),
            failed.len()
        ));
        if !failed.is_empty() {
            text.push_str("failing seeds:\n");
            for r in &failed {
                let t = &targets[r.target];
                let first = r
                    .violations
                    .iter()
                    .find(|v| !crate::oracle::is_expected(&t.scenario.expect, v))
                    .or(r.violations.first());
                if let Some(v) = first {
                    text.push_str(&format!(
                        "  {} seed {}: {} at {}ms {}: {}\n",
                        t.scenario.name,
                        r.seed,
                        v.invariant,
                        v.at.as_millis(),
                        v.user.as_deref().unwrap_or("-"),
                        v.what()
                    ));
                }
                text.push_str(&format!("    reproduce: {}\n", t.reproduce(r.seed)));
            }
        }
        for t in &missed {
            text.push_str(&format!(
                "regression {} reproduced on no seed of {range}: expected {:?}\n",
                t.path,
                t.scenario
                    .expect
                    .violations
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
            ));
        }
        out(&text);
    }
    Ok(if failed.is_empty() && missed.is_empty() {
        0
    } else {
        EXIT_VIOLATION
    })
}
