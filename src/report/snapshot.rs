//! The text of a snapshot: what a reviewer reads in a pull request's
//! snapshot diff (`tests/snapshots.rs` stores it under `snapshots/`).
//!
//! Derived from one [`Outcome`] and nothing else, like every report:
//! `trace -> oracle -> outcome -> snapshot text`. Two shapes:
//!
//! - [`render`]: a summary block (verdict, close codes, messages, trace
//!   hash, groups, violations), then the events a sample of users observed
//!   (every user when there are at most [`ALL_USERS_UP_TO`], otherwise the
//!   first, middle and last user by name), one line per event;
//! - [`render_full_trace`]: the same summary block, then the whole
//!   cross-host trace (`Trace::render`), so the lb -> gateway -> auth hops of
//!   one request can be read in order.
//!
//! Every line starts with the simulated time, so a behaviour change is a
//! one-line diff. Nothing is redacted: in a deterministic simulation a value
//! that differs between runs is a bug to see, not noise to hide.

use std::fmt::Write;
use std::time::Duration;

use crate::run::{Outcome, format_counts};
use crate::trace::{Event, Incoming, Kind, Trace, describe, format_time, outgoing};
use crate::vocab::ReadType;

/// Up to this many users, the per-user section shows every user.
pub const ALL_USERS_UP_TO: usize = 10;

/// Summary block, then the observed events of the sampled users.
pub fn render(outcome: &Outcome) -> String {
    let users = declared_users(&outcome.trace);
    let shown = sample(&users);
    let mut out = summary_block(outcome);
    if users.len() <= ALL_USERS_UP_TO {
        let _ = writeln!(out, "users       {} (all shown)", users.len());
    } else {
        let _ = writeln!(
            out,
            "users       {} (shown: first, middle, last: {})",
            users.len(),
            shown.join(", ")
        );
    }
    for user in shown {
        out.push('\n');
        out.push_str(&user_lines(&outcome.trace, user));
    }
    out
}

/// Summary block, then every event of the trace on every host.
pub fn render_full_trace(outcome: &Outcome) -> String {
    let mut out = summary_block(outcome);
    out.push('\n');
    out.push_str(&outcome.trace.render());
    out
}

/// The users a per-user section shows: all of `users` when there are at
/// most [`ALL_USERS_UP_TO`], otherwise the first, the middle and the last.
pub fn sample<'a>(users: &[&'a str]) -> Vec<&'a str> {
    if users.len() <= ALL_USERS_UP_TO {
        return users.to_vec();
    }
    let last = users.len() - 1;
    vec![users[0], users[last / 2], users[last]]
}

/// Every user the trace declares, in name order (`user-0001` first).
pub fn declared_users(trace: &Trace) -> Vec<&str> {
    let mut users: Vec<&str> = trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::UserDeclared { .. }))
        .filter_map(|e| e.user.as_deref())
        .collect();
    users.sort_unstable();
    users.dedup();
    users
}

/// Verdict, trace hash, messages, close codes (overall and per group), and
/// every violation with its time, user and detail.
pub fn summary_block(outcome: &Outcome) -> String {
    let s = &outcome.summary;
    let mut out = String::new();
    let _ = writeln!(out, "scenario    {}", outcome.scenario);
    let _ = writeln!(out, "seed        {}", outcome.seed);
    let _ = writeln!(out, "verdict     {}", outcome.verdict);
    let _ = writeln!(out, "trace hash  {}", outcome.trace_hash());
    let _ = writeln!(
        out,
        "sim time    {} ({} events)",
        format_time(Duration::from_millis(s.sim_ms)).trim(),
        s.events
    );
    let _ = writeln!(
        out,
        "messages    sent {}, answered {}, rejected {}",
        s.messages.sent, s.messages.answered, s.messages.rejected
    );
    let _ = writeln!(out, "close codes {}", format_counts(&s.close_codes));
    let _ = writeln!(out, "probes      {}", probes_reached(&outcome.trace));
    for (i, g) in &s.groups {
        let _ = writeln!(out, "group {:<5} {}", i + 1, g.describe());
    }
    if outcome.violations.is_empty() {
        let _ = writeln!(out, "violations  none");
    } else {
        let _ = writeln!(out, "violations  {}", outcome.violations.len());
        for v in &outcome.violations {
            let _ = writeln!(
                out,
                "  {} {} {} on {}: {}",
                format_time(v.at),
                v.invariant.as_str(),
                v.user.as_deref().unwrap_or("-"),
                v.host,
                v.what()
            );
        }
    }
    out
}

/// `no_gateway x30, reconnected x9`: the probes the run reached, with how
/// often, or `none`.
fn probes_reached(trace: &Trace) -> String {
    let coverage = crate::coverage::Coverage::of(trace);
    let reached: Vec<String> = crate::trace::Probe::ALL
        .iter()
        .filter(|p| coverage.hits(**p) > 0)
        .map(|p| format!("{p} x{}", coverage.hits(*p)))
        .collect();
    if reached.is_empty() {
        "none".into()
    } else {
        reached.join(", ")
    }
}

/// What `user` observed, one line per event: `time user dir what`, where
/// `dir` is `->` for what the user sent, `<-` for what reached it, and `..`
/// for the user's own steps (connecting, backing off, finishing). Server
/// log lines are left to the full trace.
pub fn user_lines(trace: &Trace, user: &str) -> String {
    // What the user observed is what its own client host recorded.
    let host = trace.events.iter().find_map(|e| match e.kind {
        Kind::UserDeclared { .. } if e.user.as_deref() == Some(user) => Some(&e.host),
        _ => None,
    });
    let mut out = String::new();
    for e in &trace.events {
        if e.user.as_deref() != Some(user) || Some(&e.host) != host {
            continue;
        }
        if let Some((dir, what)) = observed(e, user) {
            let _ = writeln!(out, "{} {user} {dir} {what}", format_time(e.at));
        }
    }
    out
}

/// The direction and text of one client-side event; `None` for kinds a
/// client host never records.
fn observed(e: &Event, user: &str) -> Option<(&'static str, String)> {
    let dir = match &e.kind {
        Kind::Fault(_)
        | Kind::Lb(_)
        | Kind::Gateway(_)
        | Kind::Pipeline(_)
        | Kind::Auth(_)
        | Kind::Stopped { .. } => return None,
        // What reached the user, told relative to the user.
        Kind::Received { conn, event } => {
            return Some(("<-", format!("c{conn} {}", received(event, user))));
        }
        Kind::Sent { conn, frame } => return Some(("->", format!("c{conn} {}", outgoing(frame)))),
        Kind::Closed {
            by_client: true, ..
        } => "->",
        Kind::HttpRejected { .. } | Kind::Opened { .. } | Kind::Closed { .. } => "<-",
        _ => "..",
    };
    Some((dir, describe(&e.kind)))
}

/// A received event's type and key fields. `user_id` is shown only when it
/// is not the receiving user (`user_id=-` when absent), so an event that
/// reached the wrong user stands out.
fn received(e: &Incoming, user: &str) -> String {
    let mut s = e.kind.to_string();
    if let Some(seq) = e.seq {
        let _ = write!(s, " seq={seq}");
    }
    match e.user_id.as_deref() {
        Some(id) if id == user => {}
        Some(id) => {
            let _ = write!(s, " user_id={id}");
        }
        None if e.kind != ReadType::Unparseable => s.push_str(" user_id=-"),
        None => {}
    }
    let fields = [
        ("run", &e.run_id),
        ("msg", &e.message_id),
        ("agent", &e.agent),
        ("tool", &e.tool),
        ("code", &e.code),
    ];
    for (name, value) in fields {
        if let Some(v) = value {
            let _ = write!(s, " {name}={v}");
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_everyone_up_to_ten_then_first_middle_last() {
        let names: Vec<String> = (1..=11).map(|i| format!("user-{i:04}")).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        assert_eq!(sample(&names[..10]), names[..10].to_vec());
        assert_eq!(sample(&names), vec!["user-0001", "user-0006", "user-0011"]);
    }
}
