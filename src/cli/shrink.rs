//! `stagesim shrink SCENARIO --seed N [--bug NAME[=off]]... [--fixed]
//! [--out FILE] [--jobs J] [--max-runs N] [--json]`: a failing scenario,
//! such as one written from a staging incident, becomes the smallest one
//! that fails on the same seed with the same cause.
//!
//! Arguments -> FILE checked (`output`: writable, not a scenario, not an
//! existing file without `--force`) -> scenario file (+ bug flags) ->
//! `crate::shrink::shrink` -> the shrunk scenario written to FILE (its
//! `[bugs]` the bugs that were on) -> what was removed and the replay
//! command on stdout.

use std::path::{Path, PathBuf};

use clap::Args;

use super::json_docs::ShrinkJson;
use super::output::OutputFile;
use super::values::{self, BugFlag};
use super::{UsageError, out};
use crate::scenario::{self, Scenario};
use crate::shrink::{self, Shrunk};
use crate::sweep::shell_word;

#[derive(Args, Debug)]
pub struct ShrinkArgs {
    /// The failing scenario file (TOML).
    pub scenario: PathBuf,
    /// The seed it fails on.
    #[arg(long, value_parser = values::seed, allow_negative_numbers = true)]
    pub seed: u64,
    /// Turn a defect on (`NAME`) or off (`NAME=off`) before shrinking; the
    /// written file carries the bugs that were on.
    #[arg(long = "bug", value_name = "NAME[=on|off]", value_parser = values::bug, long_help = values::bug_help())]
    pub bugs: Vec<BugFlag>,
    /// Turn every defect off first.
    #[arg(long)]
    pub fixed: bool,
    /// Where to write the shrunk scenario [default: STEM_min.toml in the
    /// current directory]; its file stem becomes the scenario's name.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Overwrite FILE if it exists (never a scenario file: those are
    /// refused even so).
    #[arg(long, short = 'f')]
    pub force: bool,
    /// Candidate runs at a time, 1 to 256 [default: every core]; the result
    /// is the same for every value.
    #[arg(long, value_parser = values::jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Most candidate runs to spend, 1 to 100000.
    #[arg(long, default_value_t = shrink::DEFAULT_MAX_RUNS, value_parser = max_runs, allow_negative_numbers = true)]
    pub max_runs: usize,
    /// Print one JSON object instead of the text.
    #[arg(long)]
    pub json: bool,
}

/// `--max-runs`: 1 to 100,000 (a shrink round is a few dozen runs).
pub fn max_runs(text: &str) -> Result<usize, String> {
    values::whole("--max-runs", 1, 100_000, "", text).map(|n| n as usize)
}

/// `--out`, or `STEM_min.toml` here.
fn out_path(args: &ShrinkArgs) -> PathBuf {
    args.out.clone().unwrap_or_else(|| {
        let stem = args
            .scenario
            .file_stem()
            .map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
        PathBuf::from(format!("{stem}_min.toml"))
    })
}

pub fn execute(args: ShrinkArgs) -> Result<u8, UsageError> {
    if args.scenario.is_dir() {
        return Err(UsageError(format!(
            "error: {} is a directory; `stagesim shrink` takes one scenario file",
            args.scenario.display()
        )));
    }
    // Before the shrink, which can take minutes: `--out` naming the input
    // itself, or any scenario, is refused here.
    let out_file = OutputFile::check(&out_path(&args), "shrunk scenario", args.force)?;
    let mut scenario = scenario::load(&args.scenario).map_err(|e| UsageError(e.render()))?;
    super::run::apply_bug_flags(&mut scenario, args.fixed, &args.bugs)?;
    let jobs = values::jobs_or_cores(args.jobs);
    super::err(&format!(
        "shrink: {} at seed {}, {jobs} job(s), at most {} candidate runs\n",
        args.scenario.display(),
        args.seed,
        args.max_runs
    ));
    let shrunk = shrink::shrink(&scenario, args.seed, jobs, args.max_runs).map_err(|_| {
        UsageError(format!(
            "error: {} passes on seed {}: there is no failure to shrink. \
             Find a failing seed first: stagesim sweep {} --seeds 200",
            args.scenario.display(),
            args.seed,
            args.scenario.display()
        ))
    })?;
    let origin = args.scenario.display().to_string();
    let written = write_shrunk(&shrunk, &out_file, &origin)?;
    let path = out_file.path();
    let reproduce = format!(
        "stagesim run {} --seed {}",
        shell_word(&path.display().to_string()),
        args.seed
    );
    if args.json {
        out(&super::json_docs::line(&shrunk_json(
            &shrunk, path, &reproduce,
        )));
    } else {
        out(&shrunk_text(&scenario, &shrunk, &written, path, &reproduce));
    }
    Ok(0)
}

/// Write the shrunk scenario to `file` (checked before the shrink), named
/// after the file and described by where it came from; read back to prove
/// it loads. Returns what was written.
pub fn write_shrunk(
    shrunk: &Shrunk,
    file: &OutputFile,
    origin: &str,
) -> Result<Scenario, UsageError> {
    let path = file.path();
    let mut s = shrunk.scenario.clone();
    s.name = path
        .file_stem()
        .map_or(String::new(), |stem| stem.to_string_lossy().into_owned());
    s.description = format!(
        "Shrunk from {origin}: fails at seed {} with {} ({} steps).",
        shrunk.seed,
        shrunk.signature.label(),
        shrunk.steps.len()
    );
    let text = scenario::to_toml(&s);
    scenario::parse(&text, path).map_err(|e| {
        UsageError(format!(
            "error: cannot write the shrunk scenario as {}: {}",
            path.display(),
            e.render()
        ))
    })?;
    file.write(text.as_bytes())?;
    Ok(s)
}

/// `3 groups, 31 users, 4 faults, 10 messages, 120s`.
pub fn size(s: &Scenario) -> String {
    let users: u64 = s.users.iter().map(|g| u64::from(g.count)).sum();
    let messages: u64 = s
        .users
        .iter()
        .map(|g| u64::from(g.count) * u64::from(g.messages))
        .sum();
    format!(
        "{} group(s), {users} user(s), {messages} message(s), {} fault(s), {}",
        s.users.len(),
        s.faults.len(),
        scenario::format_duration(s.duration)
    )
}

fn shrunk_text(
    before: &Scenario,
    shrunk: &Shrunk,
    written: &Scenario,
    path: &Path,
    reproduce: &str,
) -> String {
    let mut text = format!(
        "fails with {} at seed {}\n",
        shrunk.signature.label(),
        shrunk.seed
    );
    for step in &shrunk.steps {
        text.push_str(&format!("  {step}\n"));
    }
    if shrunk.steps.is_empty() {
        text.push_str("  nothing could be removed: every step lost the failure\n");
    }
    text.push_str(&format!(
        "from   {}\nto     {}\n({} candidate runs)\n",
        size(before),
        size(written),
        shrunk.runs
    ));
    let on = written.bugs.enabled();
    if !on.is_empty() {
        text.push_str(&format!("bugs   {}\n", on.join(", ")));
    }
    if let Some(v) = shrunk
        .signature
        .matching(&shrunk.outcome, &shrunk.scenario)
        .next()
    {
        text.push_str(&format!(
            "first  {} {} on {}: {}\n",
            crate::trace::format_time(v.at).trim(),
            v.user.as_deref().unwrap_or("-"),
            v.host,
            v.what()
        ));
    }
    text.push_str(&format!("wrote  {}\nreplay {reproduce}\n", path.display()));
    if shrunk.fixed_passes {
        text.push_str(&format!(
            "fixed  {reproduce} --fixed passes: the shrunk scenario tests the fix too\n"
        ));
    }
    text
}

fn shrunk_json(shrunk: &Shrunk, path: &Path, reproduce: &str) -> ShrinkJson {
    ShrinkJson {
        candidate_runs: shrunk.runs,
        cause: shrunk.signature.cause.as_str().to_string(),
        component: shrunk.signature.component.map(|c| c.key().to_string()),
        fixed_passes: shrunk.fixed_passes,
        reproduce: reproduce.to_string(),
        scenario: path.display().to_string(),
        seed: shrunk.seed,
        steps: shrunk.steps.clone(),
        violations: shrunk
            .outcome
            .violations
            .iter()
            .map(crate::report::violation_json)
            .collect(),
    }
}
