//! The `--json` object of `stagesim run`.

use serde_json::{Map, Value, json};

use crate::oracle::Violation;
use crate::run::Outcome;

/// One object: `scenario`, `seed`, `verdict`, `trace_hash`, `sim_ms`,
/// `close_codes`, `messages`, `violations` (docs/design.md, "The command
/// line"), plus `reproduce`, per-group detail and `coverage` (the probes
/// the run reached, as [`crate::coverage::Coverage::json`]).
pub fn to_json(outcome: &Outcome, reproduce: &str) -> Value {
    let s = &outcome.summary;
    let codes = |m: &std::collections::BTreeMap<u16, u64>| -> Value {
        Value::Object(
            m.iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect::<Map<_, _>>(),
        )
    };
    let groups: Vec<Value> = s
        .groups
        .iter()
        .map(|(i, g)| {
            json!({
                "group": i + 1,
                "users": g.users,
                "token": g.token,
                "done": g.done,
                "close_codes": codes(&g.close_codes),
                "http_rejections": codes(&g.http_rejections),
            })
        })
        .collect();
    let violations: Vec<Value> = outcome.violations.iter().map(violation).collect();
    json!({
        "scenario": outcome.scenario,
        "seed": outcome.seed,
        "verdict": outcome.verdict.as_str(),
        "trace_hash": outcome.trace_hash,
        "sim_ms": s.sim_ms,
        "events": s.events,
        "users": s.users,
        "close_codes": codes(&s.close_codes),
        "messages": {
            "sent": s.messages.sent,
            "answered": s.messages.answered,
            "rejected": s.messages.rejected,
        },
        "groups": groups,
        "violations": violations,
        // Under --target the server's probes are not in the trace: unknown.
        "coverage": match outcome.target {
            Some(_) => Value::Null,
            None => crate::coverage::Coverage::of(&outcome.trace).json(),
        },
        "warnings": outcome.warnings,
        "not_applied": outcome.target.as_ref().map(|t| t.not_applied.clone()),
        "set_aside": outcome.target.as_ref().map(|t| t.set_aside.clone()),
        "reproduce": reproduce,
    })
}

/// One violation: `invariant`, `cause`, `user`, `host`, `at_ms` (the first
/// time), `conn` (the user's connection number, or null), `count`,
/// `component` and `reason` (a 1011's, or null), `detail`.
pub fn violation(v: &Violation) -> Value {
    json!({
        "invariant": v.invariant.as_str(),
        "cause": v.cause.as_str(),
        "user": v.user,
        "host": v.host,
        "at_ms": v.at.as_millis() as u64,
        "conn": v.conn,
        "count": v.count,
        "component": v.component.map(|c| c.key()),
        "reason": v.reason,
        "detail": v.detail,
    })
}
