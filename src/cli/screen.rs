//! `stagesim sweep ... --bug all`: screen every catalogued defect against
//! the scenarios and say, per defect, which scenarios caught it.
//!
//! `sweep`'s checked arguments and loaded targets -> the flags screening
//! cannot honour refused -> `crate::sweep::screen` -> one block per bug (or
//! one JSON object) on stdout -> exit 0 when every bug was caught, else 1.

use std::fmt::Write as _;

use super::json_docs::{BugJson, CatchJson, ScreenJson};
use super::progress::Progress;
use super::sweep::SweepArgs;
use super::values::BugFlag;
use super::{EXIT_VIOLATION, UsageError, err, sweep_report};
use crate::scenario::Bugs;
use crate::sweep::{self, BugScreen, Screening, Shard, Target};

/// Whether `--bug all` was given; an error if it comes with a flag it
/// cannot honour. Checked before any file is read.
pub fn requested(args: &SweepArgs) -> Result<bool, UsageError> {
    if !args.bugs.iter().any(BugFlag::is_all) {
        return Ok(false);
    }
    let refuse = |with: &str, why: &str| {
        Err(UsageError(format!(
            "error: `--bug all` cannot be combined with {with}: {why}"
        )))
    };
    if args.bugs.len() > 1 {
        return refuse(
            "another `--bug`",
            "it screens each bug on its own, with every other bug off",
        );
    }
    if args.fixed {
        return refuse(
            "`--fixed`",
            "it already turns every other bug off for each bug it screens",
        );
    }
    if args.junit.is_some() {
        return refuse(
            "`--junit`",
            "a screening writes no JUnit file; sweep without `--bug all` for one",
        );
    }
    if args.require_probes {
        return refuse(
            "`--require-probes`",
            "a screening judges defects, not coverage; sweep without `--bug all` for the probe gate",
        );
    }
    if args.report_dir.is_some() {
        return refuse(
            "`--report-dir`",
            "a screening writes no HTML reports; replay a catch with its reproduce line and `--report FILE.html`",
        );
    }
    Ok(true)
}

/// Screen, print, and the exit code: 0 when every bug was caught by at
/// least one scenario, 1 otherwise.
pub fn execute(
    args: &SweepArgs,
    targets: &[Target],
    seeds: &[u64],
    jobs: usize,
) -> Result<u8, UsageError> {
    let total = (Bugs::NAMES.len() as u64)
        .saturating_mul(targets.len() as u64)
        .saturating_mul(seeds.len() as u64);
    err(&format!(
        "screening: {} bugs, one at a time, x {} scenario(s) x {} (shard {}), {jobs} job(s), {total} runs\n",
        Bugs::NAMES.len(),
        targets.len(),
        sweep_report::range(seeds),
        args.shard
    ));
    let progress = Progress::new(total);
    let screening = sweep::screen(targets, seeds, jobs, &|r| progress.record(r));
    progress.finish();
    super::out(&if args.json {
        json(targets, seeds, &screening, &args.shard)
    } else {
        text(targets, seeds, &screening)
    });
    Ok(if screening.not_caught().is_empty() {
        0
    } else {
        EXIT_VIOLATION
    })
}

/// One block per bug: the scenarios that caught it, each with its first
/// catch's reproduce line, ending `caught by K of M scenario(s)`; then the
/// totals and the bugs nothing caught.
fn text(targets: &[Target], seeds: &[u64], screening: &Screening) -> String {
    let mut text = String::new();
    for bug in &screening.bugs {
        text.push_str(&bug_block(targets, seeds.len(), bug));
    }
    let missed = screening.not_caught();
    let _ = writeln!(
        text,
        "screened {} bugs x {} scenario(s) x {}: {} runs in {:.1}s ({:.1} runs/s on {} jobs); {} of {} bugs caught",
        screening.bugs.len(),
        targets.len(),
        sweep_report::range(seeds),
        screening.runs,
        screening.wall.as_secs_f64(),
        screening.runs_per_sec(),
        screening.jobs,
        screening.bugs.len() - missed.len(),
        screening.bugs.len()
    );
    if !missed.is_empty() {
        let _ = writeln!(text, "not caught by any scenario: {}", missed.join(", "));
    }
    text
}

fn bug_block(targets: &[Target], seeds: usize, bug: &BugScreen) -> String {
    let mut text = format!("{}\n", bug.bug);
    for catch in &bug.caught_by {
        let t = &targets[catch.target];
        let _ = writeln!(
            text,
            "  {} ({}): caught on {} of {seeds} seed(s)\n    reproduce: {}",
            t.scenario.name, t.path, catch.seeds, catch.reproduce
        );
    }
    let _ = write!(
        text,
        "  caught by {} of {} scenario(s)",
        bug.caught_by.len(),
        targets.len()
    );
    text.push_str(if bug.caught_by.is_empty() {
        ": NOT CAUGHT\n"
    } else {
        "\n"
    });
    text
}

/// `bugs` (each bug's `caught_by`: `scenario`, `file`, `failing_seeds`,
/// `first_failing_seed`, `reproduce`), `not_caught` and the run parameters.
fn json(targets: &[Target], seeds: &[u64], screening: &Screening, shard: &Shard) -> String {
    let bugs = screening
        .bugs
        .iter()
        .map(|bug| {
            let caught_by = bug
                .caught_by
                .iter()
                .map(|c| {
                    let t = &targets[c.target];
                    CatchJson {
                        failing_seeds: c.seeds,
                        file: t.path.clone(),
                        first_failing_seed: c.first_seed,
                        reproduce: c.reproduce.clone(),
                        scenario: t.scenario.name.clone(),
                    }
                })
                .collect();
            (bug.bug.to_string(), BugJson { caught_by })
        })
        .collect();
    super::json_docs::line(&ScreenJson {
        bugs,
        jobs: screening.jobs,
        not_caught: screening
            .not_caught()
            .iter()
            .map(|b| b.to_string())
            .collect(),
        runs: screening.runs,
        runs_per_sec: (screening.runs_per_sec() * 100.0).round() / 100.0,
        scenarios: targets.iter().map(|t| t.path.clone()).collect(),
        seeds: seeds.len(),
        shard: shard.to_string(),
    })
}
