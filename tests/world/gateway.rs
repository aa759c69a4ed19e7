//! The gateway as the contract describes it: the connection state machine,
//! token delivery, auth retries, pipeline readiness.

use std::collections::BTreeMap;
use std::time::Duration;

use stagesim::scenario::TokenVia;
use stagesim::trace::{ConnEvent, ConnState, GatewayEvent, Kind, PipelineEvent};

use crate::support::{self, gateway_conns, reproduce};

/// The states after ACCEPTED, in the order the machine must walk them.
const STATES: [ConnState; 4] = [
    ConnState::Authenticated,
    ConnState::ServicesReady,
    ConnState::ProcessingReady,
    ConnState::Closed,
];

#[test]
fn every_connection_walks_the_state_machine_in_order() {
    let rel = "scenarios/golden_path.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let conns = gateway_conns(&outcome);
    assert_eq!(
        conns.len(),
        20,
        "one connection per user; reproduce: {}",
        reproduce(rel, seed)
    );
    for (id, events) in &conns {
        assert!(
            matches!(events[0].1, ConnEvent::Accepted { request: Some(_) }),
            "{id} starts ACCEPTED with its request id; reproduce: {}",
            reproduce(rel, seed)
        );
        let states: Vec<ConnState> = events
            .iter()
            .filter_map(|(_, e)| match e {
                ConnEvent::State(s) => Some(*s),
                _ => None,
            })
            .collect();
        assert_eq!(states, STATES, "{id}; reproduce: {}", reproduce(rel, seed));
    }
}

#[test]
fn connection_established_comes_only_after_processing_ready() {
    let rel = "scenarios/slow_agent_startup.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    // The pipeline takes 7s; connections accepted before then must wait.
    let pipeline_ready = outcome
        .trace
        .events
        .iter()
        .find(|e| matches!(e.kind, Kind::Pipeline(PipelineEvent::Ready)))
        .map(|e| e.at)
        .expect("pipeline ready event");
    assert_eq!(
        pipeline_ready,
        Duration::from_secs(7),
        "reproduce: {}",
        reproduce(rel, seed)
    );
    let early = gateway_conns(&outcome)
        .values()
        .filter(|events| {
            events
                .iter()
                .any(|(e, c)| matches!(c, ConnEvent::Accepted { .. }) && e.at < pipeline_ready)
        })
        .count();
    assert!(
        early > 0,
        "no connection arrived during initialisation; reproduce: {}",
        reproduce(rel, seed)
    );
    let mut ready_at: BTreeMap<String, Duration> = BTreeMap::new();
    for events in gateway_conns(&outcome).values() {
        for (e, c) in events {
            if **c == ConnEvent::State(ConnState::ProcessingReady) {
                ready_at.insert(e.user.as_deref().unwrap_or("-").to_string(), e.at);
            }
        }
    }
    for e in &outcome.trace.events {
        if let Kind::Received { event, .. } = &e.kind
            && event
                .kind
                .is(stagesim::vocab::ServerType::ConnectionEstablished)
        {
            let user = e.user.as_deref().unwrap_or("-");
            assert!(
                e.at >= pipeline_ready,
                "{user} established at {:?}; reproduce: {}",
                e.at,
                reproduce(rel, seed)
            );
            assert!(
                e.at >= ready_at[user],
                "{user} established before PROCESSING_READY; reproduce: {}",
                reproduce(rel, seed)
            );
        }
    }
}

#[test]
fn tokens_by_header_subprotocol_both_and_neither() {
    let rel = "tests/fixtures/worlds/token_delivery.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let codes = |g: usize| outcome.summary.groups[&g].close_codes.clone();
    let only = |code: u16, n: u64| BTreeMap::from([(code, n)]);
    let r = reproduce(rel, seed);
    assert_eq!(codes(0), only(1000, 2), "header; reproduce: {r}");
    assert_eq!(codes(1), only(1000, 2), "subprotocol; reproduce: {r}");
    assert_eq!(codes(2), only(1000, 2), "both; reproduce: {r}");
    assert_eq!(codes(3), only(1008, 2), "neither; reproduce: {r}");
    // Users 3-6 offered the subprotocol and must see `jwt-auth` echoed.
    for e in &outcome.trace.events {
        if let Kind::Opened { protocol, .. } = &e.kind {
            let user = e.user.as_deref().unwrap_or("-");
            let offered = ["user-0003", "user-0004", "user-0005", "user-0006"].contains(&user);
            assert_eq!(
                protocol.as_deref() == Some("jwt-auth"),
                offered,
                "{user}; reproduce: {r}"
            );
        }
    }
    // When both are present and valid, the header wins.
    let conns = gateway_conns(&outcome);
    for user in ["user-0005", "user-0006"] {
        let accepted: Vec<TokenVia> = conns
            .values()
            .flatten()
            .filter(|(e, _)| e.user.as_deref() == Some(user))
            .filter_map(|(_, c)| match c {
                ConnEvent::TokenAccepted { via, .. } => Some(*via),
                _ => None,
            })
            .collect();
        assert_eq!(accepted, [TokenVia::Header], "{user}; reproduce: {r}");
    }
    let missing = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(&e.kind, Kind::Closed { code: 1008, reason, .. } if reason == "missing token"))
        .count();
    assert_eq!(missing, 2, "reproduce: {r}");
}

/// A connection whose auth calls failed and which then got in anyway.
fn retried_then_admitted(outcome: &stagesim::run::Outcome) -> Option<String> {
    gateway_conns(outcome).into_iter().find_map(|(id, events)| {
        let failed = events
            .iter()
            .position(|(_, c)| matches!(c, ConnEvent::AuthRetry { attempt: 1, .. }))?;
        let admitted = events
            .iter()
            .position(|(_, c)| matches!(c, ConnEvent::TokenAccepted { .. }))?;
        (failed < admitted).then(|| id.to_string())
    })
}

#[test]
fn auth_down_during_startup_is_retried_until_it_answers() {
    let rel = "scenarios/slow_auth_startup.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    assert!(
        retried_then_admitted(&outcome).is_some(),
        "no connection got in after a failed auth call; reproduce: {}",
        reproduce(rel, seed)
    );
    // Auth came up at 12s: nobody was admitted before.
    let first_admission = outcome
        .trace
        .events
        .iter()
        .find(|e| {
            matches!(
                &e.kind,
                Kind::Gateway(GatewayEvent::Conn {
                    event: ConnEvent::TokenAccepted { .. },
                    ..
                })
            )
        })
        .map(|e| e.at)
        .expect("someone was admitted");
    assert!(
        first_admission >= Duration::from_secs(12),
        "reproduce: {}",
        reproduce(rel, seed)
    );
}

#[test]
fn a_partition_between_gateway_and_auth_is_ridden_out() {
    let rel = "scenarios/partition_gateway_auth.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    assert!(
        retried_then_admitted(&outcome).is_some(),
        "no connection retried auth across the partition; reproduce: {}",
        reproduce(rel, seed)
    );
}

#[test]
fn a_gateway_restart_closes_with_1012_and_users_resend() {
    let rel = "scenarios/gateway_restart.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let r = reproduce(rel, seed);
    assert!(
        outcome.summary.close_codes.contains_key(&1012),
        "reproduce: {r}"
    );
    assert!(
        outcome
            .trace
            .events
            .iter()
            .any(|e| matches!(&e.kind, Kind::Lb(lb) if lb.status() == Some(503))),
        "lb never said 503; reproduce: {r}"
    );
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}
