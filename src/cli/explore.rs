//! `stagesim explore [--runs N | --budget DURATION] [--start S] [--jobs J]
//! [--out DIR] [--bug NAME[=off]]... [--fixed] [--guided on|off]
//! [--schedule fifo|random|pct] [--until-coverage [--plateau N]]
//! [--replay KEY] [--json]`: find the
//! failure nobody wrote a scenario for (docs/explore.md).
//!
//! Arguments -> DIR checked writable (`output::check_dir`, before any run)
//! -> `crate::explore::explore` (draw, run, judge, shrink) -> one shrunk
//! scenario file per distinct failure in DIR, under a fresh name (nothing
//! in DIR is ever overwritten) -> the failures with their replay commands
//! and the coverage on stdout -> exit 1 if anything failed, 2 if a file
//! could not be written (after printing every failure all the same).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::explore_progress::ExploreProgress;
use super::explore_report::{Redraw, key_text, to_json, to_text, write_failures};
use super::output;
use super::values::{self, BugFlag};
use super::{EXIT_VIOLATION, UsageError, err, out};
use crate::explore::{self, Options, Stop};
use crate::scenario::{self, Bugs};

#[derive(Args, Debug)]
pub struct ExploreArgs {
    /// Draw every run around this scenario (file or built-in name): its own
    /// seed, user counts scaled, faults moved or one dropped, instead of
    /// whole scenarios from the envelope.
    #[arg(long, value_name = "SCENARIO")]
    pub from: Option<std::path::PathBuf>,
    /// How many runs, 1 to 1000000 [default: 100].
    #[arg(long, value_parser = runs, conflicts_with = "budget", allow_negative_numbers = true)]
    pub runs: Option<u64>,
    /// Draw runs for this long instead (`90s`, `10m`, at most `24h`);
    /// shrinking the failures comes after.
    #[arg(long, value_parser = budget, value_name = "DURATION")]
    pub budget: Option<std::time::Duration>,
    /// The first run number: run N always draws the same scenario, so
    /// `--start N --runs 1` replays it.
    #[arg(long, default_value_t = 1, value_parser = values::seed, allow_negative_numbers = true)]
    pub start: u64,
    /// Worker threads, 1 to 256 [default: every core].
    #[arg(long, value_parser = values::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Where the shrunk scenario of each failure is written (created if
    /// missing; a name already taken gets `_2`, `_3`: nothing is
    /// overwritten).
    #[arg(long, value_name = "DIR", default_value = "explore-failures")]
    pub out: PathBuf,
    /// Turn a defect on (`NAME`) in every drawn scenario; without any, the
    /// fixed backend is explored and a failure is a bug in stagesim.
    #[arg(long = "bug", value_name = "NAME[=on|off]", value_parser = values::bug, long_help = values::bug_help())]
    pub bugs: Vec<BugFlag>,
    /// Every defect off (the default; kept for symmetry with `run`).
    #[arg(long)]
    pub fixed: bool,
    /// Candidate runs each shrink may spend, 1 to 100000.
    #[arg(long, default_value_t = crate::shrink::DEFAULT_MAX_RUNS, value_parser = super::shrink::max_runs, allow_negative_numbers = true)]
    pub shrink_runs: usize,
    /// The probe gate: exit 1 when a probe these runs could reach was never
    /// reached, naming it (with every defect off, the probes only a defect
    /// reaches are not required).
    #[arg(long)]
    pub require_probes: bool,
    /// Draw every other run after the first 16 as a mutation of a case that
    /// reached a new probe bucket, the others fresh (`on`, the default; `--runs
    /// 16+2k` then holds every run of `--guided off --runs 16+k`), or every run
    /// fresh (`off`); docs/explore.md. `--from` is never guided.
    #[arg(long, value_enum, value_name = "on|off")]
    pub guided: Option<Switch>,
    /// Every run polls each host's ready tasks in this order (`[world]
    /// schedule`), instead of the order drawn from its seed (a third each).
    #[arg(long, value_enum, value_name = "fifo|random|pct")]
    pub schedule: Option<ScheduleFlag>,
    /// Stop early: at the run that reaches the last probe still missing,
    /// or after `--plateau` runs that reach no new probe or bucket. The
    /// runs asked for (or the budget) still cap it; without either, the
    /// cap is 1000000 runs.
    #[arg(long, conflicts_with = "replay")]
    pub until_coverage: bool,
    /// With `--until-coverage`: runs without a new probe or bucket that
    /// end the exploration, 1 to 1000000.
    #[arg(long, value_name = "N", requires = "until_coverage", value_parser = plateau, default_value_t = DEFAULT_PLATEAU, allow_negative_numbers = true)]
    pub plateau: u64,
    /// Run only the case this replay key names (`12:340:1022`: run 12's
    /// fresh draw, mutated by runs 340 then 1022), as a failure report
    /// prints it.
    #[arg(long, value_name = "KEY", value_parser = replay_key, conflicts_with_all = ["runs", "budget", "start", "from"])]
    pub replay: Option<ReplayKey>,
    /// Print one JSON object instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `--replay`'s run numbers, root first (one value to clap, not many).
#[derive(Debug, Clone)]
pub struct ReplayKey(pub Vec<u64>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// `--schedule`'s values: `[world] schedule`'s names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScheduleFlag {
    Fifo,
    Random,
    Pct,
}

impl ScheduleFlag {
    pub(super) fn schedule(self) -> scenario::Schedule {
        match self {
            ScheduleFlag::Fifo => scenario::Schedule::Fifo,
            ScheduleFlag::Random => scenario::Schedule::Random,
            ScheduleFlag::Pct => scenario::Schedule::Pct,
        }
    }
}

/// `--plateau`'s default: a choice, not a measurement (half the 1,000 runs
/// the quick start's probe gate takes).
const DEFAULT_PLATEAU: u64 = 500;
/// The runs `--until-coverage` may take when neither `--runs` nor
/// `--budget` caps it.
const UNTIL_COVERAGE_MAX_RUNS: u64 = 1_000_000;

fn plateau(text: &str) -> Result<u64, String> {
    values::whole("--plateau", 1, 1_000_000, "", text)
}

/// `12:340:1022`: run numbers, each after the one before it (a mutation
/// always comes after the run it mutates).
fn replay_key(text: &str) -> Result<ReplayKey, String> {
    let bad = || {
        format!(
            "`--replay` takes a key as a failure report prints it, run numbers joined by `:` \
             each larger than the one before (`12:340:1022`); got `{}`",
            values::shown(text)
        )
    };
    let runs: Vec<u64> = text
        .split(':')
        .map(|n| n.parse::<u64>().map_err(|_| bad()))
        .collect::<Result<_, _>>()?;
    if runs.windows(2).any(|w| w[0] >= w[1]) {
        return Err(bad());
    }
    Ok(ReplayKey(runs))
}

fn runs(text: &str) -> Result<u64, String> {
    values::whole("--runs", 1, 1_000_000, "", text)
}

fn budget(text: &str) -> Result<std::time::Duration, String> {
    let d = scenario::parse_duration(text).map_err(|e| format!("`--budget`: {e}"))?;
    if d.is_zero() || d > std::time::Duration::from_secs(24 * 3600) {
        return Err(format!(
            "`--budget` takes a duration from 1ms to 24h, like \"10m\"; got `{}`",
            values::shown(text)
        ));
    }
    Ok(d)
}

pub fn execute(args: ExploreArgs) -> Result<u8, UsageError> {
    let mut bugs = Bugs::default();
    for flag in &args.bugs {
        bugs.set(&flag.name, flag.on)
            .map_err(|e| UsageError(format!("error: --bug {}: {e}", flag.spec)))?;
    }
    if args.from.is_some() && args.guided == Some(Switch::On) {
        return Err(UsageError(
            "error: `--guided on` does not go with `--from`: runs drawn around a scenario \
             are not mutated"
                .into(),
        ));
    }
    let stop = stop(&args)?;
    // Before any run: a directory that cannot take the findings is refused
    // now, not after the budget is spent.
    let created = args.out.symlink_metadata().is_err();
    output::check_dir(&args.out).map_err(|e| UsageError(format!("error: --out: {e}")))?;
    let from = match &args.from {
        Some(path) => Some(super::source::Source::resolve(path)?.load("explore --from")?),
        None => None,
    };
    let options = options(&args, bugs, stop, from);
    announce(&options, &bugs);
    let progress = ExploreProgress::new(match stop {
        Stop::Runs(n) if !args.until_coverage => Some(n),
        _ => None,
    });
    let exploration = explore::explore(&options, &|note| progress.record(note));
    progress.finish();
    let files = write_failures(&exploration, &args.out);
    if created && files.is_empty() {
        // Made only for the check: no failure, so no empty directory left.
        let _ = std::fs::remove_dir(&args.out);
    }
    let redraw = Redraw::of(&args, &bugs);
    if args.json {
        out(&format!("{}\n", to_json(&exploration, &files, &redraw)));
    } else {
        out(&to_text(&exploration, &files, &redraw));
    }
    let unwritten = files.iter().filter(|f| f.is_err()).count();
    if unwritten > 0 {
        return Err(UsageError(format!(
            "error: {unwritten} of the {} shrunk scenario(s) could not be written to {} \
             (each failure above says why and how to draw it again)",
            files.len(),
            args.out.display()
        )));
    }
    let gate_open =
        !args.require_probes || probe_gate(&exploration.coverage, !bugs.enabled().is_empty());
    Ok(if exploration.failed == 0 && gate_open {
        0
    } else {
        EXIT_VIOLATION
    })
}

/// What to explore, from the arguments: a `--replay` starts at its last
/// run; runs are guided unless `--guided off` (or `--from`, never guided).
fn options(
    args: &ExploreArgs,
    bugs: Bugs,
    stop: Stop,
    from: Option<scenario::Scenario>,
) -> Options {
    let replay = args.replay.clone().map(|ReplayKey(runs)| runs);
    Options {
        stop,
        start: replay
            .as_ref()
            .and_then(|k| k.last().copied())
            .unwrap_or(args.start),
        jobs: values::jobs_or_cores(args.jobs),
        bugs,
        shrink_runs: args.shrink_runs,
        guided: from.is_none() && args.guided != Some(Switch::Off),
        from,
        until_coverage: args.until_coverage.then_some(args.plateau),
        replay,
        schedule: args.schedule.map(ScheduleFlag::schedule),
    }
}

/// `--require-probes`: whether every probe the runs could reach was
/// reached; otherwise says which were not, on stderr.
pub fn probe_gate(coverage: &crate::coverage::Coverage, defects_on: bool) -> bool {
    let missing = coverage.missing(defects_on);
    if !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|p| p.as_str()).collect();
        err(&format!(
            "probe gate: {} probe(s) never reached in {} runs: {}\n",
            names.len(),
            coverage.runs,
            names.join(", ")
        ));
    }
    missing.is_empty()
}

/// `--runs` or `--budget`; the run numbers must not wrap past the last.
fn stop(args: &ExploreArgs) -> Result<Stop, UsageError> {
    let stop = match (args.runs, args.budget) {
        (_, Some(budget)) => Stop::Budget(budget),
        (_, None) if args.replay.is_some() => Stop::Runs(1),
        (None, None) if args.until_coverage => {
            let left = u64::MAX - args.start;
            Stop::Runs(UNTIL_COVERAGE_MAX_RUNS.min(left.saturating_add(1)))
        }
        (runs, None) => Stop::Runs(runs.unwrap_or(100)),
    };
    // A budget stops by itself at the last run number (`explore::take`).
    if let Stop::Runs(n) = stop
        && args.start.checked_add(n - 1).is_none()
    {
        return Err(UsageError(format!(
            "error: `--start {}` with `--runs {n}` runs past the last run number, {}; \
             with --runs {n} use --start {} or lower",
            args.start,
            u64::MAX,
            u64::MAX - (n - 1)
        )));
    }
    Ok(stop)
}

/// The line on stderr that says what is about to run.
fn announce(options: &Options, bugs: &Bugs) {
    let on = bugs.enabled();
    // Near the top of the range a budget may run out of run numbers first.
    let left = u64::MAX - options.start;
    let last = match options.stop {
        Stop::Budget(_) if left < 1_000_000 => format!(
            " (at most {} run(s): run {} is the last)",
            u128::from(left) + 1,
            u64::MAX
        ),
        _ => String::new(),
    };
    let what = match (&options.replay, options.stop) {
        (Some(key), _) => format!("replaying {}", key_text(key)),
        (None, Stop::Runs(n)) if options.until_coverage.is_some() => {
            format!("up to {n} runs from run {}", options.start)
        }
        (None, Stop::Runs(n)) => format!("{n} runs from run {}", options.start),
        (None, Stop::Budget(d)) => format!(
            "runs for {} from run {}",
            scenario::format_duration(d),
            options.start
        ),
    };
    let until = match options.until_coverage {
        Some(plateau) => {
            format!(", until every probe is reached or {plateau} runs in a row reach nothing new")
        }
        None => String::new(),
    };
    err(&format!(
        "explore: {what}{last}{until}, {} job(s), {}, bugs on: {}\n",
        options.jobs,
        if options.guided { "guided" } else { "unguided" },
        if on.is_empty() {
            "none (the fixed backend)".into()
        } else {
            on.join(", ")
        }
    ));
}
