//! Finding scenario files under a directory, for `list` and `sweep`.
//!
//! Directory path -> every `*.toml` below it, sorted. `walkdir` does the
//! walk; this module adds what a tree a user hands over needs: a directory
//! reached twice (through a symlink, or a symlink loop) is read once,
//! entries come in sorted order so the same tree gives the same files, and
//! the depth and the number of files are bounded.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use walkdir::{DirEntry, WalkDir};

/// How many directory levels below the one named the walk descends. Far
/// more than any scenario tree needs; a deeper tree is refused with a
/// message rather than walked for minutes.
pub const MAX_DEPTH: usize = 32;

/// The most scenario files one walk collects: a tree with more is almost
/// certainly not a scenario directory (a home directory, `/`), and is
/// refused rather than listed for minutes.
pub const MAX_FILES: usize = 10_000;

/// Scenario files under `dir`, sorted by path; an error is a whole message.
pub fn scenario_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    collect(dir, MAX_FILES)
}

fn collect(dir: &Path, max_files: usize) -> Result<Vec<PathBuf>, String> {
    fs::canonicalize(dir).map_err(|e| cannot_read(dir, &e))?;
    // Canonical paths of the directories entered so far: a directory seen
    // again (a link to an ancestor or a sibling) is not entered twice.
    let mut seen = BTreeSet::new();
    let walk = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .max_depth(MAX_DEPTH + 1)
        .into_iter()
        .filter_entry(|entry| first_visit(entry, &mut seen));
    let mut found = Vec::new();
    for entry in walk {
        let path = match entry {
            Ok(entry) if entry.file_type().is_dir() => {
                if entry.depth() > MAX_DEPTH {
                    return Err(too_deep(dir, entry.path()));
                }
                continue;
            }
            Ok(entry) => entry.into_path(),
            Err(e) => match unreadable(e) {
                Unreadable::Directory(message) => return Err(message),
                Unreadable::Entry(path) => path,
                Unreadable::Skip => continue,
            },
        };
        if path.extension().is_some_and(|e| e == "toml") {
            found.push(path);
        }
        if found.len() > max_files {
            return Err(format!(
                "error: more than {max_files} scenario files under {}; name a smaller directory",
                dir.display()
            ));
        }
    }
    found.sort();
    Ok(found)
}

/// Whether `entry` is a file, or a directory not entered before (by its
/// canonical path, so a symlink loop ends here).
fn first_visit(entry: &DirEntry, seen: &mut BTreeSet<PathBuf>) -> bool {
    if !entry.file_type().is_dir() {
        return true;
    }
    match fs::canonicalize(entry.path()) {
        Ok(canonical) => seen.insert(canonical),
        Err(_) => true,
    }
}

/// What to do with an entry walkdir could not read.
enum Unreadable {
    /// A directory that cannot be listed: the whole walk fails, naming it.
    Directory(String),
    /// An entry whose target cannot be read (a broken link): kept, so
    /// loading it says why, if it is named `*.toml`.
    Entry(PathBuf),
    /// A symlink loop walkdir caught: already walked once.
    Skip,
}

fn unreadable(e: walkdir::Error) -> Unreadable {
    if e.loop_ancestor().is_some() {
        return Unreadable::Skip;
    }
    let Some(path) = e.path().map(Path::to_path_buf) else {
        return Unreadable::Skip;
    };
    if path.is_dir() {
        let io = e
            .into_io_error()
            .unwrap_or_else(|| std::io::Error::other("unreadable"));
        return Unreadable::Directory(cannot_read(&path, &io));
    }
    Unreadable::Entry(path)
}

fn too_deep(top: &Path, at: &Path) -> String {
    format!(
        "error: directories under {} nest deeper than {MAX_DEPTH} levels (at {}); \
         name a deeper directory directly",
        top.display(),
        at.display()
    )
}

fn cannot_read(dir: &Path, e: &std::io::Error) -> String {
    format!("error: cannot read directory {}: {e}", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_with_too_many_scenario_files_is_refused() {
        let dir = std::env::temp_dir().join(format!("stagesim-walk-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for name in ["a.toml", "b.toml", "sub/c.toml"] {
            std::fs::write(dir.join(name), "name = \"x\"\n").unwrap();
        }
        let three = collect(&dir, 3).map(|f| f.len());
        let two = collect(&dir, 2);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(three, Ok(3));
        let e = two.unwrap_err();
        assert!(e.contains("more than 2 scenario files"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn a_sibling_reached_through_a_link_is_read_once_and_broken_scenarios_are_kept() {
        use std::os::unix::fs::symlink;
        let dir = std::env::temp_dir().join(format!("stagesim-walk-link-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        std::fs::write(dir.join("b/x.toml"), "name = \"x\"\n").unwrap();
        symlink(dir.join("b"), dir.join("a/to_b")).unwrap();
        symlink(dir.join("gone.toml"), dir.join("b/broken.toml")).unwrap();
        let found = collect(&dir, 10);
        let _ = std::fs::remove_dir_all(&dir);
        let found = found.unwrap();
        // `a/to_b` comes first in sorted order, so b's files are listed
        // under it, once; the broken link is kept for `load` to explain.
        assert_eq!(
            found,
            [dir.join("a/to_b/broken.toml"), dir.join("a/to_b/x.toml")]
        );
    }
}
