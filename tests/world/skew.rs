//! Clock skew (docs/faults.md, `skew`): a host's clock set off by more than
//! auth's leeway gets valid users an honest 1008, which the oracle blames on
//! the environment (`refused_under_clock_skew`), not the backend; within
//! the leeway nobody is refused. Seed 1 throughout.

use stagesim::oracle::Verdict;
use stagesim::scenario::Cause;

use crate::support::{self, reproduce};

const SEED: u64 = 1;

/// The users of group 2 (arriving while the clock is off) are refused, each
/// reported once as the environment's doing; group 1 chats undisturbed.
fn refused_under_skew(name: &str) {
    let rel = format!("tests/fixtures/worlds/{name}.toml");
    let outcome = support::run(&rel, SEED);
    let r = reproduce(&rel, SEED);
    assert_eq!(outcome.verdict, Verdict::Reproduced, "reproduce: {r}");
    let causes: Vec<Cause> = outcome.violations.iter().map(|v| v.cause).collect();
    assert_eq!(
        causes,
        vec![Cause::RefusedUnderClockSkew; 4],
        "reproduce: {r}"
    );
    let group = |i: usize| &outcome.summary.groups[&i];
    assert_eq!(group(0).done, 4, "reproduce: {r}");
    assert_eq!(group(1).close_codes.get(&1008), Some(&4), "reproduce: {r}");
}

#[test]
fn auth_behind_beyond_the_leeway_refuses_honestly() {
    refused_under_skew("skew_auth_behind");
}

#[test]
fn clients_ahead_beyond_the_leeway_refuse_honestly() {
    refused_under_skew("skew_clients_ahead");
}

#[test]
fn a_skew_within_the_leeway_refuses_nobody() {
    let rel = "tests/fixtures/worlds/skew_within_leeway.toml";
    let outcome = support::run(rel, SEED);
    support::assert_pass(&outcome, rel);
    assert_eq!(outcome.summary.close_codes.get(&1008), None);
}

/// `[auth] leeway` forgives an expired token: users whose 2-minute tokens
/// expired 30 s before they reconnect (refresh off) are admitted by auth's
/// 5-minute leeway, which is not a policy violation (it was a false alarm
/// before the leeway was recorded in the trace).
#[test]
fn a_token_within_auth_s_leeway_may_be_admitted() {
    let rel = "tests/fixtures/worlds/leeway_reconnect.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    support::assert_pass(&outcome, rel);
    let reconnected = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, stagesim::trace::Kind::Connecting { conn: 2, .. }))
        .count();
    assert_eq!(
        reconnected,
        3,
        "every user reconnects after the restart; reproduce: {}",
        support::reproduce(rel, seed)
    );
}
