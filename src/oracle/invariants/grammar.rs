//! `event_grammar`: each run follows `agent_started (agent_thinking |
//! tool_executing tool_completed)* (agent_completed | error)`; `seq`
//! strictly increases per connection; nothing precedes
//! `connection_established`, which comes once.

use std::collections::BTreeMap;

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::Users;
use crate::scenario::Cause;

/// Where a run is in `agent_started (agent_thinking | tool_executing
/// tool_completed)* (agent_completed | error)`.
#[derive(Clone, Copy, PartialEq)]
enum RunState {
    Open,
    InTool,
    Done,
}

/// Each run follows the grammar; `seq` strictly increases per connection;
/// nothing precedes `connection_established`.
pub fn event_grammar(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            let mut last_seq: Option<u64> = None;
            let mut established = false;
            let mut runs: BTreeMap<&str, RunState> = BTreeMap::new();
            for (at, ev) in &conn.received {
                let mut bad = |cause: Cause, detail: String| {
                    let detail = format!("c{n} {detail}");
                    out.push(violation(cause, name, view, *at, Some(*n), detail));
                };
                match (ev.seq, last_seq) {
                    (None, _) if ev.kind != "<unparseable>" => {
                        bad(Cause::BadSeq, format!("{} without seq", ev.kind))
                    }
                    (Some(s), Some(prev)) if s <= prev => {
                        bad(Cause::BadSeq, format!("seq {s} after {prev}"))
                    }
                    _ => {}
                }
                if ev.seq.is_some() {
                    last_seq = ev.seq;
                }
                if ev.kind == "connection_established" {
                    if established {
                        bad(Cause::OutOfOrder, "second connection_established".into());
                    }
                    established = true;
                    continue;
                }
                if !established && ev.kind != "<unparseable>" {
                    bad(
                        Cause::OutOfOrder,
                        format!("{} before connection_established", ev.kind),
                    );
                }
                let Some(run) = ev.run_id.as_deref() else {
                    continue;
                };
                let state = runs.get(run).copied();
                match step(&ev.kind, state) {
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

/// The run's next state after an event of `kind`; `None` if the grammar
/// does not allow it there.
fn step(kind: &str, state: Option<RunState>) -> Option<RunState> {
    match (kind, state) {
        ("agent_started", None) => Some(RunState::Open),
        ("agent_thinking", Some(RunState::Open)) => Some(RunState::Open),
        ("tool_executing", Some(RunState::Open)) => Some(RunState::InTool),
        ("tool_completed", Some(RunState::InTool)) => Some(RunState::Open),
        ("agent_completed", Some(RunState::Open)) => Some(RunState::Done),
        ("error", Some(RunState::Open | RunState::InTool)) => Some(RunState::Done),
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
