//! `observed.json`: a recording judged by the oracle, as `run --json`
//! writes a simulated run, with what the oracle could and could not see.
//!
//! `journal::Entry`s + the inferred scenario's groups -> a client-side
//! `Trace` (each user declared in its group, the token kind it showed,
//! its connections' events) -> `run::judge` -> only the invariants the
//! client's side settles -> `report::to_json` plus a `record` section.
//! `diagnose --observed DIR` reads this file.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use serde_json::{Value, json};

use super::conn::CLIENT_HOST;
use super::journal::{Entry, What};
use crate::oracle::Violation;
use crate::run::Outcome;
use crate::scenario::{Invariant, Misbehave, Scenario, TokenKind};
use crate::trace::{Component, Event, Kind, Trace, UserEnd};

/// The invariants a recording settles, and why the others are left out.
fn judged(tokens_checked: bool) -> (Vec<Invariant>, Vec<(Invariant, &'static str)>) {
    let mut judged = vec![
        Invariant::No1011,
        Invariant::Isolation,
        Invariant::EventGrammar,
    ];
    let mut not = vec![
        (
            Invariant::Liveness,
            "what each client meant to send and whether it gave up are in the client, not on the wire",
        ),
        (
            Invariant::Accounting,
            "the explicit refusals' causes are in the backend, which record does not see",
        ),
        (
            Invariant::Capacity,
            "the backend's own connection and pool counts are not on the wire",
        ),
    ];
    if tokens_checked {
        judged.push(Invariant::AuthPolicy);
    } else {
        not.push((
            Invariant::AuthPolicy,
            "token kinds are known only with --secret",
        ));
    }
    (judged, not)
}

/// The client-side trace of the recording.
pub fn trace(
    entries: &[Entry],
    group_of: &BTreeMap<String, usize>,
    scenario: &Scenario,
    end: Duration,
) -> Trace {
    let host: Rc<str> = Rc::from(CLIENT_HOST);
    let mut events = Vec::with_capacity(entries.len() + group_of.len());
    declare_users(&mut events, &host, group_of, scenario);
    // A user whose last connection it closed itself with 1000 is done, as
    // a simulated user finishes; of any other, the wire cannot say.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, e) in entries.iter().enumerate() {
        last.insert(&e.user, i);
    }
    for (i, e) in entries.iter().enumerate() {
        if let What::Closed { code, reason, side } = &e.what {
            let closed = closed_kind(e.conn, *code, reason, side);
            events.push(event(e.at(), &host, &e.user, closed));
            if last.get(e.user.as_str()) == Some(&i) && *code == 1000 && side == "client" {
                let done = Kind::Finished {
                    outcome: UserEnd::Done,
                };
                events.push(event(e.at(), &host, &e.user, done));
            }
            continue;
        }
        for kind in entry_kinds(e, end) {
            events.push(event(e.at(), &host, &e.user, kind));
        }
    }
    Trace { events, end }
}

/// Each recorded user, declared in its inferred group, at time zero.
fn declare_users(
    events: &mut Vec<Event>,
    host: &Rc<str>,
    group_of: &BTreeMap<String, usize>,
    scenario: &Scenario,
) {
    let mut names: Vec<(&usize, &String)> = group_of.iter().map(|(u, g)| (g, u)).collect();
    names.sort();
    for (group, name) in names {
        let g = &scenario.users[*group];
        let declared = Kind::UserDeclared {
            group: *group,
            token: g.token,
            via: g.send_token_via.clone(),
            messages: g.messages,
            entitled: g.token == TokenKind::Valid && !g.send_token_via.is_empty(),
            misbehave: Misbehave::None,
        };
        events.push(event(Duration::ZERO, host, name, declared));
    }
}

/// The trace events of one journal entry other than a close: a connect
/// (with the token it carried), an HTTP refusal, an upgrade, or a frame
/// whose message could be read.
fn entry_kinds(e: &Entry, end: Duration) -> Vec<Kind> {
    let kind = match &e.what {
        What::Connecting { token, .. } => {
            let kind = token.parse().unwrap_or(TokenKind::Valid);
            let issued = Kind::TokenIssued {
                token: kind,
                valid_until: (kind == TokenKind::Valid).then_some(end + Duration::from_secs(3600)),
                refreshed: false,
            };
            let connecting = Kind::Connecting {
                conn: e.conn,
                attempt: 1,
            };
            return vec![issued, connecting];
        }
        What::HttpRejected { status } => Kind::HttpRejected {
            conn: e.conn,
            status: *status,
        },
        What::Opened { protocol } => Kind::Opened {
            conn: e.conn,
            protocol: protocol.clone(),
        },
        What::Frame {
            dir,
            bytes,
            message: Some(m),
            ..
        } => match dir.as_str() {
            "up" => Kind::Sent {
                conn: e.conn,
                frame: m.outgoing(*bytes),
            },
            _ => Kind::Received {
                conn: e.conn,
                event: m.incoming(),
            },
        },
        What::Frame { .. } | What::Closed { .. } => return Vec::new(),
    };
    vec![kind]
}

fn closed_kind(conn: u32, code: u16, reason: &str, side: &str) -> Kind {
    Kind::Closed {
        conn,
        code,
        reason: reason.to_string(),
        by_client: side == "client",
    }
}

fn event(at: Duration, host: &Rc<str>, user: &str, kind: Kind) -> Event {
    Event {
        at,
        host: host.clone(),
        user: Some(Rc::from(user)),
        kind,
    }
}

/// Judge the recording's trace: only the invariants it settles, each
/// 1011 blaming the component its close reason names (the gateway's own
/// record of it is on the other side of the wire).
pub fn judge(scenario: &Scenario, trace: Trace, tokens_checked: bool) -> Outcome {
    let mut outcome = crate::run::judge(scenario, 0, trace);
    let (judged, _) = judged(tokens_checked);
    outcome.violations.retain(|v| judged.contains(&v.invariant));
    for v in &mut outcome.violations {
        blame_from_reason(v);
    }
    outcome.verdict = crate::oracle::verdict(&outcome.violations, &scenario.expect);
    outcome.live = true;
    // The server's side is not in the trace: its coverage is unknown.
    outcome.target = Some(crate::run::TargetNotes::default());
    outcome
}

fn blame_from_reason(v: &mut Violation) {
    if v.component.is_none()
        && let Some(reason) = &v.reason
    {
        v.component = Component::ALL
            .into_iter()
            .find(|c| reason.starts_with(c.words()));
    }
}

/// `observed.json`: `run --json`'s object and a `record` section.
pub fn json(outcome: &Outcome, tokens_checked: bool, still_open: u64) -> Value {
    let mut v = crate::report::to_json(outcome, "");
    let (judged, not) = judged(tokens_checked);
    v["record"] = json!({
        "sees": "the client's side of every connection through record's lb: upgrades, \
                 answers, frames both ways, closes; not the backend's own events",
        "judged": judged.iter().map(|i| i.as_str()).collect::<Vec<_>>(),
        "not_judged": not.iter().map(|(i, why)| json!({"invariant": i.as_str(), "why": why}))
            .collect::<Vec<_>>(),
        "tokens_checked": tokens_checked,
        "still_open_at_stop": still_open,
    });
    v
}
