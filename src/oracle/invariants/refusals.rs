//! `accounting`'s `refused_without_cause`: an `error` event is an answer
//! only when the trace shows the condition it names. Otherwise a backend
//! that refuses everything would pass every scenario.
//!
//! - `overloaded` (for a run): the pool recorded a timeout of that run,
//!   and the pool's own take and return events show it full at some moment
//!   while the run waited ([`Servers`]);
//! - `overloaded` (for a message, no run): the gateway recorded that it
//!   refused that message on that connection at its limit of runs in
//!   flight;
//! - `unknown_agent` (for a message): the user sent that message, on that
//!   connection, to an agent the protocol does not have;
//! - `unknown_message_type`: the user sent that connection at least as
//!   many frames of an unknown type as it got these errors;
//! - any other code, or none: never legitimate.

use std::collections::BTreeMap;

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::{ConnView, Users};
use crate::oracle::server::Servers;
use crate::scenario::Cause;
use crate::services::pipeline::supervisor_pick;
use crate::trace::{ERROR_CODES, Incoming};
use crate::vocab::ServerType;

/// Every `error` a user received names a condition the trace shows.
pub fn refusals(users: &Users, servers: &Servers, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (&n, conn) in &view.conns {
            let mut unknown_type_answers = 0;
            for (at, ev) in conn
                .received
                .iter()
                .filter(|(_, e)| e.kind.is(ServerType::Error))
            {
                let code = ev.code.as_deref().unwrap_or("");
                if code == "unknown_message_type" {
                    unknown_type_answers += 1;
                }
                let why = match code {
                    "overloaded" => overloaded_without_cause(ev, conn, servers),
                    "unknown_agent" => unknown_agent_without_cause(ev, conn),
                    "unknown_message_type" => {
                        let sent = unknown_types_sent_by(conn, *at);
                        (unknown_type_answers > sent).then(|| {
                            format!("{unknown_type_answers} unknown_message_type answers to {sent} frames of an unknown type")
                        })
                    }
                    "" => Some("an error without a code".to_string()),
                    other => {
                        debug_assert!(!ERROR_CODES.contains(&other), "every code is judged above");
                        Some(format!("code {other:?} is not in the protocol"))
                    }
                };
                if let Some(why) = why {
                    let about = ev.message_id.as_deref().unwrap_or("a frame");
                    let detail = format!("c{n} error for {about} without cause: {why}");
                    out.push(violation(
                        Cause::RefusedWithoutCause,
                        name,
                        view,
                        *at,
                        Some(n),
                        detail,
                    ));
                }
            }
        }
    }
}

/// Why an `overloaded` answer is not backed by a saturated pool, if it is
/// not.
fn overloaded_without_cause(ev: &Incoming, conn: &ConnView, servers: &Servers) -> Option<String> {
    let Some(run) = ev.run_id.as_deref() else {
        return over_run_limit_without_cause(ev, conn);
    };
    if !servers.visible {
        return Some(format!(
            "the server's side of run {run} is not in the trace"
        ));
    }
    let Some(t) = servers.pool_timeouts.get(run) else {
        return Some(format!("no pool timeout recorded for run {run}"));
    };
    let boot = servers.boots.get(&t.run.conn.boot);
    let full = boot.is_some_and(|b| b.pool_full_during(t.at.saturating_sub(t.waited), t.at));
    (!full).then(|| {
        let size = boot
            .and_then(|b| b.db_pool)
            .map_or("?".to_string(), |s| s.to_string());
        format!("run {run} gave up waiting, but the pool of {size} was never full while it waited")
    })
}

/// Why an `overloaded` that names no run is not backed by the gateway's
/// refusal of that message at its run limit, on this connection, if it is
/// not.
fn over_run_limit_without_cause(ev: &Incoming, conn: &ConnView) -> Option<String> {
    let Some(m) = ev.message_id.as_deref() else {
        return Some("overloaded names no run and no message".into());
    };
    let refused = conn
        .server
        .as_ref()
        .is_some_and(|s| s.run_limited.iter().any(|r| r == m));
    (!refused).then(|| {
        format!("overloaded names no run, and the server recorded no run limit reached for {m}")
    })
}

/// Why an `unknown_agent` answer is not backed by a message to an unknown
/// agent on this connection, if it is not.
fn unknown_agent_without_cause(ev: &Incoming, conn: &ConnView) -> Option<String> {
    let Some(m) = ev.message_id.as_deref() else {
        return Some("unknown_agent names no message".into());
    };
    let agents: BTreeMap<&str, Option<&str>> = conn
        .sent_agents
        .iter()
        .map(|(m, a)| (m.as_str(), a.as_deref()))
        .collect();
    match agents.get(m) {
        None => Some(format!("{m} was not sent on this connection")),
        Some(Some(agent)) if supervisor_pick(agent).is_some() => {
            Some(format!("{m} asked for {agent}, which exists"))
        }
        Some(_) => None,
    }
}

/// How many frames of a type the protocol does not have the user sent on
/// this connection up to `until`.
fn unknown_types_sent_by(conn: &ConnView, until: std::time::Duration) -> u32 {
    conn.unknown_types_sent
        .iter()
        .filter(|at| **at <= until)
        .count() as u32
}
