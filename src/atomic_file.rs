//! Writing a file so that nobody ever sees half of it: the bytes go to a
//! temporary file in the same directory, which is then renamed over the
//! target (a rename within one file system replaces the name in one step).
//! A write that fails leaves the target as it was and removes the
//! temporary file.
//!
//! The one way stagesim writes an output file: the command line's outputs
//! (`cli::output`, which decides *whether* a path may be written) and a
//! sweep's HTML reports (`sweep::ReportDir`, written by its workers). It
//! imports nothing from the crate.
//!
//! The file is not `fsync`ed: the rename protects against a stagesim that
//! dies or fails mid-write and against readers, not against a power cut,
//! and a sweep writing a thousand reports should not wait on the disk.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Write `bytes` to `path` atomically (see the module docs). An existing
/// file at `path` is replaced, keeping its permissions; whether it may be
/// is the caller's decision.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = temp_path(path)?;
    let result = write_new(&tmp, path, bytes).and_then(|()| fs::rename(&tmp, path));
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// `DIR/.NAME.tmp-PID-N`: hidden, beside the target (a rename across file
/// systems is not atomic), and unique to this process and this write, so
/// two stagesims, or two threads of one, never share a temporary file.
fn temp_path(path: &Path) -> io::Result<PathBuf> {
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let tmp = format!(".{}.tmp-{}-{n}", name.to_string_lossy(), std::process::id());
    Ok(path.with_file_name(tmp))
}

/// Create `tmp` (never an existing file: `create_new`) with `bytes`, and
/// the permissions of the file it will replace, if any.
fn write_new(tmp: &Path, target: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(tmp)?;
    file.write_all(bytes)?;
    file.flush()?;
    if let Ok(old) = fs::metadata(target) {
        file.set_permissions(old.permissions())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("stagesim-atomic-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    #[test]
    fn writes_and_replaces_leaving_no_temporary_file() {
        let dir = scratch("replace");
        let path = dir.join("out.txt");
        write(&path, b"one").expect("write");
        write(&path, b"two").expect("replace");
        assert_eq!(fs::read(&path).expect("read"), b"two");
        let names: Vec<_> = fs::read_dir(&dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["out.txt"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = scratch("fail");
        let missing = dir.join("no/such/dir/out.txt");
        assert!(write(&missing, b"x").is_err());
        assert!(write(&dir, b"x").is_err(), "a directory is not replaced");
        assert!(dir.is_dir());
        let names: Vec<_> = fs::read_dir(&dir).expect("list").collect();
        assert!(names.is_empty(), "{names:?}");
        let _ = fs::remove_dir_all(&dir);
    }
}
