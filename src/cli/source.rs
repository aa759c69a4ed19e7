//! Where the SCENARIO of `run`, `live` and `serve` comes from: a file, or a
//! scenario built into the binary (`scenario::shipped`).
//!
//! argv's SCENARIO -> [`Source`] -> validated `Scenario`, and the form a
//! reproduce line repeats. A path that exists always wins, so a file named
//! like a shipped scenario is never shadowed; only a name that is no path
//! here (`golden_path`, `regressions/unknown_type_crash`) reaches the table.
//! That is what lets an installed binary run from any directory.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::scenario::shipped::{self, SHIPPED, Shipped};
use crate::scenario::{self, Scenario};

/// A scenario named on the command line.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file (or something else on disk, which loading then refuses).
    File(PathBuf),
    /// A scenario built into the binary, by name.
    Shipped(&'static Shipped),
}

impl Source {
    /// What `arg` names: the path if anything exists there (a broken
    /// symlink too, so that loading says why), else the shipped scenario of
    /// that name, else an error with the near misses and every name.
    pub fn resolve(arg: &Path) -> Result<Source, UsageError> {
        if arg.symlink_metadata().is_ok() {
            return Ok(Source::File(arg.to_path_buf()));
        }
        match arg.to_str().and_then(shipped::find) {
            Some(found) => Ok(Source::Shipped(found)),
            None => Err(UsageError(unknown(arg))),
        }
    }

    /// The golden path: `scenarios/golden_path.toml` in a checkout (as
    /// before there was a table), else the shipped copy.
    pub fn golden_path() -> Source {
        let file = Path::new("scenarios/golden_path.toml");
        match shipped::find(shipped::GOLDEN_PATH) {
            Some(found) if !file.is_file() => Source::Shipped(found),
            _ => Source::File(file.to_path_buf()),
        }
    }

    /// How a reproduce line names it: the path as given, or the name, which
    /// `resolve` maps back to the same scenario.
    pub fn display(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Shipped(found) => found.name().to_string(),
        }
    }

    /// Words for a message about it ("the built-in golden_path").
    pub fn describe(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Shipped(found) => format!("the built-in {}", found.name()),
        }
    }

    /// The validated scenario. `command` names the subcommand, for the
    /// pointer a directory gets.
    pub fn load(&self, command: &str) -> Result<Scenario, UsageError> {
        match self {
            Source::File(path) if path.is_dir() => Err(UsageError(directory(path, command))),
            Source::File(path) => scenario::load(path).map_err(|e| UsageError(e.render())),
            Source::Shipped(found) => found.load().map_err(|e| UsageError(e.render())),
        }
    }
}

/// A directory where one file was expected, with the commands that take one.
fn directory(path: &Path, command: &str) -> String {
    format!(
        "error: {} is a directory; `stagesim {command}` takes one scenario file.\n\
         To run every scenario in it: stagesim sweep {}\n\
         To see them: stagesim list {}",
        path.display(),
        path.display(),
        path.display()
    )
}

/// Neither a path nor a shipped name: what was most likely meant, and every
/// name there is.
fn unknown(arg: &Path) -> String {
    let mut text = format!(
        "error: `{}` is neither a scenario file nor the name of a built-in scenario",
        arg.display()
    );
    let near: Vec<String> = arg
        .to_str()
        .map(shipped::near_misses)
        .unwrap_or_default()
        .iter()
        .map(|s| format!("`{}`", s.name()))
        .collect();
    if !near.is_empty() {
        text.push_str(&format!("\ndid you mean {}?", near.join(" or ")));
    }
    let names: Vec<&str> = SHIPPED.iter().map(Shipped::name).collect();
    text.push_str(&format!(
        "\nbuilt-in scenarios (`stagesim list` describes them): {}",
        names.join(", ")
    ));
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_that_is_no_path_is_the_shipped_scenario() {
        // Unit tests run in the crate root, where no file is called this.
        match Source::resolve(Path::new("regressions/unknown_type_crash")) {
            Ok(Source::Shipped(found)) => {
                assert_eq!(found.path, "regressions/unknown_type_crash.toml");
            }
            other => panic!("{:?}", other.map(|s| s.display()).map_err(|e| e.0)),
        }
    }

    #[test]
    fn a_path_that_exists_wins() {
        let source = Source::resolve(Path::new("scenarios/golden_path.toml"));
        assert!(matches!(source, Ok(Source::File(_))));
        assert_eq!(
            source.ok().map(|s| s.display()).as_deref(),
            Some("scenarios/golden_path.toml")
        );
    }

    #[test]
    fn an_unknown_name_lists_near_misses_and_every_name() {
        let Err(UsageError(text)) = Source::resolve(Path::new("golden_pth")) else {
            panic!("golden_pth resolved")
        };
        assert!(text.contains("did you mean `golden_path`?"), "{text}");
        assert!(text.contains("regressions/unknown_type_crash"), "{text}");
    }
}
