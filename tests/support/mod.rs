//! Shared by the simulation test binaries: load a scenario, run it with a
//! stated seed, and say how to reproduce any failure.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stagesim::run::Outcome;
use stagesim::scenario::{self, Scenario};
use stagesim::trace::{ConnEvent, ConnId, Event, GatewayEvent, Kind};

/// A path relative to the crate root.
pub fn path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

pub fn load(rel: &str) -> Scenario {
    scenario::load(&path(rel)).unwrap_or_else(|e| panic!("{}", e.render()))
}

/// The command that replays `rel` with `seed`.
pub fn reproduce(rel: &str, seed: u64) -> String {
    format!("cargo run --release -- run {rel} --seed {seed}")
}

/// Run `rel` with `seed`.
pub fn run(rel: &str, seed: u64) -> Outcome {
    stagesim::run::run(&load(rel), seed)
}

/// Run the `stagesim` binary from the crate root: exit code, stdout, stderr.
pub fn stagesim(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(args)
        .current_dir(path(""))
        .output()
        .expect("run the stagesim binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A scratch directory under the system's temp dir, removed when dropped
/// (symlinks are removed as links, not followed).
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("stagesim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a scratch dir");
        Scratch(dir)
    }

    /// The path of `name` inside, as a string (for command lines).
    pub fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Every scenario file under `scenarios/`, as crate-relative paths.
pub fn scenario_files() -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![path("scenarios")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("scenarios/ is readable") {
            let p = entry.expect("dir entry").path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "toml") {
                let rel = p
                    .strip_prefix(path(""))
                    .expect("under the crate")
                    .to_string_lossy()
                    .into_owned();
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// Fail with the violations and the reproduce line unless the run passed.
#[track_caller]
pub fn assert_pass(outcome: &Outcome, rel: &str) {
    assert!(
        outcome.violations.is_empty(),
        "{rel} seed {} has violations:\n{}\nreproduce: {}",
        outcome.seed,
        outcome
            .violations
            .iter()
            .map(|v| format!("  {} at {:?} {:?}: {}", v.invariant, v.at, v.user, v.detail))
            .collect::<Vec<_>>()
            .join("\n"),
        reproduce(rel, outcome.seed)
    );
}

/// Each gateway connection's events, in order, by connection.
pub fn gateway_conns(outcome: &Outcome) -> BTreeMap<ConnId, Vec<(&Event, &ConnEvent)>> {
    let mut conns: BTreeMap<ConnId, Vec<(&Event, &ConnEvent)>> = BTreeMap::new();
    for e in &outcome.trace.events {
        if let Kind::Gateway(GatewayEvent::Conn { conn, event }) = &e.kind {
            conns.entry(*conn).or_default().push((e, event));
        }
    }
    conns
}

/// A server in a child process (`stagesim serve`, or the Python reference
/// backend), killed when dropped; it also stops by itself after a while, so
/// a test that dies cannot leave it behind for long.
pub struct Served {
    pub child: std::process::Child,
    /// What the server printed first: its address.
    pub first_line: String,
}

impl Served {
    pub fn spawn(mut command: std::process::Command) -> Self {
        use std::io::BufRead;
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the server");
        let mut first_line = String::new();
        let stdout = child.stdout.take().expect("piped stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("the server prints its address");
        Served { child, first_line }
    }

    /// `stagesim serve` on a free port, signing with `secret`.
    pub fn start(secret: &str) -> Self {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--for", "120s"])
            .env("STAGESIM_SECRET", secret);
        Self::spawn(command)
    }

    /// The ws:// URL the server printed.
    pub fn url(&self) -> String {
        self.first_line
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no ws:// URL in {:?}", self.first_line))
            .to_string()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn token_from_cli(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .arg("token")
        .args(args)
        .output()
        .expect("run stagesim token");
    assert!(out.status.success(), "stagesim token {args:?} failed");
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

/// A valid and a forged (bad signature) token for `user`, from the CLI,
/// signed as a `stagesim serve` with `secret` checks them.
pub fn token_pair(user: &str, secret: &str) -> (String, String) {
    let valid = token_from_cli(&["--user", user, "--secret", secret]);
    let forged = token_from_cli(&[
        "--user",
        user,
        "--kind",
        "bad_signature",
        "--secret",
        secret,
    ]);
    (valid, forged)
}

/// Check what an outside client reported about one chat (`events`,
/// `user_ids`, `subprotocol`, `close`): admitted first, then exactly one run
/// with each of the five agent events, all for `user`, `jwt-auth` echoed if it was offered,
/// and a 1000 close.
pub fn assert_one_clean_chat(seen: &serde_json::Value, user: &str, offered_subprotocol: bool) {
    const AGENT_EVENTS: [&str; 5] = [
        "agent_started",
        "agent_thinking",
        "tool_executing",
        "tool_completed",
        "agent_completed",
    ];
    let events: Vec<&str> = seen["events"]
        .as_array()
        .unwrap_or_else(|| panic!("no events: {seen}"))
        .iter()
        .map(|e| e.as_str().unwrap_or("<not a string>"))
        .collect();
    assert_eq!(events.first(), Some(&"connection_established"), "{seen}");
    assert_eq!(events.get(1), Some(&"agent_started"), "{seen}");
    assert_eq!(events.last(), Some(&"agent_completed"), "{seen}");
    assert!(
        events[1..].iter().all(|e| AGENT_EVENTS.contains(e)),
        "{seen}"
    );
    // The default scenario runs 1-3 tool calls per run, so all five appear.
    assert!(
        AGENT_EVENTS.iter().all(|kind| events.contains(kind)),
        "{seen}"
    );
    let ids = seen["user_ids"]
        .as_array()
        .unwrap_or_else(|| panic!("no user ids: {seen}"));
    assert!(ids.iter().all(|u| u == user), "{seen}");
    let echoed = if offered_subprotocol {
        serde_json::json!("jwt-auth")
    } else {
        serde_json::Value::Null
    };
    assert_eq!(seen["subprotocol"], echoed, "{seen}");
    assert_eq!(seen["close"], 1000, "{seen}");
}

/// Whether the tests run under CI (`CI` set and not false), where a test
/// that needs an installed tool fails without it instead of skipping.
/// Say that a test is skipped, visibly: `SKIPPED: why` goes straight to
/// the process's stderr (`eprintln!` would be captured and hidden for a
/// passing test), and a line joins `target/tmp/skipped.txt`, which
/// `scripts/test` (and so `.ci/run`) counts and lists at the end.
pub fn skipped(why: &str) {
    use std::io::Write as _;
    let binary = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let binary = binary.split('-').next().unwrap_or("").to_string();
    let _ = writeln!(std::io::stderr().lock(), "SKIPPED ({binary}): {why}");
    let list = Path::new(env!("CARGO_TARGET_TMPDIR")).join("skipped.txt");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(list)
    {
        let _ = writeln!(f, "{binary}: {why}");
    }
}

pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}
