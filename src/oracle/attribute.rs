//! One root cause, one report: the rules that turn everything the
//! invariants found into what a developer reads.
//!
//! 1. A connection the gateway admitted without a valid token is judged by
//!    `auth_policy`; the foreign events it then received (addressed to the
//!    identity the bypass made up) are not also `isolation` violations.
//! 2. A user with a `no_1011`, `auth_policy` or `isolation` violation is not
//!    also reported for `liveness` or `accounting`, which would only restate
//!    it (a user closed 1011 has unanswered messages). Nobody else's are
//!    touched.
//! 3. Repeats collapse: at most one violation per user, invariant, cause
//!    and connection, with the first time and a count.

use std::collections::{BTreeMap, BTreeSet};

use super::Violation;
use crate::scenario::{Cause, Invariant};

/// Apply the rules to what the invariants found: `causes` from the
/// invariants that name a root cause, `effects` from those that only see
/// its consequences.
pub fn attribute(mut causes: Vec<Violation>, mut effects: Vec<Violation>) -> Vec<Violation> {
    let bypassed: BTreeSet<(Option<String>, Option<u32>)> = causes
        .iter()
        .filter(|v| v.cause == Cause::AdmittedWithoutValidToken)
        .map(|v| (v.user.clone(), v.conn))
        .collect();
    causes.retain(|v| {
        !(v.cause == Cause::ForeignEvent && bypassed.contains(&(v.user.clone(), v.conn)))
    });
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
    effects.retain(|v| !explained.contains(&v.user));
    causes.extend(effects);
    let mut out = collapse(causes);
    out.sort_by(|a, b| (a.at, a.invariant, &a.user).cmp(&(b.at, b.invariant, &b.user)));
    out
}

/// Rule 3: the earliest of each group, counting the group.
fn collapse(all: Vec<Violation>) -> Vec<Violation> {
    type Key = (Option<String>, Invariant, Cause, Option<u32>);
    let mut groups: BTreeMap<Key, Violation> = BTreeMap::new();
    for v in all {
        let key = (v.user.clone(), v.invariant, v.cause, v.conn);
        match groups.get_mut(&key) {
            Some(first) => {
                first.count += v.count;
                if v.at < first.at {
                    let count = first.count;
                    *first = Violation { count, ..v };
                }
            }
            None => {
                groups.insert(key, v);
            }
        }
    }
    groups.into_values().collect()
}
