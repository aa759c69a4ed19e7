//! The `--json` object of `stagesim run` (and `live`), as typed structs:
//! [`RunJson`] and [`ViolationJson`], whose schema is part of
//! docs/json-output.schema.json (`crate::cli::json_docs`).
//!
//! Fields are declared in alphabetical order, the order in which the
//! object was printed when it was built as a `serde_json::Value`, so every
//! output stays byte for byte what it was.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::coverage::CoverageJson;
use crate::oracle::Violation;
use crate::run::Outcome;

/// `stagesim run --json` and `stagesim live --json` (docs/design.md, "The
/// command line").
#[derive(Serialize, JsonSchema)]
pub struct RunJson {
    /// Close codes users recorded, overall: code -> count.
    pub close_codes: BTreeMap<String, u64>,
    /// The probes the run reached; null under `--target`, whose server
    /// probes are not in the trace.
    pub coverage: Option<CoverageJson>,
    /// Events in the trace.
    pub events: usize,
    pub groups: Vec<GroupJson>,
    pub messages: MessagesJson,
    /// Under `--target`: the scenario's settings that cannot reach the
    /// target; otherwise null.
    pub not_applied: Option<Vec<String>>,
    /// The command that replays the run.
    pub reproduce: String,
    pub scenario: String,
    pub seed: u64,
    /// Under `--target`: a regression file's `[bugs]` and expectations
    /// set aside; otherwise null.
    pub set_aside: Option<Vec<String>>,
    /// Simulated (or, live, real) milliseconds the run took.
    pub sim_ms: u64,
    pub trace_hash: String,
    pub users: u64,
    /// `pass`, `fail`, `reproduced` or `not_reproduced`.
    pub verdict: &'static str,
    pub violations: Vec<ViolationJson>,
    /// Faults that hit nothing, and other things worth a look.
    pub warnings: Vec<String>,
}

/// One `[[users]]` group of a run, numbered from 1.
#[derive(Serialize, JsonSchema)]
pub struct GroupJson {
    pub close_codes: BTreeMap<String, u64>,
    /// Users that finished `done`.
    pub done: u64,
    pub group: usize,
    /// HTTP statuses refusing the upgrade: status -> count.
    pub http_rejections: BTreeMap<String, u64>,
    /// The token and how it is carried (`valid via header`).
    pub token: String,
    pub users: u64,
}

/// Messages over the run.
#[derive(Serialize, JsonSchema)]
pub struct MessagesJson {
    pub answered: u64,
    /// Answered only by an `error`.
    pub rejected: u64,
    pub sent: u64,
}

/// One violation.
#[derive(Serialize, JsonSchema)]
pub struct ViolationJson {
    /// The first time it was seen.
    pub at_ms: u64,
    pub cause: &'static str,
    /// A 1011's blamed component (`message_router`), or null.
    pub component: Option<&'static str>,
    /// The user's connection number, or null.
    pub conn: Option<u32>,
    /// How many times it was seen (one report per root cause).
    pub count: u32,
    pub detail: String,
    pub host: String,
    pub invariant: &'static str,
    /// A 1011's close reason, or null.
    pub reason: Option<String>,
    pub user: Option<String>,
}

impl RunJson {
    pub fn of(outcome: &Outcome, reproduce: &str) -> Self {
        let s = &outcome.summary;
        let groups = s
            .groups
            .iter()
            .map(|(i, g)| GroupJson {
                close_codes: counts(&g.close_codes),
                done: g.done,
                group: i + 1,
                http_rejections: counts(&g.http_rejections),
                token: g.token.clone(),
                users: g.users,
            })
            .collect();
        let target = outcome.target.as_ref();
        RunJson {
            close_codes: counts(&s.close_codes),
            // Under --target the server's probes are not in the trace: unknown.
            coverage: match target {
                Some(_) => None,
                None => Some(crate::coverage::Coverage::of(&outcome.trace).typed()),
            },
            events: s.events,
            groups,
            messages: MessagesJson {
                answered: s.messages.answered,
                rejected: s.messages.rejected,
                sent: s.messages.sent,
            },
            not_applied: target.map(|t| t.not_applied.clone()),
            reproduce: reproduce.to_string(),
            scenario: outcome.scenario.clone(),
            seed: outcome.seed,
            set_aside: target.map(|t| t.set_aside.clone()),
            sim_ms: s.sim_ms,
            trace_hash: outcome.trace_hash().to_string(),
            users: s.users,
            verdict: outcome.verdict.as_str(),
            violations: outcome.violations.iter().map(ViolationJson::of).collect(),
            warnings: outcome.warnings.clone(),
        }
    }
}

impl ViolationJson {
    pub fn of(v: &Violation) -> Self {
        ViolationJson {
            at_ms: v.at.as_millis() as u64,
            cause: v.cause.as_str(),
            component: v.component.map(|c| c.key()),
            conn: v.conn,
            count: v.count,
            detail: v.detail.clone(),
            host: v.host.clone(),
            invariant: v.invariant.as_str(),
            reason: v.reason.clone(),
            user: v.user.clone(),
        }
    }
}

/// `{code: count}` with the codes as keys.
fn counts(m: &BTreeMap<u16, u64>) -> BTreeMap<String, u64> {
    m.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// The run's object as a JSON value (for callers that add to it, as
/// `record` does).
pub fn to_json(outcome: &Outcome, reproduce: &str) -> Value {
    serde_json::to_value(RunJson::of(outcome, reproduce)).expect("plain structs serialise")
}

/// One violation as a JSON value.
pub fn violation(v: &Violation) -> Value {
    serde_json::to_value(ViolationJson::of(v)).expect("plain structs serialise")
}
