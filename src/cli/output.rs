//! Every file a command writes, checked before any work and written
//! atomically: `run`'s and `live`'s `--trace`, `--report` and
//! `--chrome-trace`, `shrink --out`, the files of `explore --out DIR`, and
//! `sweep --junit` (a sweep's `--report-dir` is checked here too; its
//! workers write the reports through `crate::atomic_file`).
//!
//! Arguments -> [`OutputFile::check`] / [`check_dir`] (before any run) ->
//! the work -> [`OutputFile::write`] -> `crate::atomic_file`.
//!
//! The rules, so that no file is clobbered by surprise:
//! - a path that cannot be written is refused before any run (exit 2), so an
//!   hour of work is never lost to a typo at the end;
//! - an existing file that loads as a scenario is never overwritten, not
//!   even with `--force`: it is the input of some run (`shrink X.toml --out
//!   X.toml`, `run --trace golden_path.toml`), and a trace in its place
//!   would destroy it;
//! - any other existing file is overwritten only with `--force` (`-f`), and
//!   a line on stderr says so;
//! - a device or a descriptor (`/dev/null`, `/dev/stdout`) is written in
//!   place: there is nothing there to clobber, and renaming over it would
//!   replace the device itself.

use std::path::{Path, PathBuf};

use super::{UsageError, err};

/// How an output is written, decided when it is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum How {
    /// Nothing is there yet: a new file.
    Create,
    /// A file is there and `--force` was given: replaced, and said so.
    Replace,
    /// A device, a pipe or a descriptor: written in place.
    InPlace,
}

/// A file a command will write, checked before the work.
#[derive(Debug, Clone)]
pub struct OutputFile {
    /// As the user gave it, for messages.
    shown: PathBuf,
    /// Where the bytes go: the path, or the file a symlink points to (a
    /// link replaced by a file would be a surprise too).
    target: PathBuf,
    /// What the file holds (`trace`, `report`), for messages.
    what: &'static str,
    how: How,
}

impl OutputFile {
    /// Check that `path` can take the `what` a command will write there,
    /// by the rules of the module docs; exit 2 with the reason if not.
    pub fn check(path: &Path, what: &'static str, force: bool) -> Result<Self, UsageError> {
        let refuse = |why: String| {
            UsageError(format!(
                "error: cannot write the {what} to {}: {why}",
                path.display()
            ))
        };
        if path.file_name().is_none() {
            return Err(refuse("it names no file".into()));
        }
        let file = |target: PathBuf, how| OutputFile {
            shown: path.to_path_buf(),
            target,
            what,
            how,
        };
        if is_device(path) {
            // Only what is there: nothing new is made under /dev or /proc.
            return match std::fs::metadata(path) {
                Ok(meta) if meta.is_dir() => {
                    Err(refuse("it is a directory; give a file name".into()))
                }
                Ok(_) => Ok(file(path.to_path_buf(), How::InPlace)),
                Err(e) => Err(refuse(e.to_string())),
            };
        }
        let Ok(link) = path.symlink_metadata() else {
            probe_dir(&parent(path)).map_err(refuse)?;
            return Ok(file(path.to_path_buf(), How::Create));
        };
        let meta = std::fs::metadata(path)
            .map_err(|e| refuse(format!("it is a symbolic link to nothing ({e})")))?;
        if meta.is_dir() {
            return Err(refuse("it is a directory; give a file name".into()));
        }
        let target = if link.is_symlink() {
            std::fs::canonicalize(path).map_err(|e| refuse(e.to_string()))?
        } else {
            path.to_path_buf()
        };
        if !meta.is_file() || is_device(&target) {
            return Ok(file(target, How::InPlace));
        }
        existing_file(&target, force).map_err(refuse)?;
        probe_dir(&parent(&target)).map_err(refuse)?;
        Ok(file(target, How::Replace))
    }

    /// A new file in `dir` (already checked with [`check_dir`]) named
    /// `STEM.EXT`, or `STEM_2.EXT`, `STEM_3.EXT`... when that is taken:
    /// `explore` writes into a directory that may hold earlier findings,
    /// and overwrites none of them.
    pub fn fresh(dir: &Path, stem: &str, ext: &str, what: &'static str) -> Self {
        let mut path = dir.join(format!("{stem}.{ext}"));
        let mut n = 2;
        while path.symlink_metadata().is_ok() {
            path = dir.join(format!("{stem}_{n}.{ext}"));
            n += 1;
        }
        OutputFile {
            shown: path.clone(),
            target: path,
            what,
            how: How::Create,
        }
    }

    /// The path as the user gave it.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Write `bytes` (atomically, unless in place); exit 2 naming the file
    /// if that fails.
    pub fn write(&self, bytes: &[u8]) -> Result<(), UsageError> {
        let failed = |e: std::io::Error| {
            UsageError(format!(
                "error: cannot write the {} to {}: {e}",
                self.what,
                self.shown.display()
            ))
        };
        match self.how {
            How::InPlace => return std::fs::write(&self.target, bytes).map_err(failed),
            // Created since the check, by someone else: theirs now.
            How::Create if self.target.symlink_metadata().is_ok() => {
                return Err(failed(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file appeared there while stagesim was running; it was left as it is",
                )));
            }
            How::Create | How::Replace => {}
        }
        crate::atomic_file::write(&self.target, bytes).map_err(failed)?;
        if self.how == How::Replace {
            err(&format!(
                "overwrote {} with the {} (--force)\n",
                self.shown.display(),
                self.what
            ));
        }
        Ok(())
    }
}

/// Refuse two outputs of one command that name the same file: the second
/// would silently replace the first.
pub fn distinct(files: &[&OutputFile]) -> Result<(), UsageError> {
    for (i, a) in files.iter().enumerate() {
        if let Some(b) = files[..i].iter().find(|b| b.target == a.target) {
            return Err(UsageError(format!(
                "error: the {} and the {} would both be written to {}; give each its own file",
                b.what,
                a.what,
                a.shown.display()
            )));
        }
    }
    Ok(())
}

/// A directory files will be written into (`explore --out DIR`): created
/// if missing, then proved writable as in [`probe_dir`].
pub fn check_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    probe_dir(dir)
}

/// Prove `dir` writable by creating (and removing) a file in it, as the
/// atomic write will. An output file's directory is not created: a typo in
/// it is refused rather than made into a new tree.
fn probe_dir(dir: &Path) -> Result<(), String> {
    let refused = |e: std::io::Error| format!("cannot write into {}: {e}", dir.display());
    let probe = dir.join(format!(".stagesim-write-check-{}", std::process::id()));
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .map_err(refused)?;
    std::fs::remove_file(&probe).map_err(refused)
}

/// Whether an existing regular file may be replaced: never a scenario,
/// anything else only with `--force`.
pub fn existing_file(path: &Path, force: bool) -> Result<(), String> {
    if crate::scenario::load(path).is_ok() {
        return Err(
            "it exists and is a scenario file, which stagesim never overwrites, not even \
             with --force (it may be the input of this very run); write elsewhere"
                .into(),
        );
    }
    if !force {
        return Err("it exists; pass --force (-f) to overwrite it, or write elsewhere".into());
    }
    Ok(())
}

/// The directory a file goes into (`.` for a bare name).
fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Under `/dev` or `/proc`: a device or a process's descriptor
/// (`/dev/stdout` is `/proc/self/fd/1`), written in place even when it
/// resolves to a regular file (`--trace /dev/stdout > out.txt` must write
/// into the shell's file, not rename a new one over it).
fn is_device(path: &Path) -> bool {
    path.starts_with("/dev") || path.starts_with("/proc")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stagesim-output-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn an_existing_file_needs_force_and_a_scenario_is_never_replaced() {
        let dir = scratch("rules");
        let other = dir.join("notes.txt");
        std::fs::write(&other, "mine").expect("write");
        let refused = OutputFile::check(&other, "trace", false).expect_err("refused");
        assert!(refused.0.contains("--force"), "{}", refused.0);
        OutputFile::check(&other, "trace", true)
            .expect("forced")
            .write(b"trace")
            .expect("written");
        assert_eq!(std::fs::read_to_string(&other).expect("read"), "trace");

        let scenario = dir.join("s.toml");
        std::fs::write(&scenario, "name = \"s\"\n").expect("write");
        for force in [false, true] {
            let refused = OutputFile::check(&scenario, "trace", force).expect_err("refused");
            assert!(refused.0.contains("is a scenario file"), "{}", refused.0);
        }
        assert_eq!(
            std::fs::read_to_string(&scenario).expect("read"),
            "name = \"s\"\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn fresh_names_skip_taken_ones() {
        let dir = scratch("fresh");
        std::fs::write(dir.join("x.toml"), "").expect("write");
        std::fs::write(dir.join("x_2.toml"), "").expect("write");
        let f = OutputFile::fresh(&dir, "x", "toml", "scenario");
        assert_eq!(f.path(), dir.join("x_3.toml"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn unwritable_places_are_refused() {
        for path in ["/proc/nope/x.txt", "/", ""] {
            assert!(
                OutputFile::check(Path::new(path), "trace", true).is_err(),
                "{path}"
            );
        }
        assert!(check_dir(Path::new("/proc/nope")).is_err());
        let null = OutputFile::check(Path::new("/dev/null"), "trace", false).expect("a device");
        null.write(b"x").expect("written in place");
    }
}
