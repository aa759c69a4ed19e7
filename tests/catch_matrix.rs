//! The catch matrix: every catalogued defect, switched on alone, makes at
//! least two of the general scenarios (those in `scenarios/`, outside the
//! regression catalog, which expect no violation) fail on one of seeds
//! 1-3. A general scenario set that misses a defect would let it ship.
//!
//! `stagesim sweep scenarios/*.toml --bug all --seeds 3` prints the same
//! matrix; this test stops at the second catch of each defect to stay
//! quick.

#[path = "support/mod.rs"]
mod support;

use stagesim::oracle::Verdict;
use stagesim::scenario::Bugs;

const SEEDS: [u64; 3] = [1, 2, 3];
/// Catches each defect needs.
const CATCHES: usize = 2;

fn general_scenarios() -> Vec<String> {
    let files: Vec<String> = support::scenario_files()
        .into_iter()
        .filter(|rel| !rel.contains("regressions"))
        .collect();
    for rel in &files {
        let s = support::load(rel);
        assert!(
            s.expect.violations.is_empty(),
            "{rel} expects violations: not general"
        );
        assert_eq!(
            s.bugs,
            Bugs::default(),
            "{rel} switches a bug on: not general"
        );
    }
    files
}

/// The first seed on which `rel` with only `bug` on fails, if any.
fn catching_seed(rel: &str, bug: &str) -> Option<u64> {
    let mut scenario = support::load(rel);
    scenario.bugs = Bugs::default();
    scenario.bugs.set(bug, true).expect("a catalogued name");
    SEEDS
        .into_iter()
        .find(|&seed| stagesim::run::run(&scenario, seed).verdict == Verdict::Fail)
}

#[test]
fn every_defect_is_caught_by_at_least_two_general_scenarios() {
    // many_users is the slowest: try it last.
    let mut files = general_scenarios();
    files.sort_by_key(|rel| rel.contains("many_users"));
    let mut misses = Vec::new();
    for bug in Bugs::NAMES {
        let mut caught = Vec::new();
        for rel in &files {
            if let Some(seed) = catching_seed(rel, bug) {
                caught.push(format!("{rel} (seed {seed})"));
                if caught.len() == CATCHES {
                    break;
                }
            }
        }
        if caught.len() < CATCHES {
            misses.push(format!(
                "{bug}: caught only by {caught:?} on seeds {SEEDS:?}; \
                 reproduce: cargo run --release -- sweep scenarios --seeds 3 --bug all"
            ));
        }
    }
    assert!(misses.is_empty(), "{}", misses.join("\n"));
}
