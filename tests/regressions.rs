//! The regression catalog: every defect of `[bugs]` reproduces by name.
//!
//! For each bug, over seeds 1-50: (1) at least one run reproduces it, with
//! only the causes its scenario expects (in the precise form), and every
//! expected cause is seen on some seed; (2) with every bug off, all 50
//! pass; timing-dependent bugs stay flaky (some seeds do not reproduce).
//! And a regression scenario is never `reproduced` by a different defect:
//! with its own bug off and any other bug on, it passes or fails.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;

use stagesim::oracle::{self, Verdict};
use stagesim::scenario::{Bugs, Invariant};

use support::reproduce;

const SEEDS: std::ops::RangeInclusive<u64> = 1..=50;
/// Seeds on which another defect must not pass for this one.
const CROSS_SEEDS: std::ops::RangeInclusive<u64> = 1..=10;

/// Bugs that depend on timing and so reproduce on some seeds only.
const FLAKY: [&str; 3] = [
    "orchestrator_singleton",
    "pool_exhaustion_error",
    "no_auth_retry",
];

fn check(bug: &str) {
    let rel = format!("scenarios/regressions/{bug}.toml");
    let scenario = support::load(&rel);
    assert_eq!(
        scenario.bugs.enabled(),
        vec![bug],
        "{rel} must turn on exactly its own bug"
    );
    let expected = &scenario.expect.violations;
    assert!(!expected.is_empty(), "{rel} must list expect.violations");
    assert!(
        expected.iter().all(|e| !e.is_plain()),
        "{rel}: a shipped regression names its cause, not only an invariant"
    );
    let mut matched = vec![false; expected.len()];

    let mut fixed = scenario.clone();
    fixed.bugs = Bugs::default();
    let mut reproduced = Vec::new();
    for seed in SEEDS {
        let outcome = stagesim::run::run(&scenario, seed);
        assert_ne!(
            outcome.verdict,
            Verdict::Fail,
            "{rel} seed {seed} broke {:#?}\nexpected only {expected:?}\nreproduce: {}",
            outcome.violations,
            reproduce(&rel, seed)
        );
        if outcome.verdict == Verdict::Reproduced {
            for (i, e) in expected.iter().enumerate() {
                matched[i] |= outcome.violations.iter().any(|v| oracle::matches(e, v));
            }
            // A 1011 always names the component it blames, and its reason
            // starts with the component's words.
            for v in outcome
                .violations
                .iter()
                .filter(|v| v.invariant == Invariant::No1011)
            {
                let component = v.component.unwrap_or_else(|| {
                    panic!(
                        "{rel} seed {seed}: 1011 without a component; reproduce: {}",
                        reproduce(&rel, seed)
                    )
                });
                let reason = v.reason.as_deref().unwrap_or_default();
                assert!(
                    reason.starts_with(&format!("{component}: ")),
                    "{rel} seed {seed}: 1011 reason {reason:?} does not start with {component}; reproduce: {}",
                    reproduce(&rel, seed)
                );
            }
            reproduced.push(seed);
        }
        let after_fix = stagesim::run::run(&fixed, seed);
        support::assert_pass(&after_fix, &format!("{rel} --fixed"));
    }
    assert!(
        !reproduced.is_empty(),
        "{rel}: no seed in {SEEDS:?} reproduced {bug}"
    );
    for (e, seen) in expected.iter().zip(&matched) {
        assert!(seen, "{rel}: no seed in {SEEDS:?} showed the expected {e}");
    }
    if FLAKY.contains(&bug) {
        assert!(
            reproduced.len() < SEEDS.count(),
            "{rel}: {bug} is timing-dependent but reproduced on every seed"
        );
    }
}

/// With its own bug off and one other bug on, `bug`'s regression
/// scenario is never `reproduced`: its expectation names its own cause.
fn not_reproduced_by_other_bugs(bug: &str) {
    let rel = format!("scenarios/regressions/{bug}.toml");
    let mut scenario = support::load(&rel);
    for other in Bugs::NAMES.iter().filter(|&&b| b != bug) {
        scenario.bugs = Bugs::default();
        scenario.bugs.set(other, true).expect("a known bug");
        for seed in CROSS_SEEDS {
            let outcome = stagesim::run::run(&scenario, seed);
            assert_ne!(
                outcome.verdict,
                Verdict::Reproduced,
                "{rel} with {other} instead of {bug}, seed {seed}: {:#?}\nreproduce: {} --bug {bug}=off --bug {other}",
                outcome.violations,
                reproduce(&rel, seed)
            );
        }
    }
}

macro_rules! catalog {
    ($($bug:ident),* $(,)?) => {
        $(
            mod $bug {
                #[test]
                fn reproduces() {
                    super::check(stringify!($bug));
                }

                #[test]
                fn is_not_reproduced_by_another_bug() {
                    super::not_reproduced_by_other_bugs(stringify!($bug));
                }
            }
        )*

        #[test]
        fn every_bug_has_a_regression_scenario() {
            let covered: Vec<&str> = vec![$(stringify!($bug)),*];
            assert_eq!(covered, Bugs::NAMES.to_vec());
        }
    };
}

catalog!(
    auth_failure_closes_1011,
    missing_component_at_runtime,
    orchestrator_singleton,
    staging_auth_bypass,
    header_only_token,
    no_auth_retry,
    serialization_failure,
    unknown_type_crash,
    pool_exhaustion_error,
    shared_user_context,
);

/// Defects combine: a stripped header read by a header-only gateway whose
/// auth failures escape as 1011 is what staging saw.
#[test]
fn header_stripping_with_two_bugs_turns_into_1011() {
    let rel = "scenarios/regressions/header_only_token.toml";
    let seed = 1;
    let mut scenario = support::load(rel);
    scenario.bugs.auth_failure_closes_1011 = true;
    let outcome = stagesim::run::run(&scenario, seed);
    let seen: BTreeSet<Invariant> = outcome.violations.iter().map(|v| v.invariant).collect();
    assert_eq!(
        seen,
        BTreeSet::from([Invariant::No1011]),
        "reproduce: {} --bug auth_failure_closes_1011",
        reproduce(rel, seed)
    );
    assert!(
        outcome
            .violations
            .iter()
            .all(|v| v.detail.contains("missing token")),
        "the 1011 should name the lost token; reproduce: {} --bug auth_failure_closes_1011",
        reproduce(rel, seed)
    );
}
