//! Classes and words: the class each event's mark is drawn with, chosen by
//! its variant, and the short words on client marks and auth answers. The
//! trace's own words (`describe`) are used as they are; nothing here reads
//! them back.

use crate::trace::{AuthEvent, ConnEvent, Incoming, Kind, LbEvent, Shared, UserEnd, describe};
use crate::vocab::{ClientType, ServerType};

/// The colour class of a close code: `ok` 1000, `policy` 1008, `retry`
/// 1001/1012/1013, `defect` 1011, `lost` 1006, `proto` the rest.
pub fn code_class(code: u16) -> &'static str {
    match code {
        1000 => "ok",
        1008 => "policy",
        1001 | 1012 | 1013 => "retry",
        1011 => "defect",
        1006 => "lost",
        _ => "proto",
    }
}

/// The colour class of a refused upgrade's HTTP status.
pub fn http_class(status: u16) -> &'static str {
    match status {
        503 => "retry",
        _ => "proto",
    }
}

/// `http ok` for a 101, `http retry` for a 503, ...: the class of an lb
/// answer, after `note ` on its mark and `request ` on its span.
pub(super) fn lb_answer_class(status: u16) -> String {
    match status {
        101 => "http ok".to_string(),
        s => format!("http {}", http_class(s)),
    }
}

/// The class of an lb event's mark.
pub(super) fn lb_class(ev: &LbEvent) -> String {
    match (ev, ev.status()) {
        (_, Some(status)) => format!("note {}", lb_answer_class(status)),
        (LbEvent::Forwarded { stripped, .. }, None) if !stripped.is_empty() => "note strip".into(),
        _ => "note".into(),
    }
}

/// The class of a gateway connection event's mark.
pub(super) fn conn_class(ev: &ConnEvent) -> String {
    match ev {
        ConnEvent::AuthRetry { .. } => "note retry".into(),
        ConnEvent::Routed { .. } => "note route".into(),
        ConnEvent::Close { code, .. } => format!("note close c{code} {}", code_class(*code)),
        // The defective staging bypass let someone in without a token.
        ConnEvent::Bypassed { .. } => "note defect".into(),
        _ => "note".into(),
    }
}

/// `ok` for a token auth accepted, `policy` for any other answer.
pub(super) fn auth_answer_class(status: u16) -> &'static str {
    if status == 200 { "ok" } else { "policy" }
}

/// auth's answer as the gateway reads it: `200 user-0001`, `401 expired`,
/// `400 no token in body`, `404`.
pub(super) fn auth_answer_text(ev: &AuthEvent, status: u16) -> String {
    match ev {
        AuthEvent::Validated { user } => format!("{status} {user}"),
        AuthEvent::Refused { reason } => format!("{status} {}", reason.as_str()),
        AuthEvent::NoToken => format!("{status} no token in body"),
        _ => status.to_string(),
    }
}

/// The class of a client event's mark.
pub(super) fn client_class(kind: &Kind) -> String {
    match kind {
        Kind::TokenIssued {
            refreshed: true, ..
        } => "token refreshed".into(),
        Kind::TokenIssued { .. } => "token".into(),
        Kind::Connecting { .. } => "connect".into(),
        Kind::ConnectFailed { .. } => "failed lost".into(),
        Kind::HttpRejected { status, .. } => format!("rejected {}", http_class(*status)),
        Kind::Opened { .. } => "open".into(),
        Kind::Sent { frame, .. } if frame.kind.is(ClientType::UserMessage) => "send".into(),
        Kind::Sent { .. } => "send other".into(),
        Kind::Received { event, .. } => match event.kind.server() {
            Some(ServerType::AgentCompleted) => "recv done".into(),
            Some(ServerType::Error) => "recv error".into(),
            Some(ServerType::ConnectionEstablished) => "recv established".into(),
            Some(ServerType::ToolExecuting | ServerType::ToolCompleted) => "recv tool".into(),
            _ => "recv".into(),
        },
        Kind::Closed { code, .. } => format!("close c{code} {}", code_class(*code)),
        Kind::Backoff { .. } => "backoff".into(),
        Kind::Finished {
            outcome: UserEnd::Done,
        } => "finished ok".into(),
        Kind::Finished { .. } => "finished".into(),
        _ => "note".into(),
    }
}

/// A client event's text and its `seq` apart: the trace's own words
/// (`describe`), except that a received event is told relative to the lane's
/// user `me`, and shorter.
pub(super) fn client_text(kind: &Kind, me: &str) -> (String, Option<u64>) {
    match kind {
        Kind::Received { conn, event } => {
            (format!("c{conn} <- {}", incoming(event, me)), event.seq)
        }
        Kind::UserDeclared { .. } => ("declared".into(), None),
        other => (describe(other), None),
    }
}

/// The parts of a server event worth reading on a timeline: the run and
/// message on the first and last event of a run, the tool on tool events,
/// the error code, and the user id when it is not the lane's own user `me`
/// (the isolation invariant broke).
fn incoming(e: &Incoming, me: &str) -> String {
    let mut s = e.kind.to_string();
    let ends = e.is_terminal() || e.kind.is(ServerType::AgentStarted);
    let fields: [(&str, &Option<Shared>, bool); 6] = [
        ("run", &e.run_id, ends),
        ("msg", &e.message_id, ends),
        ("agent", &e.agent, e.kind.is(ServerType::AgentStarted)),
        ("tool", &e.tool, true),
        ("code", &e.code, true),
        ("user", &e.user_id, e.user_id.as_deref() != Some(me)),
    ];
    for (name, value, show) in fields {
        if let (Some(v), true) = (value, show) {
            s.push_str(&format!(" {name}={v}"));
        }
    }
    s
}
