//! `sweep --report-dir DIR`: the self-contained HTML report of every
//! failing run the sweep keeps, as `DIR/<scenario>-seed-<N>.html`.
//!
//! Data flow: a worker's whole `Outcome` -> `crate::report::html::render`
//! -> one file, written right after the run so that no trace outlives its
//! worker. The files are those of the failures the sweep keeps (the first
//! [`super::MAX_FAILURES_KEPT`] in job order): a worker writes a report
//! only while its run would be kept, and the report of a run pushed out by
//! failures earlier in job order is removed again. So what `DIR` holds at
//! the end does not depend on `--jobs`, and it is never more than the kept
//! failures plus one report per worker.
//!
//! Each report is written atomically (`crate::atomic_file`). A report
//! already in `DIR` under a name this sweep could write is found before any
//! run ([`ReportDir::existing`]); the command line refuses to go on without
//! `--force`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::Target;
use crate::run::Outcome;

/// The longest file-name stem taken from a scenario name: file systems
/// refuse names over 255 bytes, and the seed and extension need room.
const MAX_STEM_CHARS: usize = 100;

/// Where a sweep writes its reports, and the file-name stem of each target.
#[derive(Debug, Clone)]
pub struct ReportDir {
    dir: PathBuf,
    /// Per target: its scenario name made safe for a file name, with a
    /// suffix where two targets would otherwise share a stem.
    stems: Vec<String>,
}

impl ReportDir {
    /// Create `dir` (and its parents) and check that a file can be written
    /// in it, so that an unusable directory is refused before any run.
    pub fn create(dir: &Path, targets: &[Target]) -> Result<Self, String> {
        let refused = |e: std::io::Error| format!("cannot write reports to {}: {e}", dir.display());
        std::fs::create_dir_all(dir).map_err(refused)?;
        let probe = dir.join(format!(".stagesim-write-check-{}", std::process::id()));
        std::fs::write(&probe, b"").map_err(refused)?;
        std::fs::remove_file(&probe).map_err(refused)?;
        Ok(ReportDir {
            dir: dir.to_path_buf(),
            stems: unique_stems(targets),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The report file of `target` on `seed`.
    pub fn path(&self, target: usize, seed: u64) -> PathBuf {
        self.dir
            .join(format!("{}-seed-{seed}.html", self.stems[target]))
    }

    /// The files already in the directory under a name this sweep could
    /// write (a report of one of its targets on one of `seeds`, which are
    /// ascending), in name order: a sweep would overwrite them.
    pub fn existing(&self, seeds: &[u64]) -> std::io::Result<Vec<PathBuf>> {
        let stems: BTreeSet<&str> = self.stems.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        for entry in std::fs::read_dir(&self.dir)? {
            let name = entry?.file_name();
            let Some((stem, seed)) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".html"))
                .and_then(|n| n.rsplit_once("-seed-"))
            else {
                continue;
            };
            let ours = seed
                .parse::<u64>()
                .is_ok_and(|s| seeds.binary_search(&s).is_ok());
            if ours && stems.contains(stem) {
                found.push(self.dir.join(&name));
            }
        }
        found.sort();
        Ok(found)
    }

    /// Write the report of one failing run.
    pub(super) fn write(&self, target: usize, t: &Target, outcome: &Outcome) -> Result<(), String> {
        let page = crate::report::html::render(outcome, &t.scenario, &t.reproduce(outcome.seed));
        let path = self.path(target, outcome.seed);
        crate::atomic_file::write(&path, page.as_bytes())
            .map_err(|e| format!("cannot write the report {}: {e}", path.display()))
    }

    /// Remove the report of a run the sweep no longer keeps. A report that
    /// cannot be removed is only one file too many, so the error is dropped.
    pub(super) fn remove(&self, target: usize, seed: u64) {
        let _ = std::fs::remove_file(self.path(target, seed));
    }
}

/// A scenario name as a file-name stem: letters, digits, `-`, `_` and `.`
/// kept, anything else (a path separator, a space, a control character)
/// replaced by `_`, no leading `.` (a hidden file, or `..`), and cut short.
/// Scenario names are validated already; this does not rely on it.
fn safe_stem(name: &str) -> String {
    let mut stem: String = name
        .chars()
        .take(MAX_STEM_CHARS)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.starts_with('.') {
        stem.replace_range(..1, "_");
    }
    if stem.is_empty() {
        stem.push_str("scenario");
    }
    stem
}

/// One stem per target, in target order: two files may hold scenarios of
/// the same name (in different directories), and the second gets `-2`.
fn unique_stems(targets: &[Target]) -> Vec<String> {
    let mut taken = BTreeSet::new();
    targets
        .iter()
        .map(|t| {
            let base = safe_stem(&t.scenario.name);
            let mut stem = base.clone();
            let mut n = 2;
            while !taken.insert(stem.clone()) {
                stem = format!("{base}-{n}");
                n += 1;
            }
            stem
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_safe_file_names() {
        assert_eq!(safe_stem("golden_path"), "golden_path");
        assert_eq!(safe_stem("../../etc/passwd"), "_._.._etc_passwd");
        assert_eq!(safe_stem(".hidden"), "_hidden");
        assert_eq!(safe_stem("a b\nc/d\\e"), "a_b_c_d_e");
        assert_eq!(safe_stem(""), "scenario");
        assert_eq!(safe_stem(&"x".repeat(1000)).len(), MAX_STEM_CHARS);
    }

    #[test]
    fn targets_sharing_a_name_get_their_own_stems() {
        let tiny = crate::scenario::parse("name = \"a\"\n", Path::new("a.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let target = |name: &str| {
            let mut scenario = tiny.clone();
            scenario.name = name.into();
            Target {
                path: format!("{name}.toml"),
                scenario,
                flags: String::new(),
            }
        };
        let targets = [target("a"), target("a"), target("a-2"), target("b")];
        assert_eq!(unique_stems(&targets), ["a", "a-2", "a-2-2", "b"]);
    }

    #[test]
    fn existing_reports_of_this_sweep_are_found() {
        let tiny = crate::scenario::parse("name = \"a\"\n", Path::new("a.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let target = Target {
            path: "a.toml".into(),
            scenario: tiny,
            flags: String::new(),
        };
        let dir = std::env::temp_dir().join(format!("stagesim-report-dir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let reports = ReportDir::create(&dir, &[target]).expect("a directory");
        for name in [
            "a-seed-3.html",
            "a-seed-9.html",
            "b-seed-3.html",
            "a-seed-3.txt",
            "x-seed-y.html",
        ] {
            std::fs::write(dir.join(name), "").expect("write");
        }
        let found = reports.existing(&[1, 2, 3, 4]).expect("listed");
        assert_eq!(found, [dir.join("a-seed-3.html")]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
