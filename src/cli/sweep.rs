//! `stagesim sweep SCENARIO_OR_DIR... [--seeds N] [--start S] [--jobs J]
//! [--shard I/N] [--junit FILE] [--report-dir DIR] [--json]
//! [--bug NAME[=off]|all]... [--fixed]`: many seeds,
//! every core, a progress bar; fails on any failing seed and on a
//! regression scenario that reproduced on no seed.
//!
//! Arguments (each checked by `values`, then the range as a whole) ->
//! scenario files (`walk`) -> targets -> the output files checked before
//! any run (`output`) -> `crate::sweep::run_reporting` (which writes the
//! HTML reports) -> the report (`sweep_report`) on stdout, the JUnit file,
//! the exit code. `--bug all` takes the same
//! arguments and targets to `screen` instead.

use std::path::PathBuf;

use clap::Args;

use super::output::{self, OutputFile};
use super::progress::Progress;
use super::values::{self, BugFlag};
use super::{EXIT_VIOLATION, UsageError, err, screen, sweep_report};
use crate::scenario;
use crate::sweep::{self, ReportDir, Shard, Target};

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Scenario files, or directories searched recursively for `*.toml`.
    #[arg(required = true, value_name = "SCENARIO_OR_DIR")]
    pub paths: Vec<PathBuf>,
    /// How many seeds (before sharding), 1 to 1000000.
    #[arg(long, default_value_t = 100, value_parser = values::seeds, allow_negative_numbers = true)]
    pub seeds: u64,
    /// The first seed; the last, start + seeds - 1, must fit in 64 bits.
    #[arg(long, default_value_t = 1, value_parser = values::start, allow_negative_numbers = true)]
    pub start: u64,
    /// Worker threads, one simulation each, 1 to 256 (default: every core).
    #[arg(long, value_parser = values::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Run only shard I of N of the seed range (contiguous, no overlap, no
    /// gap); N at most --seeds, so that no shard is empty.
    // Hyphen values reach the parser, which explains the format.
    #[arg(
        long,
        default_value = "1/1",
        value_name = "I/N",
        allow_hyphen_values = true
    )]
    pub shard: Shard,
    /// Write JUnit XML to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the HTML report of each listed failing seed (the first 1000)
    /// to DIR/<scenario>-seed-<N>.html; DIR is created.
    #[arg(long = "report-dir", value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    /// The probe gate: exit 1 when a probe these runs could reach was never
    /// reached, naming it (without any defect on, the probes only a defect
    /// reaches are not required).
    #[arg(long)]
    pub require_probes: bool,
    /// Overwrite the JUnit file, and reports in DIR, left by an earlier
    /// sweep (never a scenario file: those are refused even so).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Turn a defect on (`NAME`) or off (`NAME=off`) in every scenario, or
    /// screen every defect in turn (`all`).
    #[arg(long = "bug", value_name = "NAME[=on|off]|all", value_parser = values::bug, long_help = values::sweep_bug_help())]
    pub bugs: Vec<BugFlag>,
    /// Turn every defect off in every scenario.
    #[arg(long)]
    pub fixed: bool,
}

/// The seeds of this shard, once the range as a whole is known to make
/// sense: its last seed exists, and every shard gets at least one seed (a
/// sweep of no seeds would pass while proving nothing).
fn seed_range(args: &SweepArgs) -> Result<Vec<u64>, UsageError> {
    // Parsing already refused these; checked again so that no caller of
    // `execute` can make `seeds - 1` wrap.
    values::seeds(&args.seeds.to_string()).map_err(|e| UsageError(format!("error: {e}")))?;
    if args.start.checked_add(args.seeds - 1).is_none() {
        return Err(UsageError(format!(
            "error: `--start {}` with `--seeds {}` runs past the largest seed: \
             the last seed, start + seeds - 1, must be at most {}; with --seeds {} use --start {} or lower",
            args.start,
            args.seeds,
            u64::MAX,
            args.seeds,
            u64::MAX - (args.seeds - 1)
        )));
    }
    if args.shard.count > args.seeds {
        return Err(UsageError(format!(
            "error: `--shard {}` splits {} seed(s) into {} shards, which leaves shards with no seed; \
             use at most {} shard(s) (N <= --seeds), or more seeds",
            args.shard, args.seeds, args.shard.count, args.seeds
        )));
    }
    Ok(sweep::seeds_for(args.start, args.seeds, args.shard))
}

/// Every scenario file the paths name, loaded, with the `--bug` and
/// `--fixed` flags applied unless `screening` (which sets the bugs itself).
fn load_targets(args: &SweepArgs, screening: bool) -> Result<Vec<Target>, UsageError> {
    let mut files = Vec::new();
    for path in &args.paths {
        if path.is_dir() {
            files.extend(super::walk::scenario_files(path).map_err(UsageError)?);
        } else {
            files.push(path.clone());
        }
    }
    if files.is_empty() {
        return Err(UsageError(
            "error: no scenario files (*.toml) found in the given directories".into(),
        ));
    }
    let mut targets = Vec::new();
    for file in files {
        let mut scenario = scenario::load(&file).map_err(|e| UsageError(e.render()))?;
        let flags = if screening {
            String::new()
        } else {
            super::run::apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?
        };
        targets.push(Target {
            path: file.display().to_string(),
            scenario,
            flags,
        });
    }
    Ok(targets)
}

pub fn execute(args: SweepArgs) -> Result<u8, UsageError> {
    let screening = screen::requested(&args)?;
    let seeds = seed_range(&args)?;
    let targets = load_targets(&args, screening)?;
    if screening {
        return screen::execute(&args, &targets, &seeds, values::jobs_or_cores(args.jobs));
    }
    sweep(&args, &targets, &seeds)
}

/// The files a sweep writes, checked before any run: a path that cannot
/// take them is a usage error now, not a surprise after an hour of
/// sweeping, and a file of an earlier sweep is replaced only with --force.
fn check_outputs(
    args: &SweepArgs,
    targets: &[Target],
    seeds: &[u64],
) -> Result<(Option<OutputFile>, Option<ReportDir>), UsageError> {
    let junit = args
        .junit
        .as_ref()
        .map(|path| OutputFile::check(path, "JUnit report", args.force))
        .transpose()?;
    let Some(dir) = &args.report_dir else {
        return Ok((junit, None));
    };
    let refused = |e: String| UsageError(format!("error: --report-dir: {e}"));
    let reports = ReportDir::create(dir, targets).map_err(refused)?;
    let existing = reports
        .existing(seeds)
        .map_err(|e| refused(format!("cannot list {}: {e}", dir.display())))?;
    for path in &existing {
        output::existing_file(path, args.force)
            .map_err(|why| refused(format!("{}: {why}", path.display())))?;
    }
    if !existing.is_empty() {
        super::err(&format!(
            "sweep: {} report(s) of an earlier sweep in {} will be overwritten where the same seed fails again (--force)\n",
            existing.len(),
            dir.display()
        ));
    }
    Ok((junit, Some(reports)))
}

/// The sweep proper: run, write the requested files, print, exit code.
fn sweep(args: &SweepArgs, targets: &[Target], seeds: &[u64]) -> Result<u8, UsageError> {
    let (junit, reports) = check_outputs(args, targets, seeds)?;
    let jobs = values::jobs_or_cores(args.jobs);
    let total = (targets.len() as u64).saturating_mul(seeds.len() as u64);
    let range = sweep_report::range(seeds);
    err(&format!(
        "sweep: {} scenario(s) x {range} (shard {}), {jobs} job(s), {total} runs\n",
        targets.len(),
        args.shard
    ));
    let progress = Progress::new(total);
    let result = sweep::run_reporting(targets, seeds, jobs, reports.as_ref(), &|r| {
        progress.record(r)
    });
    progress.finish();

    // A JUnit file that cannot be written after all is said after the
    // results, which are printed anyway.
    let junit_written = junit
        .as_ref()
        .map(|file| file.write(sweep::to_junit(targets, seeds, &result).as_bytes()))
        .transpose();
    let report = sweep_report::Report::new(targets, seeds, &result).with_reports(reports.as_ref());
    super::out(&if args.json {
        report.json(&args.shard)
    } else {
        report.text()
    });
    junit_written?;
    // Said after the results, which are all there: only some reports are not.
    if let Some(e) = &result.report_error {
        return Err(UsageError(format!("error: --report-dir: {e}")));
    }
    let defects_on = targets
        .iter()
        .any(|t| t.scenario.bugs != crate::scenario::Bugs::default());
    let gate_open =
        !args.require_probes || super::explore::probe_gate(&report.total_coverage(), defects_on);
    Ok(if report.passed() && gate_open {
        0
    } else {
        EXIT_VIOLATION
    })
}
