//! The heal phase (docs/design.md, "The heal phase"): at `duration` every
//! fault still in force is lifted and users send nothing new; the run goes
//! on until every user is idle, for at most `[expect] converge_within`.
//! A scenario's end is no longer a way to fail, and a backend that never
//! settles fails with `did_not_converge`.

use std::time::Duration;

use stagesim::scenario::Cause;
use stagesim::services::mutants::Mutant;
use stagesim::trace::{FaultEvent, Kind};

use crate::support::{self, reproduce};

fn heal_at(outcome: &stagesim::run::Outcome) -> Option<Duration> {
    outcome.trace.events.iter().find_map(|e| match e.kind {
        Kind::Fault(FaultEvent::Heal { .. }) => Some(e.at),
        _ => None,
    })
}

#[test]
fn users_cut_short_by_the_end_converge_in_the_heal_and_pass() {
    let rel = "tests/fixtures/worlds/heal_mid_conversation.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    assert_eq!(
        heal_at(&outcome),
        Some(Duration::from_secs(11)),
        "reproduce: {r}"
    );
    let stopped = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::StoppedAtHeal { .. }))
        .count();
    assert!(
        stopped > 0,
        "nobody was cut short; the fixture no longer tests the heal; reproduce: {r}"
    );
    // Nothing new is sent after the heal: every message sent after it is
    // one that was in flight (re-sent), never a new number.
    let after: Vec<&Kind> = outcome
        .trace
        .events
        .iter()
        .filter(|e| e.at > Duration::from_secs(11))
        .map(|e| &e.kind)
        .filter(|k| matches!(k, Kind::Sent { frame, .. } if frame.kind.is(stagesim::vocab::ClientType::UserMessage)))
        .collect();
    assert!(
        after.is_empty(),
        "new messages after the heal: {after:?}; reproduce: {r}"
    );
}

#[test]
fn a_fault_that_outlasts_the_scenario_is_lifted_at_the_heal() {
    let rel = "tests/fixtures/worlds/heal_lifts_a_partition.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    let repaired = outcome.trace.events.iter().find_map(|e| match e.kind {
        Kind::Fault(FaultEvent::Repair { .. }) => Some(e.at),
        _ => None,
    });
    assert_eq!(repaired, Some(Duration::from_secs(12)), "reproduce: {r}");
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}

#[test]
fn a_backend_that_never_settles_fails_did_not_converge_within_the_bound() {
    let rel = "scenarios/golden_path.toml";
    let seed = 1;
    let mut scenario = support::load(rel);
    scenario.expect.converge_within = Duration::from_secs(5);
    scenario.bugs.mutant = Some(Mutant::RunHangsAfterTool);
    let outcome = stagesim::run::run(&scenario, seed);
    let r = format!(
        "{} (converge_within 5s, RunHangsAfterTool set in code)",
        reproduce(rel, seed)
    );
    assert_eq!(
        outcome.trace.end,
        Duration::from_secs(125),
        "the heal phase is bounded; reproduce: {r}"
    );
    let stuck: Vec<_> = outcome
        .violations
        .iter()
        .filter(|v| v.cause == Cause::DidNotConverge)
        .collect();
    assert!(
        !stuck.is_empty(),
        "{:?}; reproduce: {r}",
        outcome.violations
    );
    assert!(
        stuck.iter().all(|v| v
            .detail
            .contains("still busy 5000ms after the heal began: an answer to")),
        "each stuck user says what it waits on: {stuck:#?}; reproduce: {r}"
    );
}
