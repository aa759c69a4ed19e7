//! Rendering trace events as text: one event per line, simulated time first,
//! so a behaviour change is a one-line diff and the trace hash is a hash of
//! exactly what a reviewer reads.

use std::fmt::Write;
use std::time::Duration;

use super::{Event, Incoming, Kind, Outgoing};
use crate::vocab::TokenKind;

/// `   12.345s`: fixed width, so columns line up in snapshots.
pub fn format_time(at: Duration) -> String {
    format!("{:>5}.{:03}s", at.as_secs(), at.subsec_millis())
}

/// One line, without the newline.
pub fn render_event(e: &Event) -> String {
    let mut line = String::new();
    write_event(&mut line, e);
    line
}

/// [`render_event`], appended to `out`: the hash and the full rendering
/// reuse one buffer instead of building a string per event.
pub fn write_event(out: &mut String, e: &Event) {
    let user = e.user.as_deref().unwrap_or("-");
    let (secs, millis) = (e.at.as_secs(), e.at.subsec_millis());
    let _ = write!(
        out,
        "{secs:>5}.{millis:03}s {:<9} {:<9} {}",
        e.host,
        user,
        describe(&e.kind)
    );
}

/// The event's own text, without time, host and user.
pub fn describe(kind: &Kind) -> String {
    match kind {
        Kind::UserDeclared { .. } => declared(kind),
        Kind::Fault(f) => format!("fault {f}"),
        Kind::TokenIssued {
            token,
            valid_until,
            refreshed,
        } => token_issued(*token, *valid_until, *refreshed),
        Kind::Connecting { conn, attempt } => format!("c{conn} connect attempt={attempt}"),
        Kind::ConnectFailed { conn, reason } => format!("c{conn} connect failed: {reason}"),
        Kind::HttpRejected { conn, status } => format!("c{conn} upgrade rejected http={status}"),
        Kind::Opened { conn, protocol } => match protocol {
            Some(p) => format!("c{conn} open protocol={p}"),
            None => format!("c{conn} open"),
        },
        Kind::Sent { conn, frame } => format!("c{conn} -> {}", outgoing(frame)),
        Kind::Received { conn, event } => format!("c{conn} <- {}", incoming(event)),
        Kind::Closed {
            conn,
            code,
            reason,
            by_client,
        } => {
            let by = if *by_client { "client" } else { "server" };
            if reason.is_empty() {
                format!("c{conn} closed {code} by {by}")
            } else {
                format!("c{conn} closed {code} by {by}: {reason}")
            }
        }
        Kind::Backoff { delay } => format!("backoff {}ms", delay.as_millis()),
        Kind::StoppedAtHeal { answered } => format!("stops at the heal ({answered} answered)"),
        Kind::Finished { outcome } => format!("finished: {outcome}"),
        Kind::Lb(e) => e.to_string(),
        Kind::Gateway(e) => e.to_string(),
        Kind::Pipeline(e) => e.to_string(),
        Kind::Auth(e) => e.to_string(),
        Kind::Probe(p) => format!("probe {p}"),
        Kind::Stopped { reason } => format!("simulation stopped: {reason}"),
    }
}

/// `declared group=1 token=valid via=[header] messages=3 entitled=yes`.
fn declared(kind: &Kind) -> String {
    let Kind::UserDeclared {
        group,
        token,
        via,
        messages,
        entitled,
        misbehave,
    } = kind
    else {
        return String::new();
    };
    let via: Vec<&str> = via.iter().map(|v| v.as_str()).collect();
    let mut line = format!(
        "declared group={} token={} via=[{}] messages={messages} entitled={}",
        group + 1,
        token.as_str(),
        via.join(","),
        if *entitled { "yes" } else { "no" }
    );
    if !misbehave.is_none() {
        let _ = write!(line, " misbehave={misbehave}");
    }
    line
}

/// `token issued valid expires=3600.000s`, `token refreshed ...`.
fn token_issued(token: TokenKind, valid_until: Option<Duration>, refreshed: bool) -> String {
    let verb = if refreshed { "refreshed" } else { "issued" };
    match valid_until {
        Some(t) => format!(
            "token {verb} {token} expires={}",
            format_time(t).trim_start()
        ),
        None => format!("token {verb} {token}"),
    }
}

/// A sent frame: its type and key fields.
pub fn outgoing(f: &Outgoing) -> String {
    let mut s = f.kind.to_string();
    if let Some(m) = &f.message_id {
        let _ = write!(s, " msg={m}");
    }
    if let Some(a) = &f.agent {
        let _ = write!(s, " agent={a}");
    }
    let _ = write!(s, " bytes={}", f.bytes);
    s
}

fn incoming(e: &Incoming) -> String {
    let mut s = e.kind.to_string();
    let fields: [(&str, &Option<super::Shared>); 6] = [
        ("user", &e.user_id),
        ("run", &e.run_id),
        ("msg", &e.message_id),
        ("agent", &e.agent),
        ("tool", &e.tool),
        ("code", &e.code),
    ];
    if let Some(seq) = e.seq {
        let _ = write!(s, " seq={seq}");
    }
    for (name, value) in fields {
        if let Some(v) = value {
            let _ = write!(s, " {name}={v}");
        }
    }
    s
}
