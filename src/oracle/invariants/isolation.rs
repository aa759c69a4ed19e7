//! `isolation`: every event a user receives carries that user's id and
//! belongs to a run that user started; and every event of a user's run
//! reaches that user.
//!
//! Three causes: the receiver's side (`foreign_event`), and the owner's
//! side, named from the message id (`events_misdelivered`: its events went
//! to someone else) or from the gateway's record of outputs handed to a
//! closed connection (`events_lost`).

use std::collections::{BTreeMap, BTreeSet};

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::{UserView, Users, conn_of};
use crate::scenario::Cause;
use crate::trace::Incoming;
use crate::vocab::{ReadType, ServerType};

pub fn isolation(users: &Users, out: &mut Vec<Violation>) {
    // Who sent each message id, and on which connection.
    let mut sender: BTreeMap<&str, (&str, u32)> = BTreeMap::new();
    for (name, view) in users {
        for (n, conn) in &view.conns {
            for (_, m) in &conn.sent {
                sender.insert(m, (name, *n));
            }
        }
    }
    for (name, view) in users {
        let mine: BTreeSet<&str> = view.sent_ids().collect();
        for (n, conn) in &view.conns {
            // Runs this connection saw start for one of the user's messages.
            let mut runs: BTreeSet<&str> = BTreeSet::new();
            for (at, ev) in &conn.received {
                let Some(detail) = foreign(name, &mine, &mut runs, ev) else {
                    continue;
                };
                out.push(violation(
                    Cause::ForeignEvent,
                    name,
                    view,
                    *at,
                    Some(*n),
                    format!("c{n} {detail}"),
                ));
                let owner = ev.message_id.as_deref().and_then(|m| sender.get(m));
                if let Some(&(victim, vconn)) = owner
                    && victim != &**name
                    && let Some(vview) = users.get(victim)
                {
                    let m = ev.message_id.as_deref().unwrap_or_default();
                    let detail =
                        format!("c{vconn} events of its message {m} were delivered to {name}");
                    out.push(violation(
                        Cause::EventsMisdelivered,
                        victim,
                        vview,
                        *at,
                        Some(vconn),
                        detail,
                    ));
                }
            }
        }
        lost(name, view, out);
    }
}

/// Why `ev`, received by `name`, is not that user's own; `None` when it is.
fn foreign<'a>(
    name: &str,
    mine: &BTreeSet<&str>,
    runs: &mut BTreeSet<&'a str>,
    ev: &'a Incoming,
) -> Option<String> {
    if ev.kind == ReadType::Unparseable {
        return None;
    }
    if ev.user_id.as_deref() != Some(name) {
        let to = ev.user_id.as_deref().unwrap_or("nobody");
        return Some(format!("received {} addressed to {to}", ev.kind));
    }
    if let Some(m) = &ev.message_id
        && !mine.contains(&**m)
    {
        return Some(format!(
            "received {} for message {m} it never sent",
            ev.kind
        ));
    }
    let r = ev.run_id.as_deref()?;
    if ev.kind.is(ServerType::AgentStarted) {
        runs.insert(r);
        None
    } else if !runs.contains(r) {
        Some(format!("received {} of run {r} it did not start", ev.kind))
    } else {
        None
    }
}

/// Outputs of the user's runs that the gateway handed to a closed
/// connection: nobody will ever see them.
fn lost(name: &str, view: &UserView, out: &mut Vec<Violation>) {
    for (at, run, to) in &view.lost {
        let conn = conn_of(view, run.conn);
        let detail = format!("events of run {run} were handed to {to}, which had closed");
        out.push(violation(Cause::EventsLost, name, view, *at, conn, detail));
    }
}
