//! Flag values at their edges (issue 21): secrets, token users and
//! lifetimes, `serve --for`, `--target` URLs, the last explore run number,
//! and a token that cannot be written out. Each is refused with exit 2 and
//! a message, before anything runs, or works at the edge it names.
//!
//! Part of the `cli` test binary (`tests/cli.rs`). Every run states its
//! seed; each failure prints the command line that reproduces it.

use std::process::{Command, Stdio};
use std::time::Duration;

use super::support::{self, Scratch};
use super::{TINY, TinyScenario, stagesim_within};

/// Run the binary with `STAGESIM_SECRET` unset, then `env` set: exit
/// code, stdout, stderr, and the command line for failure messages.
fn stagesim_env(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagesim"));
    command
        .args(args)
        .current_dir(support::path(""))
        .env_remove("STAGESIM_SECRET");
    let vars: Vec<String> = env.iter().map(|(k, v)| format!("{k}={v:?} ")).collect();
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command.output().expect("run stagesim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        format!("{}stagesim {}", vars.concat(), args.join(" ")),
    )
}

/// Exit 2 with each of `words` on stderr, nothing on stdout, no panic.
#[track_caller]
fn refused(args: &[&str], env: &[(&str, &str)], words: &[&str]) {
    let (code, stdout, stderr, again) = stagesim_env(args, env);
    assert_eq!(code, 2, "{again}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.is_empty(), "{again}: printed {stdout}");
    assert!(!stderr.contains("panicked"), "{again}: {stderr}");
    for w in words {
        assert!(stderr.contains(w), "{again}: stderr lacks {w:?}:\n{stderr}");
    }
}

#[test]
fn an_empty_secret_is_refused_by_every_command_that_signs() {
    let empty = [("STAGESIM_SECRET", "")];
    for args in [
        vec!["token"],
        vec!["serve", "--listen", "127.0.0.1:0", "--for", "1s"],
        vec!["live", TINY, "--seed", "1"],
        vec!["record", "--target", "ws://127.0.0.1:9/ws", "--for", "1s"],
    ] {
        refused(&args, &empty, &["the token secret is empty"]);
        let mut flag = args.clone();
        flag.extend(["--secret", ""]);
        refused(&flag, &[], &["the token secret is empty"]);
    }
}

#[test]
fn serve_off_loopback_needs_a_secret_of_its_own() {
    let public = stagesim::tokens::DEFAULT_SECRET;
    for listen in ["0.0.0.0:0", "[::]:0"] {
        let args = ["serve", "--listen", listen, "--for", "1s"];
        refused(
            &args,
            &[],
            &["is reachable from other machines", "--secret"],
        );
        refused(
            &[&args[..], &["--secret", public][..]].concat(),
            &[],
            &["public"],
        );
    }
    // Loopback with the built-in secret is fine: serve for 100 ms.
    let args = ["serve", "--listen", "127.0.0.1:0", "--for", "100ms"];
    let (code, stdout, stderr, again) = stagesim_env(&args, &[]);
    assert_eq!(code, 0, "{again}\n{stdout}\n{stderr}");
    assert!(
        stdout.contains("serving ws://127.0.0.1:"),
        "{again}\n{stdout}"
    );
}

#[test]
fn a_short_secret_gets_one_warning_line() {
    let (code, stdout, stderr, again) = stagesim_env(&["token", "--secret", "short"], &[]);
    assert_eq!(code, 0, "{again}\n{stderr}");
    assert_eq!(stdout.matches('.').count(), 2, "{again}: a JWT\n{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{again}\n{stderr}");
    assert!(
        stderr.starts_with("warning: the token secret is 5 bytes"),
        "{stderr}"
    );
    let long = "k".repeat(32);
    let (code, _, stderr, again) = stagesim_env(&["token"], &[("STAGESIM_SECRET", &long)]);
    assert_eq!((code, stderr.as_str()), (0, ""), "{again}");
}

#[test]
fn token_users_and_lifetimes_are_what_auth_accepts() {
    let long = "u".repeat(129);
    for user in ["", "a b", "tab\tin", long.as_str(), "é"] {
        refused(
            &["token", "--user", user],
            &[],
            &["`--user` takes 1 to 128"],
        );
    }
    for lifetime in ["0s", "500ms", "8761h", "1y"] {
        refused(&["token", "--lifetime", lifetime], &[], &["`--lifetime`"]);
    }
    for lifetime in ["1s", "8760h"] {
        let args = ["token", "--lifetime", lifetime, "--user", &long[..128]];
        let (code, _, stderr, again) = stagesim_env(&args, &[]);
        assert_eq!(code, 0, "{again}\n{stderr}");
    }
}

#[test]
fn token_lifetime_takes_a_year_as_documented() {
    let scratch = Scratch::new("lifetime");
    let path = scratch.scenario("year.toml", "year");
    let text = std::fs::read_to_string(&path).expect("read");
    let year = text.replace("count = 1\n", "count = 1\ntoken_lifetime = \"8760h\"\n");
    std::fs::write(&path, &year).expect("write");
    let file = path.to_str().expect("UTF-8");
    // Seed 1: the tiny scenario with a year-long token passes.
    let (code, stdout, stderr, again) = stagesim_env(&["run", file, "--seed", "1"], &[]);
    assert_eq!(code, 0, "{again}\n{stdout}\n{stderr}");
    std::fs::write(&path, year.replace("8760h", "8761h")).expect("write");
    refused(
        &["run", file, "--seed", "1"],
        &[],
        &["token_lifetime", "8760h"],
    );
}

#[test]
fn durations_of_nothing_are_refused() {
    refused(
        &["serve", "--for", "0s"],
        &[],
        &["`--for` takes a duration from 1ms"],
    );
    refused(
        &["record", "--target", "ws://127.0.0.1:9/ws", "--for", "0s"],
        &[],
        &["`--for` takes a duration from 1ms"],
    );
    refused(
        &["token", "--lifetime", "0s"],
        &[],
        &["`--lifetime` takes a duration from 1s"],
    );
}

#[test]
fn targets_need_a_port_and_a_uri_path() {
    for (url, why) in [
        ("ws://127.0.0.1:0/", "port 0"),
        ("ws://127.0.0.1:0", "port 0"),
        ("ws://127.0.0.1:9/a b", "is not a URI path"),
        ("ws://127.0.0.1:9/{x}", "must be percent-encoded"),
        ("ws://127.0.0.1:9/%zz", "is not a URI path"),
        ("ws://127.0.0.1:9/ws#frag", "fragment"),
    ] {
        refused(
            &["live", TINY, "--seed", "1", "--target", url],
            &[],
            &["--target", why],
        );
    }
}

#[test]
fn explore_from_the_last_run_number_stops_there() {
    let last = "18446744073709551615";
    refused(
        &["explore", "--start", last, "--runs", "2"],
        &[],
        &[
            "runs past the last run number",
            "use --start 18446744073709551614",
        ],
    );
    // Run 18446744073709551615 alone, then the budget finds no next run.
    let scratch = Scratch::new("explore-last");
    let out = scratch.file("found");
    let args = [
        "explore", "--start", last, "--budget", "2s", "--json", "--out", &out,
    ];
    let (code, stdout, stderr) = stagesim_within(&args, Duration::from_secs(600));
    let again = format!("stagesim {}", args.join(" "));
    assert!(code == 0 || code == 1, "{again}\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("run 18446744073709551615 is the last"),
        "{again}\n{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["runs"], 1, "{again}: wrapped around?\n{stdout}");
}

#[cfg(target_os = "linux")]
#[test]
fn a_token_that_cannot_be_written_is_an_error() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        crate::support::skipped("no /dev/full");
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .arg("token")
        .env_remove("STAGESIM_SECRET")
        .stdout(Stdio::from(full))
        .output()
        .expect("run stagesim token");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stagesim token > /dev/full\n{stderr}"
    );
    assert!(stderr.contains("cannot write the token"), "{stderr}");
}
