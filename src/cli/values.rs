//! Flag values, checked while clap parses: whole numbers within a stated
//! range, `--bug NAME[=on|off]`, and the `--bug` help text.
//!
//! Sits between the raw argument strings and the subcommands' `execute`:
//! anything a user can type wrong is refused here (exit 2) with a message
//! that says what the flag takes and what it got, before any file is read.

use std::fmt::Write as _;

use crate::scenario::Bugs;
use crate::sweep::MAX_SEEDS;

/// The most worker threads a sweep starts. Each job holds one whole
/// simulation in memory (tens of MB for a thousand users), and past the core
/// count more jobs only add memory, so a typo such as `--jobs 10000` is
/// refused rather than allowed to exhaust the machine.
pub const MAX_JOBS: u64 = 256;

/// A user's text, made safe to quote in one line of a message: control
/// characters escaped, and cut short (a hostile value can be megabytes).
pub fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    let escaped: String = text.chars().flat_map(char::escape_debug).collect();
    if escaped.chars().count() <= MAX_CHARS {
        escaped
    } else {
        let head: String = escaped.chars().take(MAX_CHARS).collect();
        format!("{head}...")
    }
}

/// `text` as a whole number in `min..=max`, or a message naming `flag`, the
/// range and what was typed, plus `hint` when given.
pub fn whole(flag: &str, min: u64, max: u64, hint: &str, text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{flag}` takes a whole number from {min} to {max}; got `{}`{hint}",
            shown(text)
        )),
    }
}

/// `--seed`: any u64.
pub fn seed(text: &str) -> Result<u64, String> {
    whole("--seed", 0, u64::MAX, "", text)
}

/// `--start`: any u64 (the range it starts is checked with `--seeds`).
pub fn start(text: &str) -> Result<u64, String> {
    whole("--start", 0, u64::MAX, "", text)
}

/// `--seeds`: 1 to [`MAX_SEEDS`]; zero seeds would prove nothing and pass.
pub fn seeds(text: &str) -> Result<u64, String> {
    whole(
        "--seeds",
        1,
        MAX_SEEDS,
        " (split a longer range into sweeps with --start)",
        text,
    )
}

/// `--jobs`: 1 to [`MAX_JOBS`].
pub fn jobs(text: &str) -> Result<usize, String> {
    whole("--jobs", 1, MAX_JOBS, "", text).map(|n| n as usize)
}

/// `--bug all`: screen every catalogued bug in turn (`stagesim sweep`
/// only; see `crate::sweep::screen`). No bug has this name.
pub const ALL_BUGS: &str = "all";

/// `--jobs` if given, else every core, at most [`MAX_JOBS`].
pub fn jobs_or_cores(jobs: Option<usize>) -> usize {
    jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_JOBS as usize)
    })
}

/// One `--bug` flag: a known bug name, switched on or off, or
/// [`ALL_BUGS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BugFlag {
    pub name: String,
    pub on: bool,
    /// As typed, to repeat in reproduce lines.
    pub spec: String,
}

impl BugFlag {
    /// `--bug all`, which screens the bugs instead of switching one.
    pub fn is_all(&self) -> bool {
        self.name == ALL_BUGS
    }
}

/// `--bug NAME`, `--bug NAME=on` or `--bug NAME=off` (also `true`/`false`),
/// or `--bug all`.
pub fn bug(spec: &str) -> Result<BugFlag, String> {
    if spec == ALL_BUGS {
        return Ok(BugFlag {
            name: ALL_BUGS.into(),
            on: true,
            spec: spec.into(),
        });
    }
    if let Some((ALL_BUGS, value)) = spec.split_once('=') {
        return Err(format!(
            "`--bug all` screens every bug in turn, each on with the others off, and takes no value; got `{}` after `=`",
            shown(value)
        ));
    }
    let (name, on) = match spec.split_once('=') {
        Some((name, "on" | "true")) => (name, true),
        Some((name, "off" | "false")) => (name, false),
        Some((_, other)) => {
            return Err(format!(
                "`--bug` takes NAME, NAME=on or NAME=off; got `{}` after `=`",
                shown(other)
            ));
        }
        None => (spec, true),
    };
    Bugs::default().set(name, on).map_err(|_| {
        format!(
            "`--bug` takes the name of a known bug; got `{}`. The bugs: {} (`stagesim run --help` says what each does)",
            shown(name),
            Bugs::NAMES.join(", ")
        )
    })?;
    Ok(BugFlag {
        name: name.to_string(),
        on,
        spec: spec.to_string(),
    })
}

/// The long help of `--bug`: every bug with its mechanism and symptom, from
/// [`Bugs::CATALOG`].
pub fn bug_help() -> String {
    let mut text = String::from(
        "Turn a known defect on (`NAME`) or off (`NAME=off`), overriding the \
         scenario's [bugs] table. Repeatable. The defects (docs/regressions.md \
         has each one's staging story):\n",
    );
    for (name, about) in Bugs::CATALOG {
        let _ = write!(text, "\n{name}\n    {about}");
    }
    text
}

/// [`bug_help`], and what `--bug all` does (`stagesim sweep` only).
pub fn sweep_bug_help() -> String {
    format!(
        "{}\n\n{ALL_BUGS}\n    screen every defect above, one at a time: each scenario runs on \
         the seed range with its own bugs off and that one on; says which scenarios \
         caught each. Exit 0 when every defect was caught by some scenario, else 1. \
         Not with another --bug, --fixed, --junit or --report-dir.",
        bug_help()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_in_range_pass_and_others_name_the_range() {
        assert_eq!(seed("18446744073709551615"), Ok(u64::MAX));
        assert_eq!(
            seed("-1").unwrap_err(),
            "`--seed` takes a whole number from 0 to 18446744073709551615; got `-1`"
        );
        for bad in ["0", "1000001", "18446744073709551616", "1e6", "", " 5"] {
            let message = seeds(bad).unwrap_err();
            assert!(message.contains("from 1 to 1000000"), "{bad}: {message}");
        }
        assert_eq!(jobs("256"), Ok(256));
        assert!(jobs("257").is_err() && jobs("0").is_err());
    }

    #[test]
    fn hostile_text_is_escaped_and_cut() {
        assert_eq!(shown("a\nb"), "a\\nb");
        assert_eq!(shown(&"x".repeat(1000)).len(), 63);
    }

    #[test]
    fn bug_flags() {
        let flag = bug("no_auth_retry=off").unwrap();
        assert_eq!((flag.name.as_str(), flag.on), ("no_auth_retry", false));
        assert!(bug("nope").unwrap_err().contains("shared_user_context"));
        assert!(bug("no_auth_retry=maybe").unwrap_err().contains("NAME=off"));
        assert!(bug("all").unwrap().is_all());
        assert!(!flag.is_all());
        assert!(bug("all=off").unwrap_err().contains("takes no value"));
        // `all` is not a bug: switching it in a scenario is refused.
        assert!(Bugs::default().set(ALL_BUGS, true).is_err());
    }

    #[test]
    fn bug_help_names_every_bug() {
        let help = bug_help();
        for name in Bugs::NAMES {
            assert!(help.contains(&format!("\n{name}\n")), "{name}");
        }
    }
}
