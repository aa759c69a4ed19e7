//! `stagesim scenarios export DIR [--force]`: the scenarios built into the
//! binary (`scenario::shipped`), written out as files.
//!
//! Built-in table -> files under DIR in `scenarios/`'s layout
//! (`DIR/golden_path.toml`, `DIR/regressions/*.toml`) -> how many on stdout.
//! An installed binary has no checkout beside it; this gives a user files to
//! read, edit and sweep. Existing files are checked for before anything is
//! written, so a refusal leaves DIR exactly as it was.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{UsageError, out};
use crate::scenario::shipped::{SHIPPED, Shipped};
use crate::sweep::shell_word;

#[derive(Subcommand, Debug)]
pub enum ScenariosCommand {
    /// Write every built-in scenario file into DIR, keeping the layout of
    /// scenarios/ (DIR/golden_path.toml, DIR/regressions/*.toml).
    Export(ExportArgs),
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The directory to write into; created if missing.
    pub dir: PathBuf,
    /// Overwrite files that already exist (without it, any existing file
    /// makes the export refuse and write nothing).
    #[arg(long)]
    pub force: bool,
}

/// How many existing files a refusal names before "and N more".
const NAMED: usize = 5;

pub fn execute(command: ScenariosCommand) -> Result<u8, UsageError> {
    match command {
        ScenariosCommand::Export(args) => export(&args),
    }
}

fn export(args: &ExportArgs) -> Result<u8, UsageError> {
    if args.dir.symlink_metadata().is_ok() && !args.dir.is_dir() {
        return Err(UsageError(format!(
            "error: {} exists and is not a directory; `stagesim scenarios export` writes into a directory",
            args.dir.display()
        )));
    }
    let targets: Vec<(PathBuf, &Shipped)> =
        SHIPPED.iter().map(|s| (args.dir.join(s.path), s)).collect();
    // `symlink_metadata`: a dangling link counts as there, since writing
    // through it would create a file somewhere else.
    let existing: Vec<&Path> = targets
        .iter()
        .map(|(path, _)| path.as_path())
        .filter(|path| path.symlink_metadata().is_ok())
        .collect();
    if !existing.is_empty() && !args.force {
        return Err(UsageError(refusal(&args.dir, &existing)));
    }
    for (written, (path, shipped)) in targets.iter().enumerate() {
        write(path, shipped.text).map_err(|why| {
            UsageError(format!(
                "error: cannot write {}: {why} ({written} of {} files written before it)",
                path.display(),
                targets.len()
            ))
        })?;
    }
    let overwritten = match existing.len() {
        0 => String::new(),
        n => format!(", {n} of them overwritten"),
    };
    out(&format!(
        "wrote {} scenario files to {}{overwritten}\nrun one: stagesim run {}\n",
        targets.len(),
        args.dir.display(),
        shell_word(&args.dir.join("golden_path.toml").display().to_string())
    ));
    Ok(0)
}

/// One file, creating the directories above it; atomically, so that an
/// export that fails half way leaves each file whole, old or new.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    crate::atomic_file::write(path, text.as_bytes())
}

/// Why nothing was written: the files that are in the way, and the choices.
fn refusal(dir: &Path, existing: &[&Path]) -> String {
    let mut named: Vec<String> = existing
        .iter()
        .take(NAMED)
        .map(|p| p.display().to_string())
        .collect();
    if existing.len() > NAMED {
        named.push(format!("and {} more", existing.len() - NAMED));
    }
    format!(
        "error: {} of the {} scenario files already exist under {}: {}\n\
         Nothing was written. Pass --force to overwrite them, or export to another directory.",
        existing.len(),
        SHIPPED.len(),
        dir.display(),
        named.join(", ")
    )
}
