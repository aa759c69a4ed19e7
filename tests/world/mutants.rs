//! Realistic backend mistakes that no catalogued defect names
//! (`services::mutants`), each planted in a shipped scenario: the scenario
//! passes without it, and with it fails with the cause that names the
//! mistake. A check that no plausible mistake could fail is not a check.

use stagesim::scenario::{Cause, Scenario};
use stagesim::services::mutants::Mutant;

use super::support;

/// `rel` with `mutant` planted (and `tweak` applied), run with `seed`: the
/// causes of its violations.
fn causes_with(
    rel: &str,
    seed: u64,
    mutant: Option<Mutant>,
    tweak: fn(&mut Scenario),
) -> Vec<Cause> {
    let mut scenario = support::load(rel);
    tweak(&mut scenario);
    scenario.bugs.mutant = mutant;
    let outcome = stagesim::run::run(&scenario, seed);
    outcome.violations.iter().map(|v| v.cause).collect()
}

/// The scenario passes as shipped, and fails with `cause` once `mutant` is
/// planted.
fn caught(rel: &str, seed: u64, mutant: Mutant, cause: Cause, tweak: fn(&mut Scenario)) {
    let reproduce = support::reproduce(rel, seed);
    let clean = causes_with(rel, seed, None, tweak);
    assert!(
        clean.is_empty(),
        "{rel} seed {seed} fails without {mutant:?}: {clean:?}\nreproduce: {reproduce}"
    );
    let planted = causes_with(rel, seed, Some(mutant), tweak);
    assert!(
        planted.contains(&cause),
        "{mutant:?} planted in {rel} seed {seed}: expected {cause}, got {planted:?}\nreproduce: {reproduce} (with the mutant set in code)"
    );
}

fn as_shipped(_: &mut Scenario) {}

#[test]
fn a_backend_that_refuses_everything_fails_golden_path() {
    caught(
        "scenarios/golden_path.toml",
        1,
        Mutant::RefuseEverything,
        Cause::RefusedWithoutCause,
        as_shipped,
    );
}

#[test]
fn a_seq_that_starts_anywhere_but_1_fails_golden_path() {
    caught(
        "scenarios/golden_path.toml",
        1,
        Mutant::SeqStartsAt14,
        Cause::BadSeq,
        as_shipped,
    );
}

#[test]
fn a_pool_one_too_large_fails_db_contention() {
    caught(
        "scenarios/db_contention.toml",
        1,
        Mutant::PoolOneTooLarge,
        Cause::PoolOverCapacity,
        as_shipped,
    );
}

#[test]
fn a_pool_that_leaks_on_cancel_fails_gateway_restart() {
    caught(
        "scenarios/gateway_restart.toml",
        1,
        Mutant::LeakPoolOnCancel,
        Cause::PoolSlotLeaked,
        as_shipped,
    );
}

#[test]
fn a_limit_off_by_one_fails_db_contention_with_a_limit() {
    // 50 users, 10 connections at a time: the rest get 1013 and retry.
    caught(
        "scenarios/db_contention.toml",
        1,
        Mutant::AdmitOneOverLimit,
        Cause::OverConnectionLimit,
        |s| {
            s.gateway.max_connections = 10;
        },
    );
}

#[test]
fn a_shutdown_that_closes_1000_fails_gateway_restart() {
    caught(
        "scenarios/gateway_restart.toml",
        1,
        Mutant::ShutdownClosesNormally,
        Cause::ServerClosed1000,
        as_shipped,
    );
}

#[test]
fn a_run_that_hangs_fails_golden_path_at_convergence() {
    caught(
        "scenarios/golden_path.toml",
        1,
        Mutant::RunHangsAfterTool,
        Cause::DidNotConverge,
        as_shipped,
    );
}

#[test]
fn a_1013_without_its_dependency_fails_db_contention_with_a_limit() {
    caught(
        "scenarios/db_contention.toml",
        1,
        Mutant::LimitReasonReworded,
        Cause::CloseOutsideProtocol,
        |s| s.gateway.max_connections = 10,
    );
}
