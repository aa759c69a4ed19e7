//! The verdict cannot be fooled: the five ways the first version's oracle
//! was fooled, each run as a scenario and judged end to end.

use std::collections::BTreeMap;

use stagesim::oracle::Verdict;
use stagesim::scenario::{Bugs, Cause, Invariant};
use stagesim::trace::Kind;

use crate::support::{self, reproduce};

fn causes(outcome: &stagesim::run::Outcome) -> Vec<Cause> {
    let mut out: Vec<Cause> = outcome.violations.iter().map(|v| v.cause).collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn an_admission_hidden_behind_a_later_1013_fails_the_run() {
    let rel = "tests/fixtures/worlds/bypass_behind_1013.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    assert_eq!(outcome.verdict, Verdict::Fail, "reproduce: {r}");
    assert_eq!(
        causes(&outcome),
        [Cause::AdmittedWithoutValidToken],
        "reproduce: {r}"
    );
    // The users only ever saw 1013: the admission is the gateway's.
    assert!(
        outcome.summary.close_codes.keys().all(|&c| c == 1013),
        "{:?}; reproduce: {r}",
        outcome.summary.close_codes
    );
    let mut fixed = support::load(rel);
    fixed.bugs = Bugs::default();
    let after = stagesim::run::run(&fixed, seed);
    support::assert_pass(&after, &format!("{rel} --fixed"));
}

#[test]
fn a_regression_is_not_reproduced_by_a_different_defect() {
    let rel = "scenarios/regressions/orchestrator_singleton.toml";
    let mut scenario = support::load(rel);
    scenario.bugs = Bugs::default();
    scenario.bugs.serialization_failure = true;
    for seed in 1..=5 {
        let outcome = stagesim::run::run(&scenario, seed);
        assert_eq!(
            outcome.verdict,
            Verdict::Fail,
            "reproduce: {} --bug orchestrator_singleton=off --bug serialization_failure",
            reproduce(rel, seed)
        );
    }
}

#[test]
fn all_answered_false_still_requires_every_entitled_user_to_get_in() {
    let rel = "tests/fixtures/worlds/locked_out_relaxed.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    assert_eq!(outcome.verdict, Verdict::Fail, "reproduce: {r}");
    assert_eq!(causes(&outcome), [Cause::NeverAdmitted], "reproduce: {r}");
}

/// Whether any user of `outcome` was refused with 1008.
fn refused_1008(outcome: &stagesim::run::Outcome) -> bool {
    outcome.summary.close_codes.contains_key(&1008)
}

#[test]
fn users_refresh_an_expired_token_before_they_reconnect() {
    let rel = "tests/fixtures/worlds/token_refresh.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let r = reproduce(rel, seed);
    support::assert_pass(&outcome, rel);
    assert!(!refused_1008(&outcome), "reproduce: {r}");
    assert!(
        outcome.summary.close_codes.contains_key(&1012),
        "reproduce: {r}"
    );
    let refreshed = outcome
        .trace
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                Kind::TokenIssued {
                    refreshed: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(refreshed, 3, "each user refreshed once; reproduce: {r}");
    assert_eq!(
        outcome.summary.messages.sent, outcome.summary.messages.answered,
        "reproduce: {r}"
    );
}

#[test]
fn without_refresh_an_expired_token_gets_an_honest_1008_and_no_violation() {
    let rel = "tests/fixtures/worlds/token_refresh.toml";
    let seed = 1;
    let mut scenario = support::load(rel);
    scenario.users[0].refresh_token = false;
    let outcome = stagesim::run::run(&scenario, seed);
    let r = format!("{} (with refresh_token = false)", reproduce(rel, seed));
    assert!(refused_1008(&outcome), "reproduce: {r}");
    assert_eq!(
        outcome.verdict,
        Verdict::Pass,
        "{:#?}; reproduce: {r}",
        outcome.violations
    );
}

#[test]
fn a_bypassed_user_is_reported_under_auth_policy_once_per_connection() {
    let rel = "scenarios/invalid_tokens.toml";
    let seed = 2;
    let mut scenario = support::load(rel);
    scenario.bugs.staging_auth_bypass = true;
    let outcome = stagesim::run::run(&scenario, seed);
    let r = format!("{} --bug staging_auth_bypass", reproduce(rel, seed));
    assert_eq!(
        causes(&outcome),
        [Cause::AdmittedWithoutValidToken],
        "reproduce: {r}"
    );
    let mut per_conn: BTreeMap<(Option<String>, Option<u32>), u32> = BTreeMap::new();
    for v in &outcome.violations {
        *per_conn.entry((v.user.clone(), v.conn)).or_default() += 1;
    }
    assert!(
        per_conn.values().all(|&n| n == 1),
        "{per_conn:?}; reproduce: {r}"
    );
}

#[test]
fn a_shared_context_is_one_report_per_user_cause_and_connection() {
    let rel = "scenarios/many_users.toml";
    let seed = 2;
    let mut scenario = support::load(rel);
    scenario.bugs.shared_user_context = true;
    let outcome = stagesim::run::run(&scenario, seed);
    let r = format!("{} --bug shared_user_context", reproduce(rel, seed));
    assert!(
        outcome
            .violations
            .iter()
            .all(|v| v.invariant == Invariant::Isolation),
        "{:?}; reproduce: {r}",
        causes(&outcome)
    );
    let mut seen: BTreeMap<(Option<String>, Cause, Option<u32>), u32> = BTreeMap::new();
    for v in &outcome.violations {
        *seen.entry((v.user.clone(), v.cause, v.conn)).or_default() += 1;
    }
    assert!(seen.values().all(|&n| n == 1), "reproduce: {r}");
    let users = outcome.summary.users as usize;
    assert!(
        outcome.violations.len() <= 3 * users,
        "{} violations for {users} users; reproduce: {r}",
        outcome.violations.len()
    );
    assert!(
        outcome.violations.iter().any(|v| v.count > 1),
        "repeats are counted, not listed; reproduce: {r}"
    );
}
