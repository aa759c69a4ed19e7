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
