//! `liveness`: every entitled user gets in, and (where the scenario
//! expects it, `all_answered`) every message of theirs is answered with
//! `agent_completed` or an `error` event before the run ends.
//!
//! A user refused 1008 when its token was no longer valid (it expired, and
//! refresh was off or came too late) is locked out honestly: it is owed
//! nothing more.
//! `all_answered = false` relaxes answers only; admission is always owed.
//!
//! Both are judged at convergence: after the heal phase (docs/design.md),
//! a user who stopped at the heal is owed only the messages it sent, and a
//! user still busy when the heal phase ran out is reported once, as
//! `did_not_converge` with what it was waiting on, not also as unadmitted
//! or unanswered.

use std::collections::BTreeSet;
use std::time::Duration;

use super::auth_policy::valid_at;
use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::{UserView, Users};
use crate::scenario::Cause;
use crate::vocab::{MessageId, ServerType};

/// Every user has finished by the end of a run that reached the heal:
/// the heal phase converged.
pub fn convergence(
    users: &Users,
    heal_at: Option<Duration>,
    end: Duration,
    out: &mut Vec<Violation>,
) {
    let Some(heal_at) = heal_at else { return };
    for (name, view) in users {
        if stuck(view, Some(heal_at)) {
            let detail = format!(
                "still busy {}ms after the heal began: {}",
                end.saturating_sub(heal_at).as_millis(),
                waiting_on(view)
            );
            out.push(violation(
                Cause::DidNotConverge,
                name,
                view,
                end,
                None,
                detail,
            ));
        }
    }
}

/// Whether the user was still busy when a run that reached the heal ended.
fn stuck(view: &UserView, heal_at: Option<Duration>) -> bool {
    heal_at.is_some() && view.finished.is_none()
}

/// What a user that did not finish was waiting on, from its last
/// connection: admission, an answer (and from which run), or a reconnect.
fn waiting_on(view: &UserView) -> String {
    let Some((n, c)) = view.conns.iter().next_back() else {
        return "its arrival (no connection attempt yet)".into();
    };
    if let Some((_, code, ..)) = c.closed {
        return format!("a reconnect: c{n} closed {code}, backing off");
    }
    let established = c
        .received
        .iter()
        .any(|(_, e)| e.kind.is(ServerType::ConnectionEstablished));
    // Established implies open, whatever else was recorded.
    if !established {
        return match c.opened {
            false => format!("admission: c{n} connecting"),
            true => format!("admission: c{n} open, no connection_established"),
        };
    }
    let Some((_, m)) = c.sent.last() else {
        return format!("nothing visible on c{n}");
    };
    let last = c
        .received
        .iter()
        .rev()
        .find(|(_, e)| e.message_id.as_deref() == Some(m));
    match last {
        Some((_, e)) => format!(
            "an answer to {m} on c{n} (run {}, last event {})",
            e.run_id.as_deref().unwrap_or("?"),
            e.kind
        ),
        None => format!("an answer to {m} on c{n} (no event of its run)"),
    }
}

/// Every entitled user receives `connection_established`.
pub fn admission(
    users: &Users,
    stripped: &BTreeSet<&str>,
    heal_at: Option<Duration>,
    end: Duration,
    out: &mut Vec<Violation>,
) {
    for (name, view) in users {
        if !owed(view, stripped) || stuck(view, heal_at) {
            continue;
        }
        if !got_in(view) {
            let (at, why) = how_it_ended(view, end, "still trying");
            let detail = format!("never received connection_established; {why}");
            out.push(violation(
                Cause::NeverAdmitted,
                name,
                view,
                at,
                None,
                detail,
            ));
        }
    }
}

/// Every message of every admitted, entitled user is answered: all it
/// declared, or, if it stopped at the heal, all it sent.
pub fn answers(
    users: &Users,
    stripped: &BTreeSet<&str>,
    heal_at: Option<Duration>,
    end: Duration,
    out: &mut Vec<Violation>,
) {
    for (name, view) in users {
        if !owed(view, stripped) || stuck(view, heal_at) {
            continue;
        }
        let messages = view.stopped_at_heal.unwrap_or(view.messages);
        let answered: BTreeSet<&str> = view
            .conns
            .values()
            .flat_map(|c| c.received.iter())
            .filter(|(_, e)| e.is_terminal())
            .filter_map(|(_, e)| e.message_id.as_deref())
            .collect();
        // The user's own ids, message 1 to N (`MessageId`); counted, not
        // built, so a huge `messages` costs no memory.
        let answered_own = answered
            .iter()
            .filter_map(|m| MessageId::parse(m))
            .filter(|id| id.user == &**name && (1..=messages).contains(&id.k))
            .count() as u32;
        let missing = messages - answered_own;
        if missing == 0 || !got_in(view) {
            continue;
        }
        let first = (1..=messages)
            .find(|k| !answered.contains(MessageId::new(name, *k).to_string().as_str()))
            .unwrap_or(1);
        let first = MessageId::new(name, first);
        let (at, why) = how_it_ended(view, end, "still waiting");
        let detail = format!(
            "{missing} of {} messages unanswered (first {first}); {why}",
            messages
        );
        out.push(violation(Cause::Unanswered, name, view, at, None, detail));
    }
}

/// Whether the user ever received `connection_established`.
fn got_in(view: &UserView) -> bool {
    view.conns.values().any(|c| {
        c.received
            .iter()
            .any(|(_, e)| e.kind.is(ServerType::ConnectionEstablished))
    })
}

/// Whether the user is owed admission and answers: entitled, sends no
/// frame that forfeits them, and not locked out by its own expired token.
fn owed(view: &UserView, stripped: &BTreeSet<&str>) -> bool {
    view.entitled && !view.forfeits && !locked_out_by_token(view, stripped)
}

/// Refused 1008 on an attempt whose token was no longer valid when it was
/// refused: expired before the attempt, or during it.
fn locked_out_by_token(view: &UserView, stripped: &BTreeSet<&str>) -> bool {
    view.conns
        .values()
        .any(|c| match (&c.closed, c.connecting) {
            (Some((at, 1008, _, false)), Some((_, token))) => !valid_at(view, stripped, token, *at),
            _ => false,
        })
}

/// When and how the user's story ended, for a violation's time and detail.
fn how_it_ended(view: &UserView, end: Duration, still: &str) -> (Duration, String) {
    match &view.finished {
        Some((at, outcome)) => (*at, format!("user finished: {outcome}")),
        None => (end, format!("{still} when the run ended")),
    }
}
