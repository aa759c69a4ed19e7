//! `accounting`: messages sent = answered + rejected with an explicit
//! error; nothing is answered twice, answered on another connection, or
//! silently dropped on a live connection.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::{ConnView, Users};
use crate::scenario::Cause;

/// How long a message may wait on an open connection with no sign of its
/// run before it counts as silently dropped.
const SILENT_DROP: Duration = Duration::from_secs(60);

/// Messages sent = answered + rejected with an explicit error; nothing is
/// answered twice, answered on another connection, or silently dropped on
/// a live connection.
pub fn accounting(users: &Users, end: Duration, out: &mut Vec<Violation>) {
    for (name, view) in users {
        let mut terminals: BTreeMap<&str, u32> = BTreeMap::new();
        let mine: BTreeSet<&str> = view.sent_ids().collect();
        for (&n, conn) in &view.conns {
            let sent: BTreeSet<&str> = conn.sent.iter().map(|(_, m)| m.as_str()).collect();
            for (at, m) in answers(conn) {
                // An answer to someone else's message is isolation's to report.
                if !mine.contains(m) {
                    continue;
                }
                let mut push = |cause, detail| {
                    out.push(violation(cause, name, view, at, Some(n), detail));
                };
                if !sent.contains(m) {
                    let detail =
                        format!("c{n} answer to {m}, which was not sent on this connection");
                    push(Cause::AnsweredElsewhere, detail);
                }
                let count = terminals.entry(m).or_default();
                *count += 1;
                if *count == 2 {
                    push(
                        Cause::AnsweredTwice,
                        format!("c{n} {m} answered more than once"),
                    );
                }
            }
            if let Some(detail) = silently_dropped(n, conn, end) {
                out.push(violation(
                    Cause::SilentlyDropped,
                    name,
                    view,
                    end,
                    Some(n),
                    detail,
                ));
            }
        }
    }
}

/// `(at, message_id)` of every answer (`agent_completed` or `error`) the
/// connection received.
fn answers(conn: &ConnView) -> impl Iterator<Item = (Duration, &str)> {
    conn.received.iter().filter_map(|(at, e)| {
        let terminal = e.is_terminal();
        Some((*at, e.message_id.as_deref().filter(|_| terminal)?))
    })
}

/// A message still pending on a connection that stayed open to the end,
/// with no event of its run for [`SILENT_DROP`], was lost.
fn silently_dropped(n: u32, conn: &ConnView, end: Duration) -> Option<String> {
    if conn.closed.is_some() {
        return None;
    }
    let (sent_at, m) = conn.sent.last()?;
    if answers(conn).any(|(_, a)| a == m) {
        return None;
    }
    let last_sign = conn
        .received
        .iter()
        .filter(|(_, e)| e.message_id.as_deref() == Some(m))
        .map(|(at, _)| *at)
        .max()
        .unwrap_or(*sent_at);
    let quiet = end.saturating_sub(last_sign);
    (quiet >= SILENT_DROP).then(|| {
        format!(
            "c{n} {m} silently dropped: no event for {}s on an open connection",
            quiet.as_secs()
        )
    })
}
