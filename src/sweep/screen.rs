//! `sweep --bug all`: screen every catalogued defect, one at a time,
//! against a set of scenarios, to learn which scenarios would catch it.
//!
//! Data flow: targets x [`Bugs::NAMES`] -> one screening target per pair
//! (the scenario with its own bugs off and that one bug on) -> one
//! [`super::run`] over all of them, so every core stays busy across bugs ->
//! per bug, the scenarios that caught it. Only the fixed-size run records
//! are read, so a screening holds no more than a sweep of ten times the
//! scenarios.

use std::time::Duration;

use super::{RunRecord, Target};
use crate::oracle::Verdict;
use crate::scenario::Bugs;

/// One scenario that caught one bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catch {
    /// Index into the screened targets.
    pub target: usize,
    /// Seeds on which a run caught the bug.
    pub seeds: u64,
    /// The lowest of them.
    pub first_seed: u64,
    /// The command that replays the first catch:
    /// `stagesim run FILE --seed N --fixed --bug NAME`.
    pub reproduce: String,
}

/// What screening found for one bug.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BugScreen {
    pub bug: &'static str,
    /// The scenarios that caught it, in target order; empty if none did.
    pub caught_by: Vec<Catch>,
}

/// The result of screening every catalogued bug.
#[derive(Debug, Clone)]
pub struct Screening {
    /// One per bug, in [`Bugs::NAMES`] order.
    pub bugs: Vec<BugScreen>,
    /// Runs made: bugs x targets x seeds.
    pub runs: usize,
    pub wall: Duration,
    /// Worker threads that ran.
    pub jobs: usize,
}

impl Screening {
    /// The bugs no scenario caught, in [`Bugs::NAMES`] order.
    pub fn not_caught(&self) -> Vec<&'static str> {
        self.bugs
            .iter()
            .filter(|b| b.caught_by.is_empty())
            .map(|b| b.bug)
            .collect()
    }

    pub fn runs_per_sec(&self) -> f64 {
        self.runs as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

/// `target` with every bug off except `bug`, and the flags that replay it.
pub fn with_only(target: &Target, bug: &str) -> Target {
    let mut scenario = target.scenario.clone();
    scenario.bugs = Bugs::default();
    let known = scenario.bugs.set(bug, true);
    // Only names from `Bugs::NAMES` come here, and `Bugs::set` knows each
    // (bugs.rs tests that the two agree).
    debug_assert!(known.is_ok(), "{known:?}");
    Target {
        path: target.path.clone(),
        scenario,
        flags: format!(" --fixed --bug {bug}"),
    }
}

/// Whether a run with `verdict` catches the bug it was screened with. On a
/// scenario that expects nothing, a run catches it when it fails. On a
/// scenario whose `expect` lists violations (a regression scenario), a
/// `reproduced` run counts too: its expected violations are the defect it
/// was written to catch, and with every other bug off they come from the
/// bug being screened.
pub fn catches(target: &Target, verdict: Verdict) -> bool {
    match verdict {
        Verdict::Fail => true,
        Verdict::Reproduced => !target.scenario.expect.violations.is_empty(),
        Verdict::Pass => false,
    }
}

/// Screen every catalogued bug against `targets` on `seeds`, on `jobs`
/// worker threads; `progress` is called after each run.
pub fn screen(
    targets: &[Target],
    seeds: &[u64],
    jobs: usize,
    progress: &(dyn Fn(&RunRecord) + Sync),
) -> Screening {
    // Bug-major: screened target `i` is bug `i / n` on target `i % n`.
    let n = targets.len();
    let screened: Vec<Target> = Bugs::NAMES
        .iter()
        .flat_map(|bug| targets.iter().map(|t| with_only(t, bug)))
        .collect();
    let result = super::run(&screened, seeds, jobs, progress);
    let mut found: Vec<Option<Catch>> = vec![None; screened.len()];
    // Records are in job order, so a target's first catch has its lowest seed.
    for r in &result.records {
        let t = &screened[r.target];
        if !catches(t, r.verdict) {
            continue;
        }
        let catch = found[r.target].get_or_insert_with(|| Catch {
            target: r.target % n,
            seeds: 0,
            first_seed: r.seed,
            reproduce: t.reproduce(r.seed),
        });
        catch.seeds += 1;
    }
    let bugs = Bugs::NAMES
        .iter()
        .enumerate()
        .map(|(i, &bug)| BugScreen {
            bug,
            caught_by: found[i * n..(i + 1) * n]
                .iter()
                .flatten()
                .cloned()
                .collect(),
        })
        .collect();
    Screening {
        bugs,
        runs: result.records.len(),
        wall: result.wall,
        jobs: result.jobs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_screening_target_has_only_its_bug_and_says_so_in_its_reproduce_line() {
        let text = "name = \"a\"\n[bugs]\nno_auth_retry = true\nheader_only_token = true\n";
        let scenario = crate::scenario::parse(text, std::path::Path::new("a.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let target = Target {
            path: "dir/a.toml".into(),
            scenario,
            flags: String::new(),
        };
        let only = with_only(&target, "unknown_type_crash");
        assert_eq!(only.scenario.bugs.enabled(), vec!["unknown_type_crash"]);
        assert_eq!(
            only.reproduce(7),
            "stagesim run dir/a.toml --seed 7 --fixed --bug unknown_type_crash"
        );
    }

    #[test]
    fn reproduced_catches_only_on_a_scenario_that_expects_violations() {
        let general = crate::scenario::parse("name = \"a\"\n", std::path::Path::new("a.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        let mut regression = general.clone();
        regression.expect.violations = vec![crate::scenario::Expected::invariant(
            crate::scenario::Invariant::No1011,
        )];
        let target = |scenario| Target {
            path: "a.toml".into(),
            scenario,
            flags: String::new(),
        };
        let (general, regression) = (target(general), target(regression));
        assert!(catches(&general, Verdict::Fail) && catches(&regression, Verdict::Fail));
        assert!(!catches(&general, Verdict::Reproduced));
        assert!(catches(&regression, Verdict::Reproduced));
        assert!(!catches(&general, Verdict::Pass) && !catches(&regression, Verdict::Pass));
    }
}
