//! `stagesim run SCENARIO [--seed N] [--json] [--trace FILE] [--report FILE.html]
//! [--chrome-trace FILE.json] [--bug NAME[=off]]... [--fixed]`

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_VIOLATION, UsageError};
use crate::oracle::Verdict;
use crate::report;
use crate::report::timeline::Timeline;
use crate::scenario::{self, Scenario};

pub const GOLDEN_PATH: &str = "scenarios/golden_path.toml";

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML).
    pub scenario: PathBuf,
    /// The seed; also read from the SEED environment variable.
    #[arg(long, env = "SEED", default_value_t = crate::run::DEFAULT_SEED)]
    pub seed: u64,
    /// Print one JSON object instead of the human summary.
    #[arg(long)]
    pub json: bool,
    /// Write the full trace, one event per line, to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// Write a self-contained HTML timeline of the run to FILE.html.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
    /// Write the run in the Trace Event Format to FILE.json (Perfetto,
    /// chrome://tracing).
    #[arg(long = "chrome-trace", value_name = "FILE.json")]
    pub chrome_trace: Option<PathBuf>,
    /// Turn a known defect on (`NAME`) or off (`NAME=off`), overriding the
    /// scenario's [bugs] table. Repeatable.
    #[arg(long = "bug", value_name = "NAME[=on|off]")]
    pub bugs: Vec<String>,
    /// Turn every defect off: shows that the fix holds.
    #[arg(long)]
    pub fixed: bool,
}

impl RunArgs {
    pub fn golden_path() -> Self {
        Self {
            scenario: PathBuf::from(GOLDEN_PATH),
            seed: crate::run::DEFAULT_SEED,
            json: false,
            trace: None,
            report: None,
            chrome_trace: None,
            bugs: Vec::new(),
            fixed: false,
        }
    }
}

/// Apply `--fixed` and `--bug` overrides; the flags to repeat them.
pub fn apply_bug_flags(
    scenario: &mut Scenario,
    fixed: bool,
    bugs: &[String],
) -> Result<String, UsageError> {
    let mut flags = String::new();
    if fixed {
        scenario.bugs = scenario::Bugs::default();
        flags.push_str(" --fixed");
    }
    for spec in bugs {
        let (name, on) = match spec.split_once('=') {
            Some((name, "on" | "true")) => (name, true),
            Some((name, "off" | "false")) => (name, false),
            Some((_, other)) => {
                return Err(UsageError(format!(
                    "error: --bug {spec}: expected NAME, NAME=on or NAME=off, not `{other}`"
                )));
            }
            None => (spec.as_str(), true),
        };
        scenario
            .bugs
            .set(name, on)
            .map_err(|e| UsageError(format!("error: --bug {spec}: {e}")))?;
        flags.push_str(&format!(" --bug {spec}"));
    }
    Ok(flags)
}

/// Write an output file; a path that cannot be written is a usage error.
fn write(path: &std::path::Path, what: &str, text: &str) -> Result<(), UsageError> {
    std::fs::write(path, text).map_err(|e| {
        UsageError(format!(
            "error: cannot write {what} to {}: {e}",
            path.display()
        ))
    })
}

pub fn execute(args: RunArgs) -> Result<u8, UsageError> {
    let mut scenario = scenario::load(&args.scenario).map_err(|e| UsageError(e.render()))?;
    let flags = apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?;
    let reproduce = format!(
        "stagesim run {} --seed {}{flags}",
        args.scenario.display(),
        args.seed
    );
    let outcome = crate::run::run(&scenario, args.seed);
    if let Some(path) = &args.trace {
        write(path, "trace", &outcome.trace.render())?;
    }
    if args.report.is_some() || args.chrome_trace.is_some() {
        // One timeline for both drawings, so they tell the same story.
        let tl = Timeline::build(&outcome.trace, &outcome.violations, &scenario);
        if let Some(path) = &args.report {
            let page = report::html::render_with(&outcome, &scenario, &tl, &reproduce);
            write(path, "report", &page)?;
        }
        if let Some(path) = &args.chrome_trace {
            let trace = report::chrome::render_with(&outcome, &tl);
            write(path, "Chrome trace", &trace)?;
        }
    }
    if args.json {
        super::out(&format!("{}\n", report::to_json(&outcome, &reproduce)));
    } else {
        super::out(&report::to_text(
            &outcome,
            &scenario.description,
            &reproduce,
        ));
    }
    Ok(match outcome.verdict {
        Verdict::Pass | Verdict::Reproduced => 0,
        Verdict::Fail => EXIT_VIOLATION,
    })
}
