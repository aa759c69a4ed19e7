//! `stagesim list [DIR]`: every scenario file under DIR (recursively, sorted)
//! with its description; a file that does not load is listed with its error.

use std::path::{Path, PathBuf};

use super::UsageError;
use crate::scenario;

/// Scenario files under `dir`, sorted by path.
pub fn scenario_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "toml") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

pub fn execute(dir: Option<PathBuf>) -> Result<u8, UsageError> {
    let dir = dir.unwrap_or_else(|| PathBuf::from("scenarios"));
    let files = scenario_files(&dir).map_err(|e| {
        UsageError(format!(
            "error: cannot read directory {}: {e}",
            dir.display()
        ))
    })?;
    let mut bad = false;
    for path in files {
        match scenario::load(&path) {
            Ok(s) => super::out(&format!("{:<48} {}\n", path.display(), s.description)),
            Err(e) => {
                bad = true;
                super::out(&format!("{:<48} INVALID: {}\n", path.display(), e.message));
            }
        }
    }
    Ok(if bad { super::EXIT_USAGE } else { 0 })
}
