//! `stagesim record --listen ADDR --target ws://HOST:PORT/PATH [--secret S]
//! [--for D] [--out DIR] [--bodies]`: a recording proxy in front of any
//! backend (`crate::record`).
//!
//! Arguments -> the target (`live::Target::parse`), the secret (for
//! telling token kinds apart), DIR checked before anything listens ->
//! `record::record` with a progress line on stderr -> a summary on stdout
//! naming the three files and the next commands.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::{UsageError, err, out, values};
use crate::live::Target;
use crate::record::{Counts, JOURNAL, OBSERVED, RecordOptions, SCENARIO};

#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Where clients connect (port 0: a free port, printed).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub listen: SocketAddr,
    /// The backend every upgrade is forwarded to: ws://HOST:PORT/PATH.
    #[arg(long, value_name = "URL")]
    pub target: String,
    /// The token signing secret the backend trusts: with it, each token's
    /// kind (valid, expired, bad_signature, malformed) is recorded; the
    /// token never is.
    #[arg(long, env = "STAGESIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Stop after this long (1ms to 1000h); default: at Ctrl-C.
    #[arg(long = "for", value_name = "DURATION", value_parser = record_for)]
    pub for_: Option<Duration>,
    /// The directory for observed.jsonl, observed.json and scenario.toml
    /// (created if missing; one that holds a recording is refused).
    #[arg(long, default_value = "recording")]
    pub out: PathBuf,
    /// Also keep every text message's body in observed.jsonl.
    #[arg(long)]
    pub bodies: bool,
}

fn record_for(text: &str) -> Result<Duration, String> {
    let d = crate::scenario::parse_duration(text).map_err(|e| format!("`--for`: {e}"))?;
    if d.is_zero() {
        return Err(format!(
            "`--for` takes a duration from 1ms to 1000h, like \"10m\" (leave it out to record \
             until Ctrl-C); got `{}`",
            values::shown(text)
        ));
    }
    Ok(d)
}

pub fn execute(args: RecordArgs) -> Result<u8, UsageError> {
    let target =
        Target::parse(&args.target).map_err(|e| UsageError(format!("error: `--target`: {e}")))?;
    let check_tokens = args.secret.is_some();
    let secret = match args.secret {
        Some(given) => super::secret::resolve(Some(given))?,
        None => None,
    };
    let options = RecordOptions {
        listen: args.listen,
        target,
        check_tokens,
        secret,
        duration: args.for_,
        out: args.out.clone(),
        bodies: args.bodies,
    };
    crate::record::check_out(&options.out).map_err(|e| UsageError(format!("error: {e}")))?;
    let url = &args.target;
    let terminal = std::io::stderr().is_terminal();
    let listening = |addr: SocketAddr| {
        out(&format!(
            "recording ws://{addr}/ -> {url} into {} (Ctrl-C to stop)\n",
            args.out.display()
        ));
    };
    let progress = |c: Counts, at: Duration| {
        // A terminal gets one line rewritten; a log, a line every 10 s.
        if terminal {
            err(&format!("\r{}", progress_line(c, at)));
        } else if at.as_secs().is_multiple_of(10) && at.as_secs() > 0 {
            err(&format!("{}\n", progress_line(c, at)));
        }
    };
    let recorded = crate::record::record(&options, listening, progress)
        .map_err(|e| UsageError(format!("error: {e}")))?;
    if terminal {
        err("\n");
    }
    let dir = args.out.display();
    let s = &recorded.scenario;
    out(&format!(
        "recorded {:.1}s: {} connection(s), {} frame(s), {} close(s); {} still open at the end\n\
         {dir}/{JOURNAL}: the trace; {dir}/{OBSERVED}: judged {} ({} violation(s)); \
         {dir}/{SCENARIO}: {} group(s), {} fault(s)\n\
         peak memory (VmHWM): {}\n\
         next: stagesim run {dir}/{SCENARIO} --seed 1\n      \
         stagesim diagnose {dir}/{SCENARIO} --observed {dir}\n",
        recorded.elapsed.as_secs_f64(),
        recorded.counts.connections,
        recorded.counts.frames,
        recorded.counts.closes,
        recorded.still_open,
        recorded.verdict,
        recorded.violations,
        s.users.len(),
        s.faults.len(),
        peak_memory().unwrap_or_else(|| "unknown".into()),
    ));
    Ok(0)
}

fn progress_line(c: Counts, at: Duration) -> String {
    format!(
        "recording {}s: {} connection(s), {} open, {} frame(s), {} close(s)",
        at.as_secs(),
        c.connections,
        c.open,
        c.frames,
        c.closes
    )
}

/// This process's peak resident memory, from `/proc/self/status`.
fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    Some(line.trim_start_matches("VmHWM:").trim().to_string())
}
