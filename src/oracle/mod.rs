//! The oracle: six invariants checked on every run, from the trace alone
//! (DESIGN.md section 4), and the verdict they add up to.
//!
//! Data flow: `Trace -> index (per-user view) -> invariants -> violations ->
//! verdict`. The oracle only observes; nothing here reaches back into the
//! simulation.

mod index;
mod invariants;

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

pub use index::{UserView, Users, build as index};

use crate::scenario::{Expect, Invariant};
use crate::trace::Trace;

/// One broken invariant, where and to whom.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    pub invariant: Invariant,
    pub user: Option<String>,
    pub host: String,
    pub at: Duration,
    pub detail: String,
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

/// Check every invariant; violations in time order (then invariant, user).
///
/// A user's missing answers are reported once, under their root cause: a
/// user who was closed with 1011, refused against policy, or whose events
/// went to someone else is not also reported for `liveness` or
/// `accounting`, which would only restate that failure. Neither is
/// suppressed for anyone else.
pub fn check(trace: &Trace, expect: &Expect) -> Vec<Violation> {
    check_indexed(&index::build(trace), trace, expect)
}

/// [`check`] with the per-user index already built (a run builds it once
/// for the oracle and the summary).
pub fn check_indexed(users: &Users, trace: &Trace, expect: &Expect) -> Vec<Violation> {
    let mut causes = Vec::new();
    invariants::no_1011(users, &mut causes);
    invariants::auth_policy(users, &mut causes);
    invariants::isolation(users, &mut causes);
    invariants::event_grammar(users, &mut causes);
    let explained: BTreeSet<Option<String>> = causes
        .iter()
        .filter(|v| {
            matches!(
                v.invariant,
                Invariant::No1011 | Invariant::AuthPolicy | Invariant::Isolation
            )
        })
        .map(|v| v.user.clone())
        .collect();
    let mut effects = Vec::new();
    if expect.all_answered {
        invariants::liveness(users, trace.end, &mut effects);
    }
    invariants::accounting(users, trace.end, &mut effects);
    effects.retain(|v| !explained.contains(&v.user));
    let mut out = causes;
    out.extend(effects);
    out.sort_by(|a, b| (a.at, a.invariant, &a.user).cmp(&(b.at, b.invariant, &b.user)));
    out
}

/// The verdict of a run with these violations.
pub fn verdict(violations: &[Violation], expect: &Expect) -> Verdict {
    if violations.is_empty() {
        Verdict::Pass
    } else if violations
        .iter()
        .all(|v| expect.violations.contains(&v.invariant))
    {
        Verdict::Reproduced
    } else {
        Verdict::Fail
    }
}
