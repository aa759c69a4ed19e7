//! `stagesim run SCENARIO [--seed N] [--json] [--trace FILE] [--bug NAME[=off]]... [--fixed]`

use std::path::PathBuf;

use clap::Args;

use super::{EXIT_VIOLATION, UsageError};
use crate::oracle::Verdict;
use crate::report;
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
        std::fs::write(path, outcome.trace.render()).map_err(|e| {
            UsageError(format!(
                "error: cannot write trace to {}: {e}",
                path.display()
            ))
        })?;
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
