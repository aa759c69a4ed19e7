//! `stagesim run SCENARIO [--seed N] [--json] [--trace FILE] [--report FILE.html]
//! [--chrome-trace FILE.json] [--bug NAME[=off]]... [--fixed] [--step MODE]`
//!
//! Arguments (checked by clap and `values`) -> the output files checked
//! (`output`) -> scenario file or built-in name (`source`) -> one
//! simulation -> summary on stdout and the requested files.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::output::{self, OutputFile};
use super::source::Source;
use super::values::{self, BugFlag};
use super::{EXIT_VIOLATION, UsageError};
use crate::oracle::Verdict;
use crate::report;
use crate::report::timeline::Timeline;
use crate::scenario::{self, Scenario};
use crate::sweep::shell_word;

#[derive(Args, Debug)]
pub struct RunArgs {
    /// The scenario file (TOML), or the name of a built-in scenario
    /// (`golden_path`, `regressions/unknown_type_crash`; `stagesim list`
    /// shows them) when no such file exists here.
    pub scenario: PathBuf,
    /// The seed, 0 to 18446744073709551615 [default: the SEED environment
    /// variable, else 1].
    // Negative numbers reach the parser, which explains the range, instead
    // of clap calling `-1` an unknown flag. SEED is read in `execute`, not by
    // clap, so that a bad SEED is blamed on SEED and not on `--seed`.
    #[arg(long, value_parser = values::seed, allow_negative_numbers = true)]
    pub seed: Option<u64>,
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
    /// Overwrite an output file that already exists (never a scenario
    /// file: those are refused even so).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Turn a known defect on (`NAME`) or off (`NAME=off`), overriding the
    /// scenario's [bugs] table. Repeatable; `--help` lists the defects.
    #[arg(long = "bug", value_name = "NAME[=on|off]", value_parser = values::bug, long_help = values::bug_help())]
    pub bugs: Vec<BugFlag>,
    /// Turn every defect off: shows that the fix holds.
    #[arg(long)]
    pub fixed: bool,
    /// How simulated time advances: `fast-forward` runs only the hosts with
    /// something to do and jumps over idle ticks; `every-tick` runs every
    /// host every tick, as unpatched turmoil does (slower; the same verdict,
    /// not always the same trace).
    #[arg(long, value_enum, value_name = "MODE", default_value_t = StepMode::FastForward)]
    pub step: StepMode,
    /// Check the run is deterministic: run it again and name the first
    /// event where the two traces part (exit 3). `--verify=steps` also runs
    /// it stepping every tick and compares the verdict and violations.
    #[arg(long, value_enum, value_name = "WHAT", num_args = 0..=1, default_missing_value = "twice")]
    pub verify: Option<VerifyMode>,
}

/// What `--verify` compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VerifyMode {
    /// The same run twice, byte for byte.
    Twice,
    /// Twice, and once stepped every tick: the same verdict and violations.
    Steps,
}

/// The exit code for a run that is not deterministic.
pub const EXIT_NONDETERMINISTIC: u8 = 3;

/// `--step`: the CLI's name for [`crate::run::Stepping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StepMode {
    FastForward,
    EveryTick,
}

impl From<StepMode> for crate::run::Stepping {
    fn from(mode: StepMode) -> Self {
        match mode {
            StepMode::FastForward => Self::FastForward,
            StepMode::EveryTick => Self::EveryTick,
        }
    }
}

impl RunArgs {
    /// A plain run of `source` at the default seed.
    fn default_run(source: &Source) -> Self {
        Self {
            scenario: PathBuf::from(source.display()),
            seed: Some(crate::run::DEFAULT_SEED),
            json: false,
            trace: None,
            report: None,
            chrome_trace: None,
            force: false,
            bugs: Vec::new(),
            fixed: false,
            step: StepMode::FastForward,
            verify: None,
        }
    }
}

/// Apply `--fixed` and `--bug` overrides; the flags to repeat them. The
/// names were checked when the flags were parsed; `--bug all` is refused
/// (a sweep screens with it before it gets here).
pub fn apply_bug_flags(
    scenario: &mut Scenario,
    fixed: bool,
    bugs: &[BugFlag],
) -> Result<String, UsageError> {
    if bugs.iter().any(BugFlag::is_all) {
        return Err(UsageError(
            "error: `--bug all` screens every bug in turn over many seeds, which `stagesim sweep` does; \
             here give one bug per flag, `--bug NAME`"
                .into(),
        ));
    }
    let mut flags = String::new();
    if fixed {
        scenario.bugs = scenario::Bugs::default();
        flags.push_str(" --fixed");
    }
    for flag in bugs {
        scenario
            .bugs
            .set(&flag.name, flag.on)
            .map_err(|e| UsageError(format!("error: --bug {}: {e}", flag.spec)))?;
        flags.push_str(&format!(" --bug {}", flag.spec));
    }
    Ok(flags)
}

/// `--seed`, else the SEED environment variable, else the default seed.
fn seed(args: &RunArgs) -> Result<u64, UsageError> {
    if let Some(seed) = args.seed {
        return Ok(seed);
    }
    match std::env::var_os("SEED") {
        None => Ok(crate::run::DEFAULT_SEED),
        Some(text) if text.is_empty() => Ok(crate::run::DEFAULT_SEED),
        Some(text) => values::whole(
            "SEED",
            0,
            u64::MAX,
            " (the environment variable read when --seed is not given)",
            &text.to_string_lossy(),
        )
        .map_err(|e| UsageError(format!("error: {e}"))),
    }
}

/// The files `run` and `live` write, checked before the run so that a path
/// that cannot be written (or must not be) is refused up front.
struct Outputs {
    trace: Option<OutputFile>,
    report: Option<OutputFile>,
    chrome_trace: Option<OutputFile>,
}

impl Outputs {
    fn check(args: &RunArgs) -> Result<Self, UsageError> {
        let check = |path: &Option<PathBuf>, what| {
            path.as_ref()
                .map(|p| OutputFile::check(p, what, args.force))
                .transpose()
        };
        let outputs = Outputs {
            trace: check(&args.trace, "trace")?,
            report: check(&args.report, "report")?,
            chrome_trace: check(&args.chrome_trace, "Chrome trace")?,
        };
        let all: Vec<&OutputFile> = [&outputs.trace, &outputs.report, &outputs.chrome_trace]
            .into_iter()
            .flatten()
            .collect();
        output::distinct(&all)?;
        Ok(outputs)
    }
}

pub fn execute(args: RunArgs) -> Result<u8, UsageError> {
    let seed = seed(&args)?;
    let outputs = Outputs::check(&args)?;
    let source = Source::resolve(&args.scenario)?;
    execute_source(&args, &outputs, &source, seed)
}

/// `stagesim` with no arguments: the golden path at the default seed (the
/// checkout's file, else the built-in copy), saying so first.
pub fn execute_default() -> Result<u8, UsageError> {
    let source = Source::golden_path();
    let seed = crate::run::DEFAULT_SEED;
    super::err(&format!(
        "no command given: running the golden path ({}, seed {seed}).\n\
         See `stagesim --help` for run, list and the other commands.\n\n",
        source.describe()
    ));
    let args = RunArgs::default_run(&source);
    let outputs = Outputs::check(&args)?;
    execute_source(&args, &outputs, &source, seed)
}

/// One run of `source`, reported as `args` ask.
fn execute_source(
    args: &RunArgs,
    outputs: &Outputs,
    source: &Source,
    seed: u64,
) -> Result<u8, UsageError> {
    let mut scenario = source.load("run")?;
    let flags = apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?;
    let step = match args.step {
        StepMode::FastForward => "",
        StepMode::EveryTick => " --step every-tick",
    };
    // The source's own form, so a built-in scenario replays by its name.
    let reproduce = format!(
        "stagesim run {} --seed {seed}{flags}{step}",
        shell_word(&source.display()),
    );
    let outcome = crate::run::run_stepping(&scenario, seed, args.step.into());
    let code = report_outcome(args, outputs, &scenario, &outcome, &reproduce)?;
    match args.verify {
        None => Ok(code),
        Some(mode) => {
            Ok(verify(&scenario, seed, args.step, mode, &outcome, &reproduce).unwrap_or(code))
        }
    }
}

/// `--verify`: run again (and stepped every tick for `steps`); on a
/// difference, say where on stderr and return the exit code 3.
fn verify(
    scenario: &Scenario,
    seed: u64,
    step: StepMode,
    mode: VerifyMode,
    first: &crate::run::Outcome,
    reproduce: &str,
) -> Option<u8> {
    let again = crate::run::run_stepping(scenario, seed, step.into());
    if let Some(d) = crate::run::verify::first_divergence(&first.trace, &again.trace) {
        super::err(&format!(
            "nondeterminism: two runs of the same scenario and seed differ ({} vs {}); {}\n\
             reproduce: {reproduce} --verify\n",
            &first.trace_hash()[..16],
            &again.trace_hash()[..16],
            d.describe()
        ));
        return Some(EXIT_NONDETERMINISTIC);
    }
    if mode == VerifyMode::Steps {
        let stepped = crate::run::run_stepping(scenario, seed, crate::run::Stepping::EveryTick);
        let kinds = |o: &crate::run::Outcome| -> Vec<String> {
            o.violations
                .iter()
                .map(|v| format!("{} {:?}", v.cause, v.user))
                .collect()
        };
        if stepped.verdict != first.verdict || kinds(&stepped) != kinds(first) {
            super::err(&format!(
                "nondeterminism: stepping every tick judges the run differently: {} {:?} vs {} {:?}\n\
                 reproduce: {reproduce} --verify=steps\n",
                first.verdict,
                kinds(first),
                stepped.verdict,
                kinds(&stepped)
            ));
            return Some(EXIT_NONDETERMINISTIC);
        }
    }
    super::err(&format!(
        "verified: {} runs of this scenario and seed agree (trace {})\n",
        if mode == VerifyMode::Steps {
            "three"
        } else {
            "two"
        },
        &first.trace_hash()[..16]
    ));
    None
}

/// `stagesim live`: `run`'s arguments, a target and a secret.
#[derive(Args, Debug)]
pub struct LiveArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Drive your own backend at ws://HOST:PORT/PATH through stagesim's lb,
    /// instead of stagesim's gateway and auth (docs/wire-protocol.md).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// The token signing secret the backend trusts [default: tokens'
    /// built-in secret].
    #[arg(long, env = "STAGESIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
}

/// `stagesim live`: the same output as `run`, the scenario run in real time
/// on 127.0.0.1 (`crate::live`).
pub fn execute_live(live: LiveArgs) -> Result<u8, UsageError> {
    let target = match &live.target {
        None => None,
        Some(url) => Some(
            crate::live::Target::parse(url)
                .map_err(|e| UsageError(format!("error: --target: {e}")))?,
        ),
    };
    let options = crate::live::LiveOptions {
        target,
        secret: super::secret::resolve(live.secret)?,
    };
    let args = live.run;
    if args.step != StepMode::FastForward {
        return Err(UsageError(
            "error: `--step` chooses how simulated time advances; a live run uses the wall clock"
                .into(),
        ));
    }
    if args.verify.is_some() {
        return Err(UsageError(
            "error: `--verify` reruns a simulation to check it is deterministic; a live run \
             on the wall clock is not, by design"
                .into(),
        ));
    }
    let seed = seed(&args)?;
    let outputs = Outputs::check(&args)?;
    let source = Source::resolve(&args.scenario)?;
    let mut scenario = source.load("live")?;
    let flags = apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?;
    let target = live.target.as_ref().map_or(String::new(), |url| {
        format!(" --target {}", shell_word(url))
    });
    let reproduce = format!(
        "stagesim live {} --seed {seed}{flags}{target} (the seed fixes the plan, not the timing)",
        shell_word(&source.display()),
    );
    if options.target.is_some() {
        // Said before the run, so nobody waits to learn what it cannot do.
        for line in crate::run::TargetNotes::of(&scenario).lines() {
            super::err(&format!("{line}\n"));
        }
    }
    let outcome = crate::live::run(&scenario, seed, &options)
        .map_err(|why| UsageError(format!("error: {}: {why}", source.display())))?;
    report_outcome(&args, &outputs, &scenario, &outcome, &reproduce)
}

/// Write the requested files and print the outcome; the exit code.
fn report_outcome(
    args: &RunArgs,
    outputs: &Outputs,
    scenario: &Scenario,
    outcome: &crate::run::Outcome,
    reproduce: &str,
) -> Result<u8, UsageError> {
    if let Some(file) = &outputs.trace {
        file.write(outcome.trace.render().as_bytes())?;
    }
    if outputs.report.is_some() || outputs.chrome_trace.is_some() {
        // One timeline for both drawings, so they tell the same story.
        let tl = Timeline::build(&outcome.trace, &outcome.violations);
        if let Some(file) = &outputs.report {
            let page = report::html::render_with(outcome, scenario, &tl, reproduce);
            file.write(page.as_bytes())?;
        }
        if let Some(file) = &outputs.chrome_trace {
            let trace = report::chrome::render_with(outcome, &tl);
            file.write(trace.as_bytes())?;
        }
    }
    if args.json {
        super::out(&format!("{}\n", report::to_json(outcome, reproduce)));
    } else {
        super::out(&report::to_text(outcome, &scenario.description, reproduce));
    }
    Ok(match outcome.verdict {
        Verdict::Pass | Verdict::Reproduced => 0,
        Verdict::Fail => EXIT_VIOLATION,
    })
}
