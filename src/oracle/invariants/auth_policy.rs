//! `auth_policy`, judged per connection attempt from both sides: the
//! token the user actually presented at that simulated time, what the
//! user saw, and what the gateway did.
//!
//! An attempt whose token was not valid when it started (wrong kind,
//! expired, or sent only by a channel the load balancer strips) must never
//! be admitted, by the gateway (an identity accepted, a run started) or as
//! the user saw it (unless it expired less than auth's `[auth] leeway`
//! before, which auth may forgive), and must be refused with 1008. An attempt whose token
//! stayed valid to its end must not be refused with 1008. A token that
//! expired during the attempt may be answered either way.

use std::collections::BTreeSet;
use std::time::Duration;

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::{ConnView, Presented, Skews, UserView, Users};
use crate::scenario::{Cause, TokenKind, TokenVia};
use crate::vocab::ServerType;

/// Closes an invalid token may get: 1008, or a code that says nothing
/// about the token (a drain, a lost transport, a restart, a dependency not
/// ready) or is no_1011's to report.
const ALLOWED_FOR_INVALID: [u16; 6] = [1008, 1001, 1006, 1011, 1012, 1013];

pub fn auth_policy(
    users: &Users,
    stripped: &BTreeSet<&str>,
    skews: &Skews,
    leeway: Duration,
    end: Duration,
    out: &mut Vec<Violation>,
) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            let Some((start, token)) = conn.connecting else {
                continue;
            };
            let finish = conn.closed.as_ref().map_or(end, |c| c.0);
            let valid = |at| valid_at(view, stripped, token, at);
            let refused = conn.closed.as_ref().filter(|c| !c.3);
            if !valid(start) {
                // Auth may admit a token up to its leeway past `exp`.
                let forgiven = valid_at(view, stripped, token, start.saturating_sub(leeway));
                if let Some((at, what)) = admitted(conn).filter(|_| !forgiven) {
                    let detail = format!(
                        "c{n} admitted with {}: {what}",
                        describe(view, stripped, token, start)
                    );
                    let v = violation(
                        Cause::AdmittedWithoutValidToken,
                        name,
                        view,
                        at,
                        Some(*n),
                        detail,
                    );
                    out.push(v);
                }
                if let Some((at, code, reason, _)) = refused
                    && !ALLOWED_FOR_INVALID.contains(code)
                {
                    let detail =
                        format!("c{n} invalid token closed with {code} instead of 1008: {reason}");
                    out.push(violation(
                        Cause::RefusedWithWrongCode,
                        name,
                        view,
                        *at,
                        Some(*n),
                        detail,
                    ));
                }
            } else if valid(finish)
                && let Some((at, 1008, reason, _)) = refused
            {
                // A clock off by more than the leeway makes the refusal
                // honest: the environment's doing, not the backend's.
                let skewed = skews.beyond_leeway_at(start) || skews.beyond_leeway_at(*at);
                let (cause, why) = if skewed {
                    let why = "valid token refused under a clock skew beyond auth's leeway";
                    (Cause::RefusedUnderClockSkew, why)
                } else {
                    (Cause::ValidTokenRefused, "valid token refused")
                };
                let detail = format!("c{n} {why} with 1008: {reason}");
                out.push(violation(cause, name, view, *at, Some(*n), detail));
            }
        }
    }
}

/// Whether the gateway could see a valid token on an attempt at `at`.
pub(crate) fn valid_at(
    view: &UserView,
    stripped: &BTreeSet<&str>,
    token: Presented,
    at: Duration,
) -> bool {
    deliverable(view, stripped)
        && token.kind == TokenKind::Valid
        && token.valid_until.is_some_and(|until| at < until)
}

/// Whether the token reaches the gateway: by subprotocol, or by a header
/// the load balancer does not strip.
fn deliverable(view: &UserView, stripped: &BTreeSet<&str>) -> bool {
    view.via.contains(&TokenVia::Subprotocol)
        || (view.via.contains(&TokenVia::Header) && !stripped.contains("authorization"))
}

/// What was wrong with the token, for the violation's detail.
fn describe(view: &UserView, stripped: &BTreeSet<&str>, token: Presented, at: Duration) -> String {
    match token.kind {
        TokenKind::Valid if !deliverable(view, stripped) => {
            "a token the load balancer strips".into()
        }
        TokenKind::Valid if token.valid_until.is_some_and(|u| u <= at) => {
            "a token that had expired".into()
        }
        TokenKind::Valid => "a valid token".into(),
        TokenKind::Missing => "no token".into(),
        TokenKind::Expired => "an expired token".into(),
        kind => format!("a {kind} token"),
    }
}

/// The first sign that the connection was admitted: the gateway accepted
/// an identity for it, or the user saw it established or an agent event.
fn admitted(conn: &ConnView) -> Option<(Duration, String)> {
    let server = conn.server.as_ref().and_then(|s| {
        Some((
            s.admitted?,
            format!("gateway {} accepted an identity", s.id),
        ))
    });
    let client = conn
        .received
        .iter()
        .find(|(_, e)| e.kind.is(ServerType::ConnectionEstablished) || e.is_agent_event())
        .map(|(at, e)| (*at, format!("received {}", e.kind)));
    match (server, client) {
        (Some(s), Some(c)) => Some(if c.0 < s.0 { c } else { s }),
        (s, c) => s.or(c),
    }
}
