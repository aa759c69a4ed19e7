//! Where two runs part (`stagesim diff`): two trace files, or one scenario
//! at two seeds, aligned user by user. For each user whose story ends
//! differently, the first of its own events that differs, the faults in
//! force then, the servers' events about it around that time, and, for a
//! user one run reports a violation for, the chain of its own events from
//! the divergence to the violation.
//!
//! Part of the reporting side: `trace (typed, or a trace file's lines) ->
//! Line -> per-user sequences -> Parting`. A trace file is text, so this
//! module reads rendered lines; it judges nothing (the oracle does that
//! from typed events), it only lines two runs up.

mod lines;

use std::collections::BTreeSet;

pub use lines::{Line, parse_trace_file};

use crate::oracle::Violation;

/// One run as the diff sees it: its lines and the violations it was judged
/// to have (none for a trace file, which carries no verdict).
pub struct Side<'a> {
    pub name: String,
    pub lines: Vec<Line>,
    pub violations: &'a [Violation],
}

/// How one user's story differs between the runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Parting {
    pub user: String,
    /// The user's last own event in each run (how its story ends).
    pub ends: [Option<String>; 2],
    /// The first of its own events that differs, in each run.
    pub first: [Option<Line>; 2],
    /// The world's state then: the latest faults and the servers' own
    /// events about no user (boots, the pipeline initialising or ready),
    /// latest last (at most 4).
    pub faults: [Vec<Line>; 2],
    /// The servers' events about this user within a second of it.
    pub servers: [Vec<Line>; 2],
    /// For a run that reports a violation of this user the other does not:
    /// the user's own events from the divergence to that violation.
    pub chain: [Vec<Line>; 2],
}

/// Every user whose story ends differently, in user order; and how many
/// users part somewhere but end the same.
pub fn partings(a: &Side<'_>, b: &Side<'_>) -> (Vec<Parting>, usize) {
    let users: BTreeSet<&str> = a
        .lines
        .iter()
        .chain(&b.lines)
        .filter_map(|l| l.own_user())
        .collect();
    let mut out = Vec::new();
    let mut parted_on_the_way = 0;
    for user in users {
        let (mine_a, mine_b) = (own(a, user), own(b, user));
        let Some(index) = first_difference(&mine_a, &mine_b) else {
            continue;
        };
        let ends = [last_text(&mine_a), last_text(&mine_b)];
        if ends[0] == ends[1] {
            parted_on_the_way += 1;
            continue;
        }
        let first = [
            mine_a.get(index).map(|l| (*l).clone()),
            mine_b.get(index).map(|l| (*l).clone()),
        ];
        let at = first.iter().flatten().map(|l| l.at_ms).min().unwrap_or(0);
        out.push(Parting {
            user: user.to_string(),
            ends,
            faults: [faults_before(a, at), faults_before(b, at)],
            servers: [servers_around(a, user, at), servers_around(b, user, at)],
            chain: [
                chain(a, b, &mine_a, user, at),
                chain(b, a, &mine_b, user, at),
            ],
            first,
        });
    }
    (out, parted_on_the_way)
}

/// A user's own lines: what its client host recorded about it.
fn own<'l>(side: &'l Side<'_>, user: &str) -> Vec<&'l Line> {
    side.lines
        .iter()
        .filter(|l| l.own_user() == Some(user))
        .collect()
}

fn first_difference(a: &[&Line], b: &[&Line]) -> Option<usize> {
    (0..a.len().max(b.len())).find(|&i| a.get(i) != b.get(i))
}

fn last_text(lines: &[&Line]) -> Option<String> {
    lines.last().map(|l| l.text.clone())
}

fn faults_before(side: &Side<'_>, at: u64) -> Vec<Line> {
    let state: Vec<&Line> = side
        .lines
        .iter()
        .filter(|l| l.at_ms <= at)
        .filter(|l| l.text.starts_with("fault ") || (l.user.is_none() && l.host != "sim"))
        .filter(|l| !l.text.starts_with("probe "))
        .collect();
    state[state.len().saturating_sub(4)..]
        .iter()
        .map(|l| (*l).clone())
        .collect()
}

/// The servers' lines about `user` within a second either side of `at`.
fn servers_around(side: &Side<'_>, user: &str, at: u64) -> Vec<Line> {
    side.lines
        .iter()
        .filter(|l| !l.host.starts_with("clients-") && l.user.as_deref() == Some(user))
        .filter(|l| l.at_ms + 1_000 >= at && l.at_ms <= at + 1_000)
        .take(12)
        .cloned()
        .collect()
}

/// The user's own lines from `at` to the first violation `side` reports
/// for it that `other` does not (at most 20 lines); empty when none.
fn chain(side: &Side<'_>, other: &Side<'_>, mine: &[&Line], user: &str, at: u64) -> Vec<Line> {
    let theirs: BTreeSet<_> = other
        .violations
        .iter()
        .filter(|v| v.user.as_deref() == Some(user))
        .map(|v| v.cause)
        .collect();
    let Some(v) = side
        .violations
        .iter()
        .find(|v| v.user.as_deref() == Some(user) && !theirs.contains(&v.cause))
    else {
        return Vec::new();
    };
    let until = v.at.as_millis() as u64;
    mine.iter()
        .filter(|l| l.at_ms >= at && l.at_ms <= until)
        .take(20)
        .map(|l| (*l).clone())
        .collect()
}
