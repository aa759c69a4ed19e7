//! `stagesim list [DIR]`: every scenario file under DIR (recursively, sorted;
//! see `walk`) with its description; a file that does not load is listed
//! with its error, and the exit code is then 2.
//!
//! Without DIR it lists `scenarios/`, or, where there is none (an installed
//! binary run outside the checkout), the scenarios built into the binary
//! (`scenario::shipped`), by the names `stagesim run NAME` takes, and says
//! so on stderr.
//!
//! Layout: the paths in a column as wide as the longest of them, but at most
//! [`MAX_PATH_WIDTH`] characters, then the description cut to
//! [`ABOUT_WIDTH`]. A path longer than the column gets a line of its own and
//! its description goes on the next line, in the same column, so the
//! descriptions stay aligned whatever the paths.

use std::path::{Path, PathBuf};

use super::{EXIT_USAGE, UsageError, err, out};
use crate::scenario;
use crate::scenario::shipped::SHIPPED;
use crate::sweep::shell_word;

/// The widest the path column gets (the shipped scenarios need 55).
pub const MAX_PATH_WIDTH: usize = 60;
/// Most characters of a description (or an error) shown on its line.
pub const ABOUT_WIDTH: usize = 72;

/// One line of the listing: what to pass to `stagesim run`, and the
/// scenario's description or why it does not load.
struct Entry {
    name: String,
    about: Result<String, String>,
}

pub fn execute(dir: Option<PathBuf>) -> Result<u8, UsageError> {
    let default = Path::new("scenarios");
    let entries = match dir {
        Some(dir) => on_disk(&dir)?,
        // Anything at `scenarios` (a file too, which is then refused) is
        // what the user meant; only its absence means "not in a checkout".
        None if default.symlink_metadata().is_ok() => on_disk(default)?,
        None => {
            err(&format!(
                "no scenarios/ here: listing the {} scenarios built into stagesim \
                 (run one by name, e.g. `stagesim run golden_path`; \
                 `stagesim scenarios export DIR` writes them out)\n",
                SHIPPED.len()
            ));
            built_in()
        }
    };
    show(&entries)
}

/// Every scenario file under `dir`, loaded.
fn on_disk(dir: &Path) -> Result<Vec<Entry>, UsageError> {
    if dir.is_file() {
        return Err(UsageError(format!(
            "error: {} is a file; `stagesim list` takes a directory. To run the file: stagesim run {}",
            dir.display(),
            shell_word(&dir.display().to_string())
        )));
    }
    let files = super::walk::scenario_files(dir).map_err(UsageError)?;
    Ok(files
        .iter()
        .map(|path| Entry {
            name: path.display().to_string(),
            about: scenario::load(path)
                .map(|s| s.description)
                .map_err(|e| e.message),
        })
        .collect())
}

/// The scenarios built into the binary, by name.
fn built_in() -> Vec<Entry> {
    SHIPPED
        .iter()
        .map(|shipped| Entry {
            name: shipped.name().to_string(),
            about: shipped.load().map(|s| s.description).map_err(|e| e.message),
        })
        .collect()
}

/// Print the entries in aligned columns; exit 2 if any does not load.
fn show(entries: &[Entry]) -> Result<u8, UsageError> {
    let width = entries
        .iter()
        .map(|e| one_line(&e.name).chars().count())
        .filter(|&n| n <= MAX_PATH_WIDTH)
        .max()
        .unwrap_or(0);
    let mut bad = 0;
    let mut text = String::new();
    for entry in entries {
        let about = match &entry.about {
            Ok(description) => description.clone(),
            Err(message) => {
                bad += 1;
                format!("INVALID: {message}")
            }
        };
        text.push_str(&line(&entry.name, &about, width));
    }
    out(&text);
    if bad > 0 {
        err(&format!(
            "{bad} file(s) do not load; `stagesim run FILE` shows the whole error with its line and column\n"
        ));
        return Ok(EXIT_USAGE);
    }
    Ok(0)
}

/// One entry: the path padded to a column `width` wide, or on a line of
/// its own when it is wider, then the description.
fn line(path: &str, about: &str, width: usize) -> String {
    let path = one_line(path);
    let about = clip(&one_line(about), ABOUT_WIDTH);
    if path.chars().count() <= width {
        format!("{path:<width$} {about}\n")
    } else {
        format!("{path}\n{:width$} {about}\n", "")
    }
}

/// `text` on one line: runs of whitespace (newlines in a description) become
/// one space, other control characters are escaped.
fn one_line(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_debug().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// At most `width` characters, cut at a word boundary with `...`.
fn clip(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let head: String = text.chars().take(width - 3).collect();
    let cut = head
        .rfind(' ')
        .filter(|&i| i > width / 2)
        .unwrap_or(head.len());
    format!("{}...", head[..cut].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_paths_share_a_line_long_ones_do_not() {
        let short = line("scenarios/a.toml", "About a.", 30);
        assert_eq!(short.find("About"), Some(31));
        let long = format!("{}/b.toml", "d".repeat(200));
        let text = line(&long, "About b.", 30);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], long);
        assert_eq!(lines[1].find("About"), Some(31));
    }

    #[test]
    fn descriptions_are_one_clipped_line() {
        let about = format!("first\nsecond {}", "word ".repeat(40));
        let text = line("a.toml", &about, 6);
        assert_eq!(text.lines().count(), 1);
        assert!(text.chars().count() <= 6 + 1 + ABOUT_WIDTH + 1, "{text}");
        assert!(text.trim_end().ends_with("..."), "{text}");
        assert_eq!(one_line("a\u{7}b"), "a\\u{7}b");
    }
}
