//! The two partitions of docs/design.md ("Faults"), issue #14: `partition`
//! is TCP-faithful (segments are retransmitted and arrive late; only an
//! outage longer than the TCP timeout resets a connection; a SYN is
//! retransmitted on Linux's schedule), `lossy_partition` drops packets for
//! good.

use std::collections::BTreeMap;
use std::time::Duration;

use stagesim::run::{Outcome, Stepping, run_stepping};
use stagesim::trace::{ConnEvent, GatewayEvent, Kind};

use crate::support::{self, reproduce};

/// The 1006 closes users recorded: (time, user, reason).
fn closes_1006(outcome: &Outcome) -> Vec<(Duration, String, String)> {
    outcome
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Closed {
                code: 1006, reason, ..
            } => Some((
                e.at,
                e.user.as_deref().unwrap_or("").to_string(),
                reason.clone(),
            )),
            _ => None,
        })
        .collect()
}

/// How many agent runs the gateway started for each message id.
fn runs_per_message(outcome: &Outcome) -> BTreeMap<String, usize> {
    let mut runs = BTreeMap::new();
    for e in &outcome.trace.events {
        if let Kind::Gateway(GatewayEvent::Conn {
            event: ConnEvent::Routed { message_id, .. },
            ..
        }) = &e.kind
        {
            *runs.entry(message_id.clone()).or_insert(0) += 1;
        }
    }
    runs
}

/// Distinct users in `closes`.
fn users(closes: &[(Duration, String, String)]) -> usize {
    let mut users: Vec<&str> = closes.iter().map(|(_, u, _)| u.as_str()).collect();
    users.sort_unstable();
    users.dedup();
    users.len()
}

#[test]
fn a_short_partition_delays_chats_and_costs_no_1006_and_no_repeated_run() {
    let rel = "tests/fixtures/worlds/partition_lb_gateway.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    let lost = closes_1006(&outcome);
    assert!(
        lost.is_empty(),
        "1006 after a 2s partition: {lost:?}; reproduce: {r}"
    );
    let repeated: Vec<_> = runs_per_message(&outcome)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        repeated.is_empty(),
        "runs repeated: {repeated:?}; reproduce: {r}"
    );
    let m = &outcome.summary.messages;
    assert_eq!((m.sent, m.answered), (160, 160), "reproduce: {r}");
    // Users were mid-chat when the partition began: something was in flight.
    let stalled = outcome.trace.events.iter().any(|e| {
        matches!(e.kind, Kind::Received { .. })
            && e.at > Duration::from_millis(10_100)
            && e.at < Duration::from_millis(10_700)
    });
    assert!(
        stalled,
        "nothing arrived at a retransmission after the repair; reproduce: {r}"
    );
}

#[test]
fn the_same_lossy_partition_stalls_connections_until_the_ping_timeout() {
    let rel = "tests/fixtures/worlds/lossy_partition_lb_gateway.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    let lost = closes_1006(&outcome);
    assert!(
        users(&lost) >= 5,
        "only {} users saw 1006 after a lossy partition: {lost:?}; reproduce: {r}",
        users(&lost)
    );
    assert!(
        lost.iter()
            .all(|(at, _, reason)| reason == "no answer to ping" && *at > Duration::from_secs(25)),
        "a 1006 that was not the ping timeout: {lost:?}; reproduce: {r}"
    );
    let repeated = runs_per_message(&outcome)
        .into_values()
        .filter(|n| *n > 1)
        .count();
    assert!(repeated > 0, "no agent run repeated; reproduce: {r}");
}

#[test]
fn a_partition_past_the_tcp_timeout_resets_connections_without_waiting_for_pings() {
    let rel = "tests/fixtures/worlds/partition_past_tcp_timeout.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    let lost = closes_1006(&outcome);
    assert!(!lost.is_empty(), "no connection was reset; reproduce: {r}");
    // Reset by the 5s user timeout: the last segment stalled at 8s or
    // later, so no reset before 13s; a ping is sent after 15s of silence
    // and given up 10s later, so a reset by 28s is TCP's, not the ping's.
    assert!(
        lost.iter().all(
            |(at, _, reason)| reason == "connection lost without close frame"
                && *at >= Duration::from_secs(13)
                && *at < Duration::from_secs(28)
        ),
        "a 1006 that was not a TCP reset during the partition: {lost:?}; reproduce: {r}"
    );
    let m = &outcome.summary.messages;
    assert_eq!(m.sent, m.answered, "reproduce: {r}");
}

#[test]
fn a_connect_during_a_partition_completes_at_the_syn_retransmission_after_it() {
    let rel = "tests/fixtures/worlds/connect_during_partition.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    let opened: Vec<(Duration, u32)> = outcome
        .trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            Kind::Opened { conn, .. } => Some((e.at, conn)),
            _ => None,
        })
        .collect();
    // SYN at 10.5s; retransmitted at 11.5s (partitioned) and 13.5s.
    let (at, conn) = opened.first().copied().expect("the user connected");
    assert_eq!(conn, 1, "the first connect failed; reproduce: {r}");
    assert!(
        at >= Duration::from_millis(13_500) && at < Duration::from_millis(14_000),
        "opened at {at:?}, not at the 13.5s retransmission; reproduce: {r}"
    );
}

#[test]
fn a_connect_whose_syns_outlast_its_timeout_fails_and_is_retried() {
    let rel = "tests/fixtures/worlds/connect_past_partition.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    let failed: Vec<(Duration, u32, &str)> = outcome
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::ConnectFailed { conn, reason } => Some((e.at, *conn, reason.as_str())),
            _ => None,
        })
        .collect();
    // The next SYN after 13.5s would go at 17.5s, past the 5s timeout.
    assert_eq!(
        failed,
        vec![(Duration::from_millis(15_500), 1, "timed out")],
        "reproduce: {r}"
    );
    let m = &outcome.summary.messages;
    assert_eq!((m.sent, m.answered), (1, 1), "reproduce: {r}");
}

#[test]
fn partitions_are_deterministic() {
    let seed = 3;
    for rel in [
        "tests/fixtures/worlds/partition_lb_gateway.toml",
        "tests/fixtures/worlds/partition_past_tcp_timeout.toml",
        "tests/fixtures/worlds/connect_past_partition.toml",
    ] {
        let first = support::run(rel, seed);
        let again = support::run(rel, seed);
        assert_eq!(
            first.trace_hash(),
            again.trace_hash(),
            "{rel} seed {seed} is not deterministic; reproduce: {}",
            reproduce(rel, seed)
        );
    }
}

#[test]
fn fast_forward_never_skips_a_retransmission_or_a_give_up() {
    // Both are due while every host may be idle: a SYN kept past the
    // repair, a reset when the user timeout expires mid-partition.
    let seed = 1;
    for rel in [
        "tests/fixtures/worlds/connect_during_partition.toml",
        "tests/fixtures/worlds/partition_past_tcp_timeout.toml",
    ] {
        let scenario = support::load(rel);
        let fast = run_stepping(&scenario, seed, Stepping::FastForward);
        let every = run_stepping(&scenario, seed, Stepping::EveryTick);
        let opened = |o: &Outcome| -> Vec<Duration> {
            o.trace
                .events
                .iter()
                .filter(|e| matches!(e.kind, Kind::Opened { conn: 1, .. }))
                .map(|e| e.at)
                .collect()
        };
        let resets = |o: &Outcome| -> Vec<Duration> {
            closes_1006(o).into_iter().map(|(at, _, _)| at).collect()
        };
        let r = format!(
            "reproduce: {} (add --step every-tick)",
            reproduce(rel, seed)
        );
        assert_eq!(opened(&fast), opened(&every), "{r}");
        assert_eq!(resets(&fast), resets(&every), "{r}");
        assert_eq!(fast.violations.len(), every.violations.len(), "{r}");
    }
}
