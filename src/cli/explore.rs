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

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};
use serde::Serialize;

use super::explore_progress::ExploreProgress;
use super::output::{self, OutputFile};
use super::values::{self, BugFlag};
use super::{EXIT_VIOLATION, UsageError, err, out};
use crate::explore::{self, Exploration, Found, Options, Stop, Stopped};
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
    fn schedule(self) -> scenario::Schedule {
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

fn key_text(key: &[u64]) -> String {
    let runs: Vec<String> = key.iter().map(u64::to_string).collect();
    runs.join(":")
}

/// What a redraw command needs besides the run: `--from`, the bugs and
/// the schedule.
struct Redraw {
    from: Option<String>,
    bugs: String,
    /// ` --schedule NAME`, or empty when each run draws its own.
    schedule: String,
}

impl Redraw {
    fn of(args: &ExploreArgs, bugs: &Bugs) -> Self {
        let bugs: String = bugs
            .enabled()
            .iter()
            .map(|b| format!(" --bug {b}"))
            .collect();
        Redraw {
            from: args
                .from
                .as_ref()
                .map(|p| crate::sweep::shell_word(&p.display().to_string()).into_owned()),
            bugs,
            schedule: args
                .schedule
                .map(|s| format!(" --schedule {}", s.schedule().name()))
                .unwrap_or_default(),
        }
    }

    /// The command that draws `found`'s first run again and runs it: by the
    /// number of its fresh draw (its key: the run number unguided) when it
    /// was drawn fresh, by run number around `--from`, by replay key when
    /// it was a mutation.
    fn command(&self, found: &Found) -> String {
        let first = &found.first;
        let how = match (&self.from, first.mutated) {
            (Some(from), _) => format!("--from {from} --start {} --runs 1", first.run),
            (None, true) => format!("--replay {}", first.key),
            (None, false) => format!("--start {} --runs 1", first.key),
        };
        format!("stagesim explore {how}{}{}", self.bugs, self.schedule)
    }
}

/// Where each failure's shrunk scenario went, or why it could not go.
type Written = Result<PathBuf, String>;

/// One shrunk scenario per distinct failure: `DIR/CAUSE[_COMPONENT]_runN.toml`
/// (`_runN_2.toml` and so on if taken). A file that cannot be written is
/// reported with its failure, not instead of it.
fn write_failures(e: &Exploration, dir: &Path) -> Vec<Written> {
    e.found
        .iter()
        .map(|found| {
            let sig = found.shrunk.signature;
            let label = match sig.component {
                Some(c) => format!("{}_{}", sig.cause, c.key()),
                None => sig.cause.to_string(),
            };
            let stem = format!("{label}_run{}", found.first.run);
            let file = OutputFile::fresh(dir, &stem, "toml", "shrunk scenario");
            let origin = format!("stagesim explore run {}", found.first.run);
            super::shrink::write_shrunk(&found.shrunk, &file, &origin)
                .map(|_| file.path().to_path_buf())
                .map_err(|UsageError(why)| why.trim_start_matches("error: ").to_string())
        })
        .collect()
}

fn reproduce(found: &Found, file: &Path) -> String {
    format!(
        "stagesim run {} --seed {}",
        file.display(),
        found.shrunk.seed
    )
}

fn to_text(e: &Exploration, files: &[Written], redraw: &Redraw) -> String {
    let rate = e.runs as f64 / e.wall.as_secs_f64().max(1e-9);
    let mut text = format!(
        "{} runs in {:.1}s ({rate:.1} runs/s, {} job(s)): {} failed, {} distinct failure(s)\n",
        e.runs,
        e.wall.as_secs_f64(),
        e.jobs,
        e.failed,
        e.found.len()
    );
    text.push_str(&format!(
        "corpus: {} case(s) kept, {} probe bucket(s) reached, {} run(s) drawn as mutations\n",
        e.kept, e.buckets, e.mutated
    ));
    match e.stopped {
        Some(Stopped::Covered { at_run }) => text.push_str(&format!(
            "stopped at run {at_run}: every probe these runs could reach was reached\n"
        )),
        Some(Stopped::Plateau { at_run, plateau }) => text.push_str(&format!(
            "stopped at run {at_run}: no new probe or bucket in the last {plateau} runs\n"
        )),
        None => {}
    }
    for (i, (found, file)) in e.found.iter().zip(files).enumerate() {
        text.push_str(&failure_text(i + 1, found, file, redraw));
    }
    if redraw.bugs.is_empty() && e.failed > 0 {
        text.push_str(
            "\nEvery defect was off, so each failure above is a bug in stagesim's envelope or \
             oracle, not in the backend: please report it with the scenario file.\n",
        );
    }
    text.push_str(&format!(
        "\ncoverage over {} runs:\n{}",
        e.runs,
        e.coverage.text()
    ));
    text
}

/// One failure's paragraph: what, how small, where written, how to replay
/// the shrunk file and how to draw the run again.
fn failure_text(number: usize, found: &Found, file: &Written, redraw: &Redraw) -> String {
    let s = &found.shrunk;
    let mut text = format!(
        "\nfailure {number}: {}, {} run(s), first run {} (families: {})\n",
        s.signature.label(),
        found.runs,
        found.first.run,
        match found.first.families.on() {
            on if on.is_empty() => "none".to_string(),
            on => on.join(", "),
        }
    );
    text.push_str(&format!(
        "  shrunk in {} candidate runs, {} step(s): {} -> {}\n",
        s.runs,
        s.steps.len(),
        super::shrink::size(&found.first.case.scenario),
        super::shrink::size(&s.scenario)
    ));
    if let Some(v) = s.signature.matching(&s.outcome, &s.scenario).next() {
        text.push_str(&format!(
            "  first  {} {}: {}\n",
            crate::trace::format_time(v.at).trim(),
            v.user.as_deref().unwrap_or("-"),
            v.what()
        ));
    }
    match file {
        Ok(file) => text.push_str(&format!(
            "  wrote  {}\n  replay {}\n",
            file.display(),
            reproduce(found, file)
        )),
        Err(why) => text.push_str(&format!("  NOT WRITTEN: {why}\n")),
    }
    text.push_str(&format!("  redraw {}\n", redraw.command(found)));
    text
}

/// `--json`: the exploration as one object.
#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct ExploreJson {
    runs: u64,
    failed: u64,
    failures: Vec<FailureJson>,
    #[schemars(with = "crate::coverage::CoverageJson")]
    coverage: serde_json::Value,
    guided: GuidedJson,
    /// Why `--until-coverage` stopped the runs, or `null`.
    stopped: Option<StoppedJson>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct FailureJson {
    /// The shrunk scenario file, `null` if it could not be written.
    scenario: Option<String>,
    write_error: Option<String>,
    seed: u64,
    /// Runs the shrunk file.
    reproduce: Option<String>,
    /// Draws and runs the first failing run again (`--replay` for a
    /// mutation).
    redraw: String,
    cause: &'static str,
    component: Option<&'static str>,
    runs: u64,
    first_run: u64,
    /// The first run's replay key.
    replay_key: String,
    families: Vec<&'static str>,
    shrink_steps: Vec<String>,
    #[schemars(with = "Vec<crate::report::ViolationJson>")]
    violations: Vec<serde_json::Value>,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct GuidedJson {
    /// Runs drawn as mutations of a kept case.
    mutated: u64,
    /// Cases kept in the corpus.
    kept: usize,
    /// Probe buckets reached (1, 2-3, 4-7, 8+ hits in one run).
    buckets: u32,
}

#[derive(Serialize, schemars::JsonSchema)]
pub(super) struct StoppedJson {
    /// `every_probe` or `plateau`.
    reason: &'static str,
    at_run: u64,
    plateau: Option<u64>,
}

fn to_json(e: &Exploration, files: &[Written], redraw: &Redraw) -> String {
    let failures = e
        .found
        .iter()
        .zip(files)
        .map(|(found, file)| {
            let s = &found.shrunk;
            let written = file.as_ref().ok();
            FailureJson {
                scenario: written.map(|f| f.display().to_string()),
                write_error: file.as_ref().err().cloned(),
                seed: s.seed,
                reproduce: written.map(|f| reproduce(found, f)),
                redraw: redraw.command(found),
                cause: s.signature.cause.as_str(),
                component: s.signature.component.map(|c| c.key()),
                runs: found.runs,
                first_run: found.first.run,
                replay_key: found.first.key.clone(),
                families: found.first.families.on(),
                shrink_steps: s.steps.clone(),
                violations: s
                    .outcome
                    .violations
                    .iter()
                    .map(crate::report::violation_json)
                    .collect(),
            }
        })
        .collect();
    let stopped = e.stopped.map(|s| match s {
        Stopped::Covered { at_run } => StoppedJson {
            reason: "every_probe",
            at_run,
            plateau: None,
        },
        Stopped::Plateau { at_run, plateau } => StoppedJson {
            reason: "plateau",
            at_run,
            plateau: Some(plateau),
        },
    });
    let json = ExploreJson {
        runs: e.runs,
        failed: e.failed,
        failures,
        coverage: e.coverage.json(),
        guided: GuidedJson {
            mutated: e.mutated,
            kept: e.kept,
            buckets: e.buckets,
        },
        stopped,
    };
    serde_json::to_string(&json).expect("plain data serialises")
}
