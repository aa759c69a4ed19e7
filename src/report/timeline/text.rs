//! The words on marks: a client event, short, with its `seq` apart.

use super::{code_class, http_class};
use crate::trace::{Incoming, Kind, describe};

/// The class of a client event's mark.
pub(super) fn client_class(kind: &Kind) -> String {
    match kind {
        Kind::Connecting { .. } => "connect".into(),
        Kind::ConnectFailed { .. } => "failed lost".into(),
        Kind::HttpRejected { status, .. } => format!("rejected {}", http_class(*status)),
        Kind::Opened { .. } => "open".into(),
        Kind::Sent { frame, .. } if frame.kind == "user_message" => "send".into(),
        Kind::Sent { .. } => "send other".into(),
        Kind::Received { event, .. } => match event.kind.as_str() {
            "agent_completed" => "recv done".into(),
            "error" => "recv error".into(),
            "connection_established" => "recv established".into(),
            k if k.starts_with("tool_") => "recv tool".into(),
            _ => "recv".into(),
        },
        Kind::Closed { code, .. } => format!("close c{code} {}", code_class(*code)),
        Kind::Backoff { .. } => "backoff".into(),
        Kind::Finished { outcome } if outcome == "done" => "finished ok".into(),
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
    let mut s = e.kind.clone();
    let ends = matches!(
        e.kind.as_str(),
        "agent_started" | "agent_completed" | "error"
    );
    let fields: [(&str, &Option<String>, bool); 6] = [
        ("run", &e.run_id, ends),
        ("msg", &e.message_id, ends),
        ("agent", &e.agent, e.kind == "agent_started"),
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
