//! `event_grammar`: each run follows `agent_started (agent_thinking |
//! tool_executing tool_completed)* (agent_completed | tool_executing? error)`; `seq` is
//! exactly 1, 2, 3, ... per connection (docs/wire-protocol.md); nothing
//! precedes `connection_established`, which comes once; and the server
//! closes only with the protocol's codes (never 1000, the code of a client
//! that is done), a 1013 naming its dependency.

use std::collections::BTreeMap;

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::Users;
use crate::scenario::Cause;
use crate::trace::{REASONS_1013, SERVER_CLOSE_CODES};
use crate::vocab::{ReadType, ServerType};

/// Where a run is in `agent_started (agent_thinking | tool_executing
/// tool_completed)* (agent_completed | tool_executing? error)`.
#[derive(Clone, Copy, PartialEq)]
enum RunState {
    Open,
    InTool,
    Done,
}

/// Each run follows the grammar; `seq` counts 1, 2, 3, ... per
/// connection; nothing precedes `connection_established`.
pub fn event_grammar(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            if let Some((at, code, reason, false)) = &conn.closed
                && let Some((cause, detail)) = server_close_problem(*code, reason)
            {
                let detail = format!("c{n} {detail}");
                out.push(violation(cause, name, view, *at, Some(*n), detail));
            }
            let mut last_seq: Option<Expected> = None;
            let mut established = false;
            let mut runs: BTreeMap<&str, RunState> = BTreeMap::new();
            for (at, ev) in &conn.received {
                let mut bad = |cause: Cause, detail: String| {
                    let detail = format!("c{n} {detail}");
                    out.push(violation(cause, name, view, *at, Some(*n), detail));
                };
                if let Some(problem) = seq_problem(ev.kind.as_str(), ev.seq, last_seq) {
                    bad(Cause::BadSeq, problem);
                }
                // An unparseable frame's seq is unknown: the count restarts
                // at the next one the user could read.
                last_seq = match ev.seq {
                    Some(s) => Some(Expected::After(s)),
                    None if ev.kind == ReadType::Unparseable => Some(Expected::Unknown),
                    None => last_seq,
                };
                if ev.kind.is(ServerType::ConnectionEstablished) {
                    if established {
                        bad(Cause::OutOfOrder, "second connection_established".into());
                    }
                    established = true;
                    continue;
                }
                if !established && ev.kind != ReadType::Unparseable {
                    bad(
                        Cause::OutOfOrder,
                        format!("{} before connection_established", ev.kind),
                    );
                }
                let Some(run) = ev.run_id.as_deref() else {
                    continue;
                };
                let state = runs.get(run).copied();
                match step(ev.kind.server(), state) {
                    Some(s) => {
                        runs.insert(run, s);
                    }
                    None => bad(
                        Cause::OutOfOrder,
                        format!(
                            "run {run}: {} out of order (after {})",
                            ev.kind,
                            after(state)
                        ),
                    ),
                }
            }
        }
    }
}

/// What is wrong with a close the server sent, if anything: a 1000 (the
/// code of a client that is done), a code the protocol does not have, or a
/// 1013 whose reason names no dependency or budget.
fn server_close_problem(code: u16, reason: &str) -> Option<(Cause, String)> {
    match code {
        1000 => Some((
            Cause::ServerClosed1000,
            format!(
                "the server closed with 1000 ({reason:?}): only a client that is done closes \
                 normally; a server's close names its cause"
            ),
        )),
        1013 if !REASONS_1013.iter().any(|p| reason.starts_with(p)) => Some((
            Cause::CloseOutsideProtocol,
            format!(
                "closed 1013 with reason {reason:?}, which names no dependency or budget of the \
                 protocol (a connection limit, auth unreachable, the pipeline not ready)"
            ),
        )),
        // 1005: a close frame without a code; 1006: recorded by the user
        // when the transport ended without one.
        1005 | 1006 => None,
        _ if !SERVER_CLOSE_CODES.contains(&code) => Some((
            Cause::CloseOutsideProtocol,
            format!("closed {code} ({reason:?}), a code the protocol does not have"),
        )),
        _ => None,
    }
}

/// What the next `seq` on a connection must be.
#[derive(Clone, Copy)]
enum Expected {
    /// One more than this.
    After(u64),
    /// Anything greater than the last readable one: a frame in between
    /// could not be parsed, so its seq is unknown.
    Unknown,
}

/// What is wrong with a frame's `seq`, given what came before on its
/// connection (`None`: this is the first frame).
fn seq_problem(kind: &str, seq: Option<u64>, before: Option<Expected>) -> Option<String> {
    let Some(s) = seq else {
        return (kind != "<unparseable>").then(|| format!("{kind} without seq"));
    };
    match before {
        None if s != 1 => Some(format!("{kind} seq {s}: a connection's first seq is 1")),
        Some(Expected::After(prev)) if s != prev + 1 => Some(if s <= prev {
            format!("{kind} seq {s} after {prev}")
        } else {
            format!("{kind} seq {s} after {prev}: skipped {}", s - prev - 1)
        }),
        _ => None,
    }
}

/// The run's next state after an event of `kind`; `None` if the grammar
/// does not allow it there.
fn step(kind: Option<ServerType>, state: Option<RunState>) -> Option<RunState> {
    use ServerType as T;
    match (kind?, state) {
        (T::AgentStarted, None) => Some(RunState::Open),
        (T::AgentThinking, Some(RunState::Open)) => Some(RunState::Open),
        (T::ToolExecuting, Some(RunState::Open)) => Some(RunState::InTool),
        (T::ToolCompleted, Some(RunState::InTool)) => Some(RunState::Open),
        (T::AgentCompleted, Some(RunState::Open)) => Some(RunState::Done),
        (T::Error, Some(RunState::Open | RunState::InTool)) => Some(RunState::Done),
        _ => None,
    }
}

/// Where the run was, for a violation's detail.
fn after(state: Option<RunState>) -> &'static str {
    match state {
        None => "nothing",
        Some(RunState::Open) => "a step",
        Some(RunState::InTool) => "tool_executing",
        Some(RunState::Done) => "the run's end",
    }
}
