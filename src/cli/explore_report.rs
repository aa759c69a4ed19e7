//! What `stagesim explore` writes once the runs are done: each distinct
//! failure's shrunk scenario file in `--out`, and the text or `--json`
//! report with the command that replays each failure.
//!
//! Part of `cli::explore`: `crate::explore::explore` -> `Exploration` ->
//! `write_failures` -> `to_text` / `to_json` -> stdout.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::UsageError;
use super::explore::ExploreArgs;
use super::output::OutputFile;
use crate::explore::{Exploration, Found, Stopped};
use crate::scenario::Bugs;

pub(super) fn key_text(key: &[u64]) -> String {
    let runs: Vec<String> = key.iter().map(u64::to_string).collect();
    runs.join(":")
}

/// What a redraw command needs besides the run: `--from`, the bugs and
/// the schedule.
pub(super) struct Redraw {
    from: Option<String>,
    bugs: String,
    /// ` --schedule NAME`, or empty when each run draws its own.
    schedule: String,
}

impl Redraw {
    pub(super) fn of(args: &ExploreArgs, bugs: &Bugs) -> Self {
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
pub(super) fn write_failures(e: &Exploration, dir: &Path) -> Vec<Written> {
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

pub(super) fn to_text(e: &Exploration, files: &[Written], redraw: &Redraw) -> String {
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

pub(super) fn to_json(e: &Exploration, files: &[Written], redraw: &Redraw) -> String {
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
