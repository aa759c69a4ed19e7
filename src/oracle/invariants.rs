//! The six invariants of DESIGN.md section 4, one function each. Each reads
//! the per-user view and appends what it finds; none stops at the first.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::Violation;
use super::index::{UserView, Users};
use crate::scenario::Invariant;

/// How long a message may wait on an open connection with no sign of its
/// run before it counts as silently dropped.
const SILENT_DROP: Duration = Duration::from_secs(60);

fn violation(
    invariant: Invariant,
    user: &str,
    view: &UserView,
    at: Duration,
    detail: String,
) -> Violation {
    Violation {
        invariant,
        user: Some(user.to_string()),
        host: view.host.clone(),
        at,
        detail,
    }
}

/// No client receives close code 1011.
pub fn no_1011(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            if let Some((at, 1011, reason, false)) = &conn.closed {
                out.push(violation(
                    Invariant::No1011,
                    name,
                    view,
                    *at,
                    format!("c{n} closed 1011: {reason}"),
                ));
            }
        }
    }
}

/// Users without a deliverable valid token are never admitted and are
/// refused with 1008; users with one are never refused with 1008.
pub fn auth_policy(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            if !view.entitled {
                if let Some((at, ev)) = conn
                    .received
                    .iter()
                    .find(|(_, e)| e.kind == "connection_established" || e.is_agent_event())
                {
                    out.push(violation(
                        Invariant::AuthPolicy,
                        name,
                        view,
                        *at,
                        format!("c{n} admitted without a valid token: received {}", ev.kind),
                    ));
                }
                // 1011 is no_1011's to report; transient codes say nothing
                // about the token; any other close must be 1008.
                if let Some((at, code, reason, false)) = &conn.closed
                    && !matches!(code, 1008 | 1011 | 1001 | 1006 | 1012 | 1013)
                {
                    out.push(violation(
                        Invariant::AuthPolicy,
                        name,
                        view,
                        *at,
                        format!("c{n} invalid token closed with {code} instead of 1008: {reason}"),
                    ));
                }
            } else if let Some((at, 1008, reason, false)) = &conn.closed {
                out.push(violation(
                    Invariant::AuthPolicy,
                    name,
                    view,
                    *at,
                    format!("c{n} valid user refused with 1008: {reason}"),
                ));
            }
        }
    }
}

/// Every entitled user gets in, and every message of theirs is answered
/// (agent_completed or an error event) before the run ends.
pub fn liveness(users: &Users, end: Duration, out: &mut Vec<Violation>) {
    for (name, view) in users {
        if !view.entitled || view.forfeits {
            continue;
        }
        let got_in = view.conns.values().any(|c| {
            c.received
                .iter()
                .any(|(_, e)| e.kind == "connection_established")
        });
        if !got_in {
            let (at, why) = match &view.finished {
                Some((at, outcome)) => (*at, format!("user finished: {outcome}")),
                None => (end, "still trying when the run ended".to_string()),
            };
            out.push(violation(
                Invariant::Liveness,
                name,
                view,
                at,
                format!("never received connection_established; {why}"),
            ));
            continue;
        }
        let answered: BTreeSet<&str> = view
            .conns
            .values()
            .flat_map(|c| c.received.iter())
            .filter(|(_, e)| matches!(e.kind.as_str(), "agent_completed" | "error"))
            .filter_map(|(_, e)| e.message_id.as_deref())
            .collect();
        let missing: Vec<String> = (1..=view.messages)
            .map(|k| format!("{name}-m{k}"))
            .filter(|m| !answered.contains(m.as_str()))
            .collect();
        if missing.is_empty() {
            continue;
        }
        let (at, why) = match &view.finished {
            Some((at, outcome)) => (*at, format!("user finished: {outcome}")),
            None => (end, "still waiting when the run ended".to_string()),
        };
        out.push(violation(
            Invariant::Liveness,
            name,
            view,
            at,
            format!(
                "{} of {} messages unanswered (first {}); {why}",
                missing.len(),
                view.messages,
                missing[0]
            ),
        ));
    }
}

/// Every event a user receives carries that user's id and belongs to a run
/// that user started.
pub fn isolation(users: &Users, out: &mut Vec<Violation>) {
    // Who sent each message id, to name the victim of a misrouted event.
    let mut sender: BTreeMap<&str, &str> = BTreeMap::new();
    for (name, view) in users {
        for m in view.sent_ids() {
            sender.insert(m, name);
        }
    }
    // Victims already reported, once per (victim, message).
    let mut reported: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (name, view) in users {
        let mine: BTreeSet<&str> = view.sent_ids().collect();
        for (n, conn) in &view.conns {
            // Runs this connection saw start for one of the user's messages.
            let mut runs: BTreeSet<&str> = BTreeSet::new();
            for (at, ev) in &conn.received {
                if ev.kind == "<unparseable>" {
                    continue;
                }
                if ev.user_id.as_deref() != Some(name) {
                    out.push(violation(
                        Invariant::Isolation,
                        name,
                        view,
                        *at,
                        format!(
                            "c{n} received {} addressed to {}",
                            ev.kind,
                            ev.user_id.as_deref().unwrap_or("nobody")
                        ),
                    ));
                    continue;
                }
                if let Some(m) = &ev.message_id
                    && !mine.contains(m.as_str())
                {
                    out.push(violation(
                        Invariant::Isolation,
                        name,
                        view,
                        *at,
                        format!("c{n} received {} for message {m} it never sent", ev.kind),
                    ));
                    if let Some(&victim) = sender.get(m.as_str())
                        && reported.insert((victim, m.as_str()))
                        && let Some(vview) = users.get(victim)
                    {
                        out.push(violation(
                            Invariant::Isolation,
                            victim,
                            vview,
                            *at,
                            format!("events of its message {m} were delivered to {name}"),
                        ));
                    }
                    continue;
                }
                if let Some(r) = &ev.run_id {
                    if ev.kind == "agent_started" {
                        runs.insert(r);
                    } else if !runs.contains(r.as_str()) {
                        out.push(violation(
                            Invariant::Isolation,
                            name,
                            view,
                            *at,
                            format!("c{n} received {} of run {r} it did not start", ev.kind),
                        ));
                    }
                }
            }
        }
    }
}

/// Where a run is in `agent_started (agent_thinking | tool_executing
/// tool_completed)* (agent_completed | error)`.
#[derive(Clone, Copy, PartialEq)]
enum RunState {
    Open,
    InTool,
    Done,
}

/// Each run follows the grammar; `seq` strictly increases per connection;
/// nothing precedes `connection_established`.
pub fn event_grammar(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            let mut last_seq: Option<u64> = None;
            let mut established = false;
            let mut runs: BTreeMap<&str, RunState> = BTreeMap::new();
            for (at, ev) in &conn.received {
                let mut bad = |detail: String| {
                    out.push(violation(
                        Invariant::EventGrammar,
                        name,
                        view,
                        *at,
                        format!("c{n} {detail}"),
                    ));
                };
                match (ev.seq, last_seq) {
                    (None, _) if ev.kind != "<unparseable>" => {
                        bad(format!("{} without seq", ev.kind))
                    }
                    (Some(s), Some(prev)) if s <= prev => bad(format!("seq {s} after {prev}")),
                    _ => {}
                }
                if ev.seq.is_some() {
                    last_seq = ev.seq;
                }
                if ev.kind == "connection_established" {
                    if established {
                        bad("second connection_established".into());
                    }
                    established = true;
                    continue;
                }
                if !established && ev.kind != "<unparseable>" {
                    bad(format!("{} before connection_established", ev.kind));
                }
                let Some(run) = ev.run_id.as_deref() else {
                    continue;
                };
                let state = runs.get(run).copied();
                let next = match (ev.kind.as_str(), state) {
                    ("agent_started", None) => Some(RunState::Open),
                    ("agent_thinking", Some(RunState::Open)) => Some(RunState::Open),
                    ("tool_executing", Some(RunState::Open)) => Some(RunState::InTool),
                    ("tool_completed", Some(RunState::InTool)) => Some(RunState::Open),
                    ("agent_completed", Some(RunState::Open)) => Some(RunState::Done),
                    ("error", Some(RunState::Open | RunState::InTool)) => Some(RunState::Done),
                    _ => None,
                };
                match next {
                    Some(s) => {
                        runs.insert(run, s);
                    }
                    None => bad(format!(
                        "run {run}: {} out of order (after {})",
                        ev.kind,
                        match state {
                            None => "nothing",
                            Some(RunState::Open) => "a step",
                            Some(RunState::InTool) => "tool_executing",
                            Some(RunState::Done) => "the run's end",
                        }
                    )),
                }
            }
        }
    }
}

/// Messages sent = answered + rejected with an explicit error; nothing is
/// answered twice, answered unasked, or silently dropped on a live
/// connection.
pub fn accounting(users: &Users, end: Duration, out: &mut Vec<Violation>) {
    for (name, view) in users {
        let mut terminals: BTreeMap<&str, u32> = BTreeMap::new();
        let mine: BTreeSet<&str> = view.sent_ids().collect();
        for (n, conn) in &view.conns {
            let sent: BTreeSet<&str> = conn.sent.iter().map(|(_, m)| m.as_str()).collect();
            for (at, ev) in &conn.received {
                if !matches!(ev.kind.as_str(), "agent_completed" | "error") {
                    continue;
                }
                let Some(m) = ev.message_id.as_deref() else {
                    continue;
                };
                // An answer to someone else's message is isolation's to report.
                if !mine.contains(m) {
                    continue;
                }
                if !sent.contains(m) {
                    out.push(violation(
                        Invariant::Accounting,
                        name,
                        view,
                        *at,
                        format!("c{n} answer to {m}, which was not sent on this connection"),
                    ));
                }
                let count = terminals.entry(m).or_default();
                *count += 1;
                if *count == 2 {
                    out.push(violation(
                        Invariant::Accounting,
                        name,
                        view,
                        *at,
                        format!("c{n} {m} answered more than once"),
                    ));
                }
            }
            // A message still pending on a connection that stayed open to
            // the end, with no event of its run for a long time, was lost.
            if conn.closed.is_none()
                && let Some((sent_at, m)) = conn.sent.last()
            {
                let answered = conn.received.iter().any(|(_, e)| {
                    e.message_id.as_deref() == Some(m)
                        && matches!(e.kind.as_str(), "agent_completed" | "error")
                });
                let last_sign = conn
                    .received
                    .iter()
                    .filter(|(_, e)| e.message_id.as_deref() == Some(m))
                    .map(|(at, _)| *at)
                    .max()
                    .unwrap_or(*sent_at);
                if !answered && end.saturating_sub(last_sign) >= SILENT_DROP {
                    out.push(violation(
                        Invariant::Accounting,
                        name,
                        view,
                        end,
                        format!(
                            "c{n} {m} silently dropped: no event for {}s on an open connection",
                            end.saturating_sub(last_sign).as_secs()
                        ),
                    ));
                }
            }
        }
    }
}
