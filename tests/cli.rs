//! The command line against a hostile user: every mistake a user can make
//! with a flag, the environment or a closed pipe gets a message and
//! exit 2 (or the run's own exit code), never a panic, a hang or an abort.
//!
//! Runs the built binary. The runs that simulate use the tiny fixtures
//! under `tests/fixtures/` and state their seeds.

#[path = "support/mod.rs"]
mod support;

use std::process::{Command, Stdio};

use stagesim::scenario::Bugs;
use support::stagesim;

/// One user, one message; passes on every seed.
const TINY: &str = "tests/fixtures/cli/tiny.toml";
/// Fails on every seed.
const FAILING: &str = "tests/fixtures/sweep/unexpected_1011.toml";

/// Exit 2 with `words` in stderr and no panic.
#[track_caller]
fn assert_usage_error(args: &[&str], words: &[&str]) {
    let (code, stdout, stderr) = stagesim(args);
    assert_eq!(code, 2, "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for w in words {
        assert!(
            stderr.contains(w),
            "{args:?}: stderr lacks {w:?}:\n{stderr}"
        );
    }
}

#[test]
fn seeds_must_be_between_1_and_a_million() {
    for n in [
        "0",
        "1000001",
        "100000000000",
        "18446744073709551615",
        "-5",
        "x",
    ] {
        let message = format!("`--seeds` takes a whole number from 1 to 1000000; got `{n}`");
        assert_usage_error(&["sweep", TINY, "--seeds", n], &[&message]);
    }
    // Zero seeds of a regression scenario would pass while proving nothing.
    assert_usage_error(
        &[
            "sweep",
            "scenarios/regressions/unknown_type_crash.toml",
            "--seeds",
            "0",
        ],
        &["from 1 to 1000000"],
    );
}

#[test]
fn the_seed_range_must_not_run_past_the_largest_seed() {
    for args in [
        vec!["sweep", TINY, "--start", "18446744073709551615"],
        vec![
            "sweep",
            TINY,
            "--start",
            "18446744073709551610",
            "--seeds",
            "7",
        ],
    ] {
        assert_usage_error(
            &args,
            &[
                "runs past the largest seed",
                "must be at most 18446744073709551615",
            ],
        );
    }
    assert_usage_error(
        &["sweep", TINY, "--start", "-1"],
        &["`--start` takes a whole number from 0 to 18446744073709551615; got `-1`"],
    );
    // The last seed itself is fine: seed 18446744073709551615, one run.
    let (code, stdout, stderr) = stagesim(&[
        "sweep",
        TINY,
        "--start",
        "18446744073709551615",
        "--seeds",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["runs"], 1);
    assert!(
        stderr.contains("seeds 18446744073709551615..=18446744073709551615"),
        "{stderr}"
    );
}

#[test]
fn jobs_and_shards_out_of_range() {
    for n in ["0", "-1", "257", "100000000000"] {
        let message = format!("`--jobs` takes a whole number from 1 to 256; got `{n}`");
        assert_usage_error(&["sweep", TINY, "--jobs", n], &[&message]);
    }
    for s in [
        "0/0",
        "5/3",
        "1/0",
        "-1/2",
        "2",
        "a/b",
        "1/18446744073709551616",
    ] {
        let message =
            format!("`--shard` takes I/N, shard I of N with 1 <= I <= N (like 2/4); got `{s}`");
        assert_usage_error(&["sweep", TINY, "--shard", s], &[&message]);
    }
    // More shards than seeds would leave shards empty, and an empty shard passes.
    assert_usage_error(
        &["sweep", TINY, "--seeds", "3", "--shard", "4/4"],
        &[
            "`--shard 4/4` splits 3 seed(s) into 4 shards",
            "at most 3 shard(s)",
        ],
    );
}

#[test]
fn the_largest_sweep_is_accepted_and_sharded_without_allocating_it() {
    // Seed 1000000 only: the last shard of a million seeds, one run.
    let (code, stdout, stderr) = stagesim(&[
        "sweep",
        TINY,
        "--seeds",
        "1000000",
        "--shard",
        "1000000/1000000",
        "--jobs",
        "256",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("seeds 1000000..=1000000"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(
        (doc["runs"].as_u64(), doc["jobs"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_negative_seed_says_what_a_seed_is() {
    let message = "`--seed` takes a whole number from 0 to 18446744073709551615; got `-1`";
    for args in [
        vec!["run", TINY, "--seed", "-1"],
        vec!["run", TINY, "--seed=-1"],
        vec!["run", "--seed", "-1", TINY],
    ] {
        assert_usage_error(&args, &[message]);
        let (_, _, stderr) = stagesim(&args);
        assert!(!stderr.contains("tip:"), "{stderr}");
    }
    assert_usage_error(
        &["run", TINY, "--seed", "18446744073709551616"],
        &["got `18446744073709551616`"],
    );
}

#[test]
fn a_bad_seed_environment_variable_is_blamed_on_seed() {
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(["run", TINY])
        .env("SEED", "-1")
        .current_dir(support::path(""))
        .output()
        .expect("run stagesim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`SEED` takes a whole number from 0 to 18446744073709551615; got `-1`"),
        "{stderr}"
    );
    // A good SEED is used: seed 7.
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(["run", TINY])
        .env("SEED", "7")
        .current_dir(support::path(""))
        .output()
        .expect("run stagesim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("stagesim run {TINY} --seed 7")),
        "{stdout}"
    );
}

#[test]
fn run_on_a_directory_suggests_sweep() {
    assert_usage_error(
        &["run", "scenarios"],
        &[
            "scenarios is a directory",
            "stagesim sweep scenarios",
            "stagesim list scenarios",
        ],
    );
}

#[test]
fn help_lists_every_bug_with_what_it_does() {
    for command in ["run", "sweep"] {
        let (code, stdout, stderr) = stagesim(&[command, "--help"]);
        assert_eq!(code, 0, "{stderr}");
        for (name, about) in Bugs::CATALOG {
            assert!(
                stdout.contains(&format!("{name}\n")) && stdout.contains(about),
                "`stagesim {command} --help` lacks {name}: {about}\n{stdout}"
            );
        }
    }
}

#[test]
fn an_unknown_bug_lists_the_known_ones_before_reading_any_file() {
    for command in ["run", "sweep"] {
        for target in [TINY, "no/such/file.toml"] {
            let mut words = vec!["`--bug` takes the name of a known bug; got `nope`"];
            words.extend(Bugs::NAMES);
            assert_usage_error(&[command, target, "--bug", "nope"], &words);
        }
    }
    assert_usage_error(
        &["run", TINY, "--bug", "no_auth_retry=maybe"],
        &["`--bug` takes NAME, NAME=on or NAME=off; got `maybe`"],
    );
}

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
