//! The oracle: seven invariants checked on every run, from the trace alone
//! (docs/design.md, "The oracle"), and the verdict they add up to.
//!
//! Data flow: `Trace -> index (per-user view, both sides of every
//! connection) -> invariants -> attribution (one root cause, one report) ->
//! violations -> verdict`. The oracle only observes; nothing here reaches
//! back into the simulation.

mod attribute;
mod index;
mod invariants;
mod server;
#[cfg(test)]
mod tests;

use std::fmt;
use std::time::Duration;

pub use index::{ConnView, Presented, ServerConn, UserView, Users, build as index};

use crate::scenario::{Cause, Expect, Expected, Invariant};
use crate::trace::{Component, Trace};

/// One broken invariant, where, to whom and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub invariant: Invariant,
    /// What broke it; `cause.invariant() == invariant`.
    pub cause: Cause,
    pub user: Option<String>,
    pub host: String,
    /// The first time it happened.
    pub at: Duration,
    /// The user's connection it concerns (`c2`), where it concerns one.
    pub conn: Option<u32>,
    pub detail: String,
    /// For a 1011: the part of the backend the gateway's close blamed.
    pub component: Option<Component>,
    /// For a 1011: the close reason the user received.
    pub reason: Option<String>,
    /// How often it happened to this user on this connection for this
    /// cause; reported once.
    pub count: u32,
}

impl Violation {
    /// What every report prints after where and when: the cause, the
    /// component a 1011 blamed, the detail, and the count of repeats:
    /// `closed_1011 (message_router): c1 closed 1011: ... x3`.
    pub fn what(&self) -> String {
        let mut s = self.cause.as_str().to_string();
        if let Some(c) = self.component {
            s.push_str(&format!(" ({})", c.key()));
        }
        s.push_str(": ");
        s.push_str(&self.detail);
        if self.count > 1 {
            s.push_str(&format!(" x{}", self.count));
        }
        s
    }
}

/// The verdict of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// No violation.
    Pass,
    /// Only the violations the scenario expects (a regression reproduced).
    Reproduced,
    /// Any other violation.
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Reproduced => "reproduced",
            Verdict::Fail => "fail",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Check every invariant; violations in time order (then invariant, user),
/// attributed to their root causes (see [`attribute`]).
pub fn check(trace: &Trace, expect: &Expect) -> Vec<Violation> {
    check_indexed(&index::build(trace), trace, expect)
}

/// [`check`] with the per-user index already built (a run builds it once
/// for the oracle and the summary).
pub fn check_indexed(users: &Users, trace: &Trace, expect: &Expect) -> Vec<Violation> {
    let stripped = index::stripped_headers(trace);
    let skews = index::Skews::of(trace);
    let mut causes = Vec::new();
    invariants::no_1011(users, &mut causes);
    let leeway = index::auth_leeway(trace);
    invariants::auth_policy(users, &stripped, &skews, leeway, trace.end, &mut causes);
    invariants::isolation(users, &mut causes);
    invariants::event_grammar(users, &mut causes);
    let servers = server::Servers::of(trace);
    invariants::capacity(trace, &servers, &mut causes);
    let mut effects = Vec::new();
    invariants::refusals(users, &servers, &mut effects);
    let heal_at = index::heal_at(trace);
    invariants::convergence(users, heal_at, trace.end, &mut effects);
    invariants::admission(users, &stripped, heal_at, trace.end, &mut effects);
    if expect.all_answered {
        invariants::answers(users, &stripped, heal_at, trace.end, &mut effects);
    }
    invariants::accounting(users, trace.end, &mut effects);
    attribute::attribute(causes, effects)
}

/// Whether `v` is a failure `expected` names.
pub fn matches(expected: &Expected, v: &Violation) -> bool {
    expected.invariant == v.invariant
        && expected.cause.is_none_or(|c| c == v.cause)
        && expected
            .component
            .as_deref()
            .is_none_or(|k| v.component.map(Component::key) == Some(k))
        && expected
            .reason
            .as_deref()
            .is_none_or(|words| v.reason.as_deref().is_some_and(|r| r.contains(words)))
}

/// Whether the scenario expects `v`.
pub fn is_expected(expect: &Expect, v: &Violation) -> bool {
    expect.violations.iter().any(|e| matches(e, v))
}

/// The verdict of a run with these violations.
pub fn verdict(violations: &[Violation], expect: &Expect) -> Verdict {
    if violations.is_empty() {
        Verdict::Pass
    } else if violations.iter().all(|v| is_expected(expect, v)) {
        Verdict::Reproduced
    } else {
        Verdict::Fail
    }
}
