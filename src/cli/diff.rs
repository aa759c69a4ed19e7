//! `stagesim diff TRACE_A TRACE_B [--json]` and `stagesim diff SCENARIO
//! --seed X --seed Y [--bug ...] [--fixed] [--json]`: where two runs part,
//! user by user (`crate::diff`).
//!
//! Arguments -> two sides (trace files read, or the scenario run at both
//! seeds and judged) -> `diff::partings` -> text or JSON on stdout; exit 1
//! when some user's story ends differently, 0 when none does.

use std::path::PathBuf;

use clap::Args;

use super::json_docs::{DiffJson, PartingJson};
use super::source::Source;
use super::values::{self, BugFlag};
use super::{EXIT_VIOLATION, UsageError, out};
use crate::diff::{Line, Parting, Side, parse_trace_file, partings};

#[derive(Args, Debug)]
pub struct DiffArgs {
    /// Two trace files (`run --trace`), or one scenario (file or built-in
    /// name) with two `--seed`s.
    #[arg(num_args = 1..=2, required = true)]
    pub inputs: Vec<PathBuf>,
    /// A seed of the scenario; give it twice.
    #[arg(long = "seed", value_parser = values::seed, allow_negative_numbers = true)]
    pub seeds: Vec<u64>,
    /// Turn a defect on (`NAME`) or off (`NAME=off`) in both runs.
    #[arg(long = "bug", value_name = "NAME[=on|off]", value_parser = values::bug, long_help = values::bug_help())]
    pub bugs: Vec<BugFlag>,
    /// Every defect off in both runs.
    #[arg(long)]
    pub fixed: bool,
    /// Print one JSON object instead of the text.
    #[arg(long)]
    pub json: bool,
}

pub fn execute(args: DiffArgs) -> Result<u8, UsageError> {
    match (args.inputs.as_slice(), args.seeds.as_slice()) {
        ([a, b], []) => {
            let (la, lb) = (read(a)?, read(b)?);
            let side = |p: &PathBuf, lines| Side {
                name: p.display().to_string(),
                lines,
                violations: &[],
            };
            report(&args, &side(a, la), &side(b, lb))
        }
        ([scenario], [x, y]) => {
            let source = Source::resolve(scenario)?;
            let mut s = source.load("diff")?;
            super::run::apply_bug_flags(&mut s, args.fixed, &args.bugs)?;
            let (ra, rb) = (crate::run::run(&s, *x), crate::run::run(&s, *y));
            let name = |seed: u64| format!("{} --seed {seed}", source.display());
            let side_a = Side {
                name: name(*x),
                lines: Line::of(&ra.trace),
                violations: &ra.violations,
            };
            let side_b = Side {
                name: name(*y),
                lines: Line::of(&rb.trace),
                violations: &rb.violations,
            };
            report(&args, &side_a, &side_b)
        }
        _ => Err(UsageError(
            "error: `stagesim diff` takes two trace files (`stagesim diff A.trace B.trace`), \
             or one scenario and two seeds (`stagesim diff SCENARIO --seed 1 --seed 2`)"
                .into(),
        )),
    }
}

fn read(path: &PathBuf) -> Result<Vec<Line>, UsageError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| UsageError(format!("error: cannot read {}: {e}", path.display())))?;
    parse_trace_file(&text).map_err(|e| UsageError(format!("error: {}: {e}", path.display())))
}

fn report(args: &DiffArgs, a: &Side<'_>, b: &Side<'_>) -> Result<u8, UsageError> {
    let (found, on_the_way) = partings(a, b);
    if args.json {
        out(&super::json_docs::line(&to_json(a, b, &found, on_the_way)));
    } else {
        out(&to_text(a, b, &found, on_the_way));
    }
    Ok(if found.is_empty() { 0 } else { EXIT_VIOLATION })
}

fn to_text(a: &Side<'_>, b: &Side<'_>, found: &[Parting], on_the_way: usize) -> String {
    let mut t = format!(
        "A: {}\nB: {}\n{} user(s) end differently; {on_the_way} more part on the way but end the same\n",
        a.name,
        b.name,
        found.len()
    );
    for p in found {
        let end = |e: &Option<String>| e.clone().unwrap_or_else(|| "(nothing)".into());
        t.push_str(&format!(
            "\n{}: ends \"{}\" in A, \"{}\" in B\n",
            p.user,
            end(&p.ends[0]),
            end(&p.ends[1])
        ));
        for (label, i) in [("A", 0), ("B", 1)] {
            let first = p.first[i]
                .as_ref()
                .map_or("(no more events)".into(), Line::render);
            t.push_str(&format!("  parts {label} {}\n", first.trim_start()));
        }
        section(&mut t, "faults and servers before it", &p.faults);
        section(&mut t, "servers about it", &p.servers);
        section(&mut t, "its way to the violation", &p.chain);
    }
    t
}

fn section(t: &mut String, title: &str, both: &[Vec<Line>; 2]) {
    for (label, lines) in [("A", &both[0]), ("B", &both[1])] {
        if lines.is_empty() {
            continue;
        }
        t.push_str(&format!("  {title} ({label}):\n"));
        for l in lines {
            t.push_str(&format!("    {}\n", l.render().trim_start()));
        }
    }
}

fn to_json(a: &Side<'_>, b: &Side<'_>, found: &[Parting], on_the_way: usize) -> DiffJson {
    let lines = |both: &[Vec<Line>; 2]| {
        both.each_ref()
            .map(|ls| ls.iter().map(Line::render).collect())
    };
    let users = found
        .iter()
        .map(|p| PartingJson {
            chain: lines(&p.chain),
            ends: p.ends.clone(),
            faults: lines(&p.faults),
            first: p.first.each_ref().map(|l| l.as_ref().map(Line::render)),
            servers: lines(&p.servers),
            user: p.user.clone(),
        })
        .collect();
    DiffJson {
        a: a.name.clone(),
        b: b.name.clone(),
        part_on_the_way: on_the_way,
        users,
    }
}
