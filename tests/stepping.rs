//! Event-driven time changes how the simulation advances, never what it
//! judges: fast-forwarding (the default) and stepping every tick (turmoil's
//! own behaviour, vendor/README.md) must give the same verdict, with the same
//! kinds of violation, on every shipped scenario and on generated ones.
//!
//! The traces need not be the same bytes: tokio reseeds a runtime's RNG each
//! time it is entered, and fast-forwarding enters runtimes less often, so a
//! `select!` with two ready branches may pick the other one.
//!
//! Cases: [`CASES_VALID`] + [`CASES_MIXED`] generated scenarios by default
//! (`PROPTEST_CASES` overrides both), each run twice. Stepping every tick
//! costs a tick per millisecond of simulated time, and the envelope now
//! draws users who think for a minute, so the per-commit sample is small;
//! the long form is `PROPTEST_CASES=256 cargo test --release --test stepping`.

mod support;
#[allow(dead_code)]
mod support_props;

use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use stagesim::run::{Outcome, Stepping, run_stepping};
use stagesim::scenario::{self, Scenario};
use stagesim::trace::{FaultEvent, Kind};
use support_props::{Case, Shape, config_in, mixed_case, valid_case};

/// Generated scenarios from the valid envelope.
const CASES_VALID: u32 = 32;
/// Generated scenarios mixing valid and invalid users.
const CASES_MIXED: u32 = 24;
/// Where proptest records failing cases of this file.
const REGRESSIONS: &str = "proptest-regressions/stepping.txt";
/// Seeds per shipped scenario.
const SEEDS: u64 = 3;

/// What both ways of stepping must agree on: the verdict and each
/// violation's invariant and cause, in order.
fn judgement(o: &Outcome) -> (String, Vec<String>) {
    let mut kinds: Vec<String> = o
        .violations
        .iter()
        .map(|v| format!("{}/{}", v.invariant.as_str(), v.cause.as_str()))
        .collect();
    kinds.sort();
    kinds.dedup();
    (o.verdict.to_string(), kinds)
}

/// `Err` with both judgements and both replay commands when they differ.
fn same_judgement(scenario: &Scenario, seed: u64, file: &str) -> Result<(), String> {
    let fast = run_stepping(scenario, seed, Stepping::FastForward);
    let every = run_stepping(scenario, seed, Stepping::EveryTick);
    let (a, b) = (judgement(&fast), judgement(&every));
    if a == b {
        return Ok(());
    }
    Err(format!(
        "{file} seed {seed}: fast-forward judged {a:?}, every tick {b:?}\n\
         reproduce: cargo run --release -- run {file} --seed {seed}\n\
         reproduce: cargo run --release -- run {file} --seed {seed} --step every-tick"
    ))
}

#[test]
fn every_shipped_scenario_is_judged_the_same_either_way() {
    let mut failures = Vec::new();
    for file in support::scenario_files() {
        let scenario = support::load(&file);
        for seed in 1..=SEEDS {
            if let Err(e) = same_judgement(&scenario, seed, &file) {
                failures.push(e);
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The times at which the fault driver acted, rendered: scheduled faults
/// must land on the same tick whichever way time advances.
fn fault_times(o: &Outcome) -> Vec<String> {
    o.trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, Kind::Fault(f) if !matches!(f, FaultEvent::Restarted { .. })))
        .map(stagesim::trace::render_event)
        .collect()
}

#[test]
fn faults_in_idle_time_are_applied_on_their_tick_either_way() {
    let file = "tests/fixtures/worlds/fault_in_idle_time.toml";
    let scenario = support::load(file);
    let seed = 1;
    let fast = run_stepping(&scenario, seed, Stepping::FastForward);
    let every = run_stepping(&scenario, seed, Stepping::EveryTick);
    let replay = format!(
        "reproduce: {} (add --step every-tick)",
        support::reproduce(file, seed)
    );
    // The first 5 ms tick at or after each fault's time, with its fault id.
    let expected = [
        ("7.305s", "fault #1 partition"),
        ("8.805s", "fault #1 repair"),
        ("33.335s", "fault #2 hold"),
        ("35.335s", "fault #2 release"),
    ];
    let fast_times = fault_times(&fast);
    assert_eq!(
        fast_times.len(),
        expected.len(),
        "{fast_times:#?}\n{replay}"
    );
    for (line, (at, what)) in fast_times.iter().zip(expected) {
        assert!(
            line.trim_start().starts_with(at) && line.contains(what),
            "expected `{what}` at {at}, got `{line}`\n{replay}"
        );
    }
    assert_eq!(fast_times, fault_times(&every), "{replay}");
    assert_eq!(judgement(&fast), judgement(&every), "{replay}");
}

/// A generated case: on failure its scenario is written where the replay
/// commands can find it.
fn check_case(property: &str, case: &Case) -> Result<(), TestCaseError> {
    let file = format!("target/proptest-failures/{property}.toml");
    same_judgement(&case.scenario, case.seed, &file).map_err(|why| {
        let mut scenario = case.scenario.clone();
        scenario.name = property.to_string();
        let text = scenario::to_toml(&scenario);
        let path = support::path(&file);
        let _ = std::fs::create_dir_all(path.parent().expect("a directory"));
        let _ = std::fs::write(&path, &text);
        TestCaseError::fail(format!("{why}\n--- {file} ---\n{text}"))
    })
}

proptest! {
    #![proptest_config(config_in(REGRESSIONS, CASES_VALID))]

    /// Valid users under faults: both ways pass, or fail alike.
    #[test]
    fn valid_envelope_is_judged_the_same_either_way(case in valid_case(Shape::any())) {
        check_case("stepping_valid", &case)?;
    }
}

proptest! {
    #![proptest_config(config_in(REGRESSIONS, CASES_MIXED))]

    /// Valid and invalid users together.
    #[test]
    fn mixed_users_are_judged_the_same_either_way(case in mixed_case()) {
        check_case("stepping_mixed", &case)?;
    }
}
