//! Byte-level faults at the load balancer (docs/faults.md): what a client
//! sees under each, against the same five users with no fault
//! (`lb_none.toml`). Seed 1 throughout.

use std::collections::BTreeMap;
use std::time::Duration;

use stagesim::run::Outcome;
use stagesim::trace::{ConnEvent, FaultEvent, GatewayEvent, Kind, TransportEnd};

use crate::support::{self, reproduce};

const SEED: u64 = 1;

fn run(name: &str) -> (Outcome, String) {
    let rel = format!("tests/fixtures/worlds/{name}.toml");
    let outcome = support::run(&rel, SEED);
    support::assert_pass(&outcome, &rel);
    let r = reproduce(&rel, SEED);
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
    (outcome, r)
}

/// Each user's received event kinds and sequence numbers, in order.
fn received(o: &Outcome) -> BTreeMap<String, Vec<(String, Option<u64>)>> {
    let mut by_user: BTreeMap<String, Vec<(String, Option<u64>)>> = BTreeMap::new();
    for e in &o.trace.events {
        if let (Kind::Received { event, .. }, Some(user)) = (&e.kind, &e.user) {
            by_user
                .entry(user.to_string())
                .or_default()
                .push((event.kind.to_string(), event.seq));
        }
    }
    by_user
}

/// For every user message, the time from sending it to its `agent_started`.
fn answer_delays(o: &Outcome) -> Vec<Duration> {
    let mut sent: BTreeMap<String, Duration> = BTreeMap::new();
    let mut delays = Vec::new();
    for e in &o.trace.events {
        match &e.kind {
            Kind::Sent { frame, .. } => {
                if let Some(id) = &frame.message_id {
                    sent.insert(id.clone(), e.at);
                }
            }
            Kind::Received { event, .. }
                if event.kind.is(stagesim::vocab::ServerType::AgentStarted) =>
            {
                if let Some(at) = event.message_id.as_deref().and_then(|m| sent.remove(m)) {
                    delays.push(e.at - at);
                }
            }
            _ => {}
        }
    }
    delays
}

#[test]
fn a_reset_closes_every_spliced_connection_and_users_come_back() {
    let (o, r) = run("lb_reset");
    let at = Duration::from_secs(6);
    let resets: Vec<u64> = o
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Fault(FaultEvent::Reset { connections, .. }) => Some(*connections),
            _ => None,
        })
        .collect();
    assert_eq!(
        resets,
        vec![5],
        "one reset of the five open connections; reproduce: {r}"
    );
    // Users see the connection lost (1006), at once; the gateway a reset.
    let lost = o
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Closed { code: 1006, .. }))
        .filter(|e| e.at >= at && e.at < at + Duration::from_millis(50))
        .count();
    assert_eq!(lost, 5, "reproduce: {r}");
    let reset_seen = o.trace.events.iter().any(|e| {
        matches!(
            &e.kind,
            Kind::Gateway(GatewayEvent::Conn { event: ConnEvent::Transport(TransportEnd::Error(why)), .. })
                if why.contains("reset")
        )
    });
    assert!(reset_seen, "the gateway saw no reset; reproduce: {r}");
}

#[test]
fn sliced_bytes_arrive_as_the_same_frames() {
    let (sliced, r) = run("lb_slice");
    let (plain, _) = run("lb_none");
    assert_eq!(received(&sliced), received(&plain), "reproduce: {r}");
    let on = sliced.trace.events.iter().any(|e| {
        matches!(
            &e.kind,
            Kind::Fault(FaultEvent::Bytes {
                kind: "slice",
                on: true,
                ..
            })
        )
    });
    assert!(on, "reproduce: {r}");
}

#[test]
fn a_narrow_link_delivers_everything_late() {
    let (narrow, r) = run("lb_bandwidth");
    let (plain, _) = run("lb_none");
    assert_eq!(received(&narrow), received(&plain), "reproduce: {r}");
    // A user message is about 110 bytes: at 256 B/s it needs 0.4 s more.
    let slowest = |o: &Outcome| answer_delays(o).into_iter().max().unwrap_or_default();
    assert!(
        slowest(&narrow) >= slowest(&plain) + Duration::from_millis(400),
        "{:?} vs {:?}; reproduce: {r}",
        slowest(&narrow),
        slowest(&plain)
    );
}

#[test]
fn a_held_back_fin_makes_the_close_late_but_clean() {
    let (slow, r) = run("lb_slow_close");
    // Each user closes with 1000 and finishes; the close completes only
    // when the gateway's FIN, held 5 s by lb, reaches it.
    let mut asked = BTreeMap::new();
    for e in &slow.trace.events {
        let user = e.user.as_deref().unwrap_or("-").to_string();
        match &e.kind {
            Kind::Gateway(GatewayEvent::Conn {
                event: ConnEvent::ClientClosed { code: 1000 },
                ..
            }) => {
                asked.insert(user, e.at);
            }
            Kind::Closed {
                code: 1000,
                by_client: true,
                ..
            } => {
                let since = e.at - asked[&user];
                assert!(
                    since >= Duration::from_millis(4_900),
                    "{user}: {since:?}; reproduce: {r}"
                );
            }
            _ => {}
        }
    }
    assert_eq!(asked.len(), 5, "reproduce: {r}");
}

#[test]
fn latency_is_added_to_one_direction_only() {
    let (plain, _) = run("lb_none");
    let (up, r_up) = run("lb_latency_up");
    let (down, r_down) = run("lb_latency_down");
    let two = Duration::from_secs(2);
    // Towards the gateway: every message is 2 s later to start.
    for (d, base) in answer_delays(&up).iter().zip(answer_delays(&plain)) {
        assert!(
            *d >= base + two - Duration::from_millis(100),
            "{d:?}; reproduce: {r_up}"
        );
    }
    // Towards the users: a message starts as fast as without the fault
    // (what users send is not delayed), but what they receive is 2 s late,
    // which the answer delay (sent -> agent_started received) shows too.
    for d in answer_delays(&down) {
        assert!(d >= two, "{d:?}; reproduce: {r_down}");
    }
    assert_eq!(received(&up), received(&plain), "reproduce: {r_up}");
    assert_eq!(received(&down), received(&plain), "reproduce: {r_down}");
}
