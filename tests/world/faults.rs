//! The faults of docs/design.md ("Faults") not covered by a shipped scenario:
//! a crash (no goodbye) and a hold (delay, not loss).

use std::time::Duration;

use stagesim::trace::Kind;

use crate::support::{self, reproduce};

#[test]
fn a_crashed_gateway_gives_1006_and_users_come_back() {
    let rel = "tests/fixtures/worlds/gateway_crash.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let r = reproduce(rel, seed);
    let lost: Vec<Duration> = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Closed { code: 1006, .. }))
        .map(|e| e.at)
        .collect();
    assert!(!lost.is_empty(), "no 1006 after the crash; reproduce: {r}");
    assert!(
        lost.iter().all(|at| *at >= Duration::from_secs(10)),
        "1006 before the crash; reproduce: {r}"
    );
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}

#[test]
fn a_hold_delays_without_losing_anything() {
    let rel = "tests/fixtures/worlds/hold_lb_gateway.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let r = reproduce(rel, seed);
    // While lb <-> gateway is held (8s to 11s) nothing reaches a user...
    let received_during = outcome.trace.events.iter().any(|e| {
        matches!(e.kind, Kind::Received { .. })
            && e.at > Duration::from_millis(8_050)
            && e.at < Duration::from_secs(11)
    });
    assert!(
        !received_during,
        "a user received an event during the hold; reproduce: {r}"
    );
    // ...what was held is delivered at the release (11s), not whenever the
    // link next carries something new: a user hears from the gateway within
    // a tick plus the lb -> client latency (at most 10 ms here). A link that
    // forgot its held messages fell due at the release would pass the rest.
    let received_at_release = outcome.trace.events.iter().any(|e| {
        matches!(e.kind, Kind::Received { .. })
            && e.at >= Duration::from_secs(11)
            && e.at <= Duration::from_millis(11_020)
    });
    assert!(
        received_at_release,
        "nothing held reached a user within 20 ms of the release; reproduce: {r}"
    );
    // ...and afterwards everything arrives: only normal closes, all answered.
    assert_eq!(
        outcome
            .summary
            .close_codes
            .keys()
            .copied()
            .collect::<Vec<_>>(),
        vec![1000],
        "reproduce: {r}"
    );
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}

#[test]
fn a_drain_tells_users_still_being_admitted_that_the_gateway_is_draining() {
    let rel = "tests/fixtures/worlds/drain_during_admission.toml";
    let seed = 1;
    let outcome = crate::support::run(rel, seed);
    let r = crate::support::reproduce(rel, seed);
    crate::support::assert_pass(&outcome, rel);
    let reasons: Vec<&str> = outcome
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            stagesim::trace::Kind::Closed {
                code: 1001, reason, ..
            } => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        reasons.len(),
        3,
        "every waiting user got 1001; reproduce: {r}"
    );
    assert!(
        reasons.iter().all(|&reason| reason == "gateway draining"),
        "{reasons:?}; reproduce: {r}"
    );
}

/// A fault that hit nothing says so: a restart and a partition due after
/// every user had finished are recorded as not reached, and the outcome
/// warns; a restart that closed live connections does not.
#[test]
fn a_fault_that_hit_nothing_is_a_warning() {
    let rel = "tests/fixtures/worlds/idle_fault.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let r = reproduce(rel, seed);
    assert_eq!(
        outcome.warnings.len(),
        2,
        "{:?}; reproduce: {r}",
        outcome.warnings
    );
    assert!(
        outcome.warnings[0].starts_with("the restart gateway due at 40.000s never happened"),
        "{:?}; reproduce: {r}",
        outcome.warnings
    );
    let json = stagesim::report::to_json(&outcome, &r);
    assert_eq!(
        json["warnings"].as_array().map(Vec::len),
        Some(2),
        "reproduce: {r}"
    );

    let rel = "scenarios/gateway_restart.toml";
    let outcome = support::run(rel, seed);
    assert!(
        outcome.warnings.is_empty(),
        "{:?}; reproduce: {}",
        outcome.warnings,
        reproduce(rel, seed)
    );
}
