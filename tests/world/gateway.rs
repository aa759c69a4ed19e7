//! The gateway as the contract describes it: the connection state machine,
//! token delivery, auth retries, pipeline readiness.

use std::collections::BTreeMap;
use std::time::Duration;

use stagesim::trace::Kind;

use crate::support::{self, note_text, notes, reproduce};

const STATES: [&str; 5] = [
    "ACCEPTED",
    "AUTHENTICATED",
    "SERVICES_READY",
    "PROCESSING_READY",
    "CLOSED",
];

/// Gateway notes grouped by connection id (`g1.7 ...`), in order.
fn by_connection(outcome: &stagesim::run::Outcome) -> BTreeMap<String, Vec<(Duration, String)>> {
    let mut conns: BTreeMap<String, Vec<(Duration, String)>> = BTreeMap::new();
    for e in notes(outcome, "gateway") {
        let text = note_text(e);
        if let Some((id, rest)) = text.split_once(' ')
            && id.starts_with('g')
            && id[1..].starts_with(|c: char| c.is_ascii_digit())
        {
            conns
                .entry(id.to_string())
                .or_default()
                .push((e.at, rest.to_string()));
        }
    }
    conns
}

#[test]
fn every_connection_walks_the_state_machine_in_order() {
    let rel = "scenarios/golden_path.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let conns = by_connection(&outcome);
    assert_eq!(
        conns.len(),
        20,
        "one connection per user; reproduce: {}",
        reproduce(rel, seed)
    );
    for (id, lines) in &conns {
        let states: Vec<&str> = lines
            .iter()
            .filter_map(|(_, l)| l.strip_prefix("state "))
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
    let pipeline_ready = notes(&outcome, "gateway")
        .into_iter()
        .find(|e| note_text(e) == "pipeline ready")
        .map(|e| e.at)
        .expect("pipeline ready note");
    assert_eq!(
        pipeline_ready,
        Duration::from_secs(7),
        "reproduce: {}",
        reproduce(rel, seed)
    );
    let early = by_connection(&outcome)
        .values()
        .filter(|lines| {
            lines
                .iter()
                .any(|(at, l)| l == "state ACCEPTED" && *at < pipeline_ready)
        })
        .count();
    assert!(
        early > 0,
        "no connection arrived during initialisation; reproduce: {}",
        reproduce(rel, seed)
    );
    let mut ready_at: BTreeMap<String, Duration> = BTreeMap::new();
    for e in notes(&outcome, "gateway") {
        if note_text(e).ends_with("state PROCESSING_READY") {
            ready_at.insert(e.user.as_deref().unwrap_or("-").to_string(), e.at);
        }
    }
    for e in &outcome.trace.events {
        if let Kind::Received { event, .. } = &e.kind
            && event.kind == "connection_established"
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
    let gw = notes(&outcome, "gateway");
    for user in ["user-0005", "user-0006"] {
        let accepted: Vec<&str> = gw
            .iter()
            .filter(|e| e.user.as_deref() == Some(user))
            .map(|e| note_text(e))
            .filter(|t| t.contains("accepted"))
            .collect();
        assert_eq!(accepted.len(), 1, "{user}; reproduce: {r}");
        assert!(
            accepted[0].contains("token via header"),
            "{user}: {}; reproduce: {r}",
            accepted[0]
        );
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
    by_connection(outcome).into_iter().find_map(|(id, lines)| {
        let failed = lines
            .iter()
            .position(|(_, l)| l.starts_with("auth call 1 failed"))?;
        let admitted = lines.iter().position(|(_, l)| l.contains("accepted for"))?;
        (failed < admitted).then_some(id)
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
    let first_admission = notes(&outcome, "gateway")
        .into_iter()
        .find(|e| note_text(e).contains("accepted for"))
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
        notes(&outcome, "lb")
            .iter()
            .any(|e| note_text(e).starts_with("503")),
        "lb never said 503; reproduce: {r}"
    );
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}
