//! When and to whom a scenario failed across a sweep: the first and last
//! time of a violation it does not expect, and the user groups those
//! violations named.
//!
//! Worked out by the worker from a run's whole `Outcome` (the trace says
//! which group each user is in), right after the run, so that a sweep keeps
//! one [`Spread`] per target and nothing more per run. Merging is a min, a
//! max and a union, so the result does not depend on the order in which
//! workers finish.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use crate::oracle::{Violation, is_expected};
use crate::run::Outcome;
use crate::scenario::Expect;
use crate::trace::{Kind, Trace};

/// The unexpected violations of a target's runs, in time and in user
/// groups. Expected violations (a regression scenario doing its job) are
/// left out: they say nothing about a new failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Spread {
    /// The earliest `Violation::at` (sim time since the start of the run).
    pub first_violation: Option<Duration>,
    /// The latest `Violation::at`. A violation is timed by its first
    /// occurrence, so this is when the last distinct one began.
    pub last_violation: Option<Duration>,
    /// The `[[users]]` groups of the users the violations named, as the
    /// trace numbers them (0-based, in file order; the reports print them
    /// 1-based, as `run` prints "group 1"). A violation with no user names
    /// no group.
    pub groups_hit: BTreeSet<usize>,
}

impl Spread {
    /// The spread of one run: empty unless it has an unexpected violation.
    pub fn of(outcome: &Outcome, expect: &Expect) -> Self {
        let unexpected: Vec<&Violation> = outcome
            .violations
            .iter()
            .filter(|v| !is_expected(expect, v))
            .collect();
        if unexpected.is_empty() {
            // Most runs pass: do not walk their traces.
            return Spread::default();
        }
        let groups = user_groups(&outcome.trace);
        Spread {
            first_violation: unexpected.iter().map(|v| v.at).min(),
            last_violation: unexpected.iter().map(|v| v.at).max(),
            groups_hit: unexpected
                .iter()
                .filter_map(|v| groups.get(v.user.as_deref()?).copied())
                .collect(),
        }
    }

    /// Fold another run's spread into this one.
    pub fn merge(&mut self, other: Spread) {
        self.first_violation = min_some(self.first_violation, other.first_violation);
        self.last_violation = self.last_violation.max(other.last_violation);
        self.groups_hit.extend(other.groups_hit);
    }
}

/// The smaller of two times, where `None` means "none yet" (unlike
/// `Option::min`, which would call `None` the smallest).
fn min_some(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Each user's group, from the `UserDeclared` events at the start of the
/// trace.
fn user_groups(trace: &Trace) -> BTreeMap<&str, usize> {
    trace
        .events
        .iter()
        .filter_map(|e| match (&e.kind, e.user.as_deref()) {
            (Kind::UserDeclared { group, .. }, Some(user)) => Some((user, *group)),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64) -> Option<Duration> {
        Some(Duration::from_millis(ms))
    }

    #[test]
    fn merging_is_min_max_and_union_in_any_order() {
        let runs = [
            Spread {
                first_violation: at(500),
                last_violation: at(900),
                groups_hit: BTreeSet::from([2]),
            },
            Spread::default(),
            Spread {
                first_violation: at(100),
                last_violation: at(300),
                groups_hit: BTreeSet::from([0]),
            },
        ];
        let expected = Spread {
            first_violation: at(100),
            last_violation: at(900),
            groups_hit: BTreeSet::from([0, 2]),
        };
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0]] {
            let mut total = Spread::default();
            for i in order {
                total.merge(runs[i].clone());
            }
            assert_eq!(total, expected, "order {order:?}");
        }
    }
}
