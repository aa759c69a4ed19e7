//! Each close code of docs/design.md ("Close codes") is reached by a real scenario.

use std::collections::BTreeMap;

use crate::support::{self, reproduce};

/// (scenario, seed, code it must produce).
const CASES: &[(&str, u64, u16)] = &[
    ("scenarios/golden_path.toml", 1, 1000),
    ("tests/fixtures/worlds/gateway_drain.toml", 1, 1001),
    ("tests/fixtures/worlds/client_misbehaviour.toml", 1, 1007),
    ("scenarios/invalid_tokens.toml", 1, 1008),
    ("tests/fixtures/worlds/client_misbehaviour.toml", 1, 1009),
    (
        "scenarios/regressions/auth_failure_closes_1011.toml",
        1,
        1011,
    ),
    ("scenarios/gateway_restart.toml", 1, 1012),
    ("scenarios/slow_auth_startup.toml", 1, 1013),
    ("tests/fixtures/worlds/connection_limit.toml", 1, 1013),
    ("tests/fixtures/worlds/pipeline_timeout.toml", 1, 1013),
];

#[test]
fn every_close_code_of_the_table_is_reached() {
    let mut runs = BTreeMap::new();
    for &(rel, seed, code) in CASES {
        let outcome = runs
            .entry((rel, seed))
            .or_insert_with(|| support::run(rel, seed));
        assert!(
            outcome.summary.close_codes.contains_key(&code),
            "{rel} seed {seed} never closed with {code}; codes {:?}\nreproduce: {}",
            outcome.summary.close_codes,
            reproduce(rel, seed)
        );
    }
}

/// The 1013s above each have their own cause, named in the close reason.
#[test]
fn each_1013_names_its_dependency() {
    let cases = [
        (
            "scenarios/slow_auth_startup.toml",
            "auth unreachable after 4 attempts",
        ),
        (
            "tests/fixtures/worlds/connection_limit.toml",
            "connection limit 2 reached",
        ),
        (
            "tests/fixtures/worlds/pipeline_timeout.toml",
            "agent pipeline not ready after 5000ms",
        ),
    ];
    for (rel, reason) in cases {
        let seed = 1;
        let outcome = support::run(rel, seed);
        let found = outcome.trace.events.iter().any(|e| {
            matches!(&e.kind, stagesim::trace::Kind::Closed { code: 1013, reason: r, .. } if r.contains(reason))
        });
        assert!(
            found,
            "{rel}: no 1013 with reason {reason:?}\nreproduce: {}",
            reproduce(rel, seed)
        );
        support::assert_pass(&outcome, rel);
    }
}

/// A misbehaving client is closed for what it did, and an unknown type is
/// answered with an error event on a connection that stays open.
#[test]
fn invalid_frames_get_their_own_codes() {
    let rel = "tests/fixtures/worlds/client_misbehaviour.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let groups = &outcome.summary.groups;
    let codes = |g: usize| groups[&g].close_codes.keys().copied().collect::<Vec<_>>();
    assert_eq!(
        codes(0),
        vec![1007],
        "bad_json; reproduce: {}",
        reproduce(rel, seed)
    );
    assert_eq!(
        codes(1),
        vec![1007],
        "wrong_shape; reproduce: {}",
        reproduce(rel, seed)
    );
    assert_eq!(
        codes(2),
        vec![1009],
        "oversized; reproduce: {}",
        reproduce(rel, seed)
    );
    assert_eq!(
        codes(3),
        vec![1000],
        "unknown_type; reproduce: {}",
        reproduce(rel, seed)
    );
    let unknown_type_error = outcome.trace.events.iter().any(|e| {
        matches!(&e.kind, stagesim::trace::Kind::Received { event, .. }
            if event.kind.is(stagesim::vocab::ServerType::Error) && event.code.as_deref() == Some("unknown_message_type"))
    });
    assert!(
        unknown_type_error,
        "no unknown_message_type error event; reproduce: {}",
        reproduce(rel, seed)
    );
}
