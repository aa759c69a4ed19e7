//! Finding scenario files under a directory, for `list` and `sweep`.
//!
//! Directory path -> every `*.toml` below it, sorted. The walk is safe on
//! any tree a user can hand over: a directory reached twice (through a
//! symlink, or a symlink loop) is read once, directories are read in sorted
//! order so the same tree gives the same files, and the depth is bounded.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

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
    let mut walk = Walk {
        top: dir,
        seen: BTreeSet::new(),
        found: Vec::new(),
        max_files,
    };
    walk.visit(dir, 0)?;
    let mut found = walk.found;
    found.sort();
    Ok(found)
}

struct Walk<'a> {
    top: &'a Path,
    /// Canonical paths of the directories read so far.
    seen: BTreeSet<PathBuf>,
    found: Vec<PathBuf>,
    max_files: usize,
}

impl Walk<'_> {
    fn visit(&mut self, dir: &Path, depth: usize) -> Result<(), String> {
        let canonical = fs::canonicalize(dir).map_err(|e| cannot_read(dir, &e))?;
        if !self.seen.insert(canonical) {
            return Ok(());
        }
        if depth > MAX_DEPTH {
            return Err(format!(
                "error: directories under {} nest deeper than {MAX_DEPTH} levels (at {}); \
                 name a deeper directory directly",
                self.top.display(),
                dir.display()
            ));
        }
        for path in sorted_entries(dir)? {
            // `metadata` follows symlinks: a link to a directory is walked
            // (once, by its canonical path), a link to a file is a file. A
            // broken link named *.toml is kept, so loading it says why.
            match fs::metadata(&path) {
                Ok(meta) if meta.is_dir() => self.visit(&path, depth + 1)?,
                _ if path.extension().is_some_and(|e| e == "toml") => self.found.push(path),
                _ => {}
            }
            if self.found.len() > self.max_files {
                return Err(format!(
                    "error: more than {} scenario files under {}; name a smaller directory",
                    self.max_files,
                    self.top.display()
                ));
            }
        }
        Ok(())
    }
}

/// The entries of `dir`, sorted, so the walk does not depend on the order
/// the file system returns them in.
fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for entry in fs::read_dir(dir).map_err(|e| cannot_read(dir, &e))? {
        paths.push(entry.map_err(|e| cannot_read(dir, &e))?.path());
    }
    paths.sort();
    Ok(paths)
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
}
