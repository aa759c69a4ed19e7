//! The command line against a hostile user: a closed pipe or descriptor
//! gets the run's own exit code, never a panic.
//!
//! Runs the built binary. The runs that simulate use the tiny fixtures
//! under `tests/fixtures/` and state their seeds.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};

/// One user, one message; passes on every seed.
const TINY: &str = "tests/fixtures/cli/tiny.toml";
/// Fails on every seed.
const FAILING: &str = "tests/fixtures/sweep/unexpected_1011.toml";

/// Run the binary with stdout and stderr sent to pipes whose readers are
/// already closed: every write fails with a broken pipe.
fn with_closed_pipes(args: &[&str], stdout_closed: bool) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagesim"));
    command.args(args).current_dir(support::path(""));
    let out = if stdout_closed {
        command.stdout(writer).stderr(Stdio::piped()).output()
    } else {
        command.stderr(writer).stdout(Stdio::piped()).output()
    }
    .expect("run stagesim");
    let readable = if stdout_closed {
        out.stderr
    } else {
        out.stdout
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&readable).into_owned(),
    )
}

#[test]
fn a_closed_stderr_is_no_reason_to_panic() {
    // Seeds 1-2 of a failing scenario: progress lines go to stderr.
    for (args, code) in [
        (vec!["run", TINY, "--seed", "-1"], 2),
        (vec!["sweep", FAILING, "--seeds", "2", "--jobs", "2"], 1),
        (vec!["sweep", "no/such/file.toml"], 2),
        (vec!["list", "tests/fixtures/scenarios/invalid"], 2),
        (vec![], 0), // the golden path, seed 1, announced on stderr
    ] {
        let (got, stdout) = with_closed_pipes(&args, false);
        assert_eq!(got, code, "{args:?} with stderr closed:\n{stdout}");
    }
    let (_, stdout) = with_closed_pipes(&["sweep", FAILING, "--seeds", "2"], false);
    assert!(stdout.contains("failing seeds:"), "{stdout}");
}

#[test]
fn a_closed_stdout_is_no_reason_to_panic() {
    for (args, code) in [
        (vec!["run", TINY, "--seed", "1"], 0),
        (vec!["run", "--help"], 0),
        (vec!["list"], 0),
        (vec!["sweep", FAILING, "--seeds", "2", "--json"], 1),
    ] {
        let (got, stderr) = with_closed_pipes(&args, true);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(got, code, "{args:?} with stdout closed:\n{stderr}");
    }
}

#[test]
fn closed_descriptors_are_no_reason_to_panic() {
    // The shell closes the descriptor itself (`2>&-`, `>&-`): writes fail
    // with EBADF rather than a broken pipe. Seed 1.
    for (redirect, code) in [("2>&-", 2), (">&-", 0)] {
        let args = if code == 2 {
            format!("run {TINY} --seed -1")
        } else {
            format!("run {TINY} --seed 1")
        };
        let script = format!("\"$0\" {args} {redirect}");
        let out = Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_stagesim")])
            .current_dir(support::path(""))
            .output()
            .expect("run sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{script}: {stderr}");
        assert_eq!(out.status.code(), Some(code), "{script}: {stderr}");
    }
}
