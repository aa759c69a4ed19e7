//! The command line (docs/design.md, "The command line"). Parses arguments
//! and calls the library; no simulation logic lives here.
//!
//! argv -> clap (flag values checked in `values`) -> a subcommand's
//! `execute` -> text through [`out`] and [`err`] -> exit code.
//!
//! Exit codes: 0 pass or reproduced, 1 a violation found, 2 bad usage or a
//! bad scenario file (also an output file that cannot or must not be
//! written, `output`). Nothing a user types, names or closes makes the
//! binary panic: values are range-checked, and output goes through [`out`]
//! and [`err`], which ignore a closed pipe (`println!` would panic on one).

mod bench;
mod diagnose;
mod diff;
mod explore;
mod explore_progress;
mod explore_report;
mod json_docs;
mod list;
mod logs;
mod output;
mod progress;
mod record;
mod run;
mod scenarios;
mod screen;
mod secret;
mod serve;
mod shrink;
mod source;
mod sweep;
mod sweep_report;
mod values;
mod walk;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The JSON Schema of the `--json` documents (docs/json-output.schema.json).
pub use json_docs::schema as json_schema;

pub const EXIT_VIOLATION: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// Deterministic simulation of a WebSocket chat backend: turn a flaky
/// staging 1011 into a seed that fails the same way everywhere.
#[derive(Parser, Debug)]
#[command(name = "stagesim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run one scenario with one seed and judge it.
    Run(run::RunArgs),
    /// Draw scenarios from the valid envelope on every core, judge them, and
    /// shrink every failure (swarm testing).
    Explore(explore::ExploreArgs),
    /// Shrink a failing scenario to the smallest that fails the same way.
    Shrink(shrink::ShrinkArgs),
    /// Measure speed and memory: the figures of docs/performance.md.
    Bench(bench::BenchArgs),
    /// Run scenarios on many seeds in parallel (CI's command).
    Sweep(sweep::SweepArgs),
    /// Where two runs part, user by user: two trace files, or one scenario
    /// at two seeds.
    Diff(diff::DiffArgs),
    /// Which catalogued mechanism explains an observed failure: every
    /// defect simulated over some seeds, ranked by likeness.
    Diagnose(diagnose::DiagnoseArgs),
    /// Run one scenario in real time on 127.0.0.1 (real sockets, real
    /// clients, the wall clock) and judge it as `run` does.
    Live(run::LiveArgs),
    /// Serve lb, gateway and auth on real sockets for any WebSocket client.
    Serve(serve::ServeArgs),
    /// Record what clients see of any backend, through a proxy, as a
    /// trace, a judged run and a scenario that replays it.
    Record(record::RecordArgs),
    /// Print a token that `serve` accepts (or refuses, by --kind).
    Token(serve::TokenArgs),
    /// List the scenarios in a directory with their descriptions.
    List {
        /// Directory to list [default: scenarios, else the scenarios built
        /// into the binary].
        dir: Option<PathBuf>,
    },
    /// The scenarios built into the binary: `export DIR` writes them out.
    Scenarios {
        #[command(subcommand)]
        command: scenarios::ScenariosCommand,
    },
}

/// Write to stdout, ignoring a closed pipe (`stagesim run ... | head` must
/// not panic).
pub fn out(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

/// Write to stderr, ignoring a closed pipe or descriptor: a message nobody
/// can read is no reason to panic (`eprintln!` would).
pub fn err(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

/// Print a clap error and return its exit code. A flag value refused by one
/// of `values`' parsers already says which flag, what it takes and what it
/// got, so it is printed on its own rather than inside clap's
/// "invalid value ... for ..." frame, which would say it twice.
fn parse_failure(e: &clap::Error) -> u8 {
    use clap::error::ErrorKind;
    if !e.use_stderr() {
        // --help and --version: stdout, exit 0.
        let _ = e.print();
        return 0;
    }
    match (e.kind(), std::error::Error::source(e)) {
        (ErrorKind::ValueValidation, Some(why)) => {
            err(&format!(
                "error: {why}\n\nFor more information, try '--help'.\n"
            ));
        }
        _ => {
            let _ = e.print();
        }
    }
    EXIT_USAGE
}

/// Whether a command runs simulations, and so must first pass the
/// determinism guard (`live`, `serve` and `token` run on real time).
fn simulates(command: &Option<Command>) -> bool {
    !matches!(
        command,
        Some(
            Command::List { .. }
                | Command::Scenarios { .. }
                | Command::Live(_)
                | Command::Serve(_)
                | Command::Record(_)
                | Command::Token(_)
        )
    )
}

/// A user error: printed as is, exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

/// Entry point of the binary.
pub fn main() -> ExitCode {
    logs::init();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(parse_failure(&e)),
    };
    if simulates(&cli.command)
        && let Err(why) = crate::determinism::check()
    {
        err(&format!("error: {why}\n"));
        return ExitCode::from(EXIT_USAGE);
    }
    let result = match cli.command {
        Some(Command::Run(args)) => run::execute(args),
        Some(Command::List { dir }) => list::execute(dir),
        Some(Command::Sweep(args)) => sweep::execute(args),
        Some(Command::Diff(args)) => diff::execute(args),
        Some(Command::Diagnose(args)) => diagnose::execute(args),
        Some(Command::Bench(args)) => bench::execute(args),
        Some(Command::Shrink(args)) => shrink::execute(args),
        Some(Command::Explore(args)) => explore::execute(args),
        Some(Command::Live(args)) => run::execute_live(args),
        Some(Command::Serve(args)) => serve::execute(args),
        Some(Command::Record(args)) => record::execute(args),
        Some(Command::Token(args)) => serve::token(args),
        Some(Command::Scenarios { command }) => scenarios::execute(command),
        None => run::execute_default(),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(UsageError(message)) => {
            err(&format!("{message}\n"));
            ExitCode::from(EXIT_USAGE)
        }
    }
}
