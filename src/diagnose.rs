//! Which catalogued mechanism explains an observed failure
//! (`stagesim diagnose`): simulate the scenario with no defect and with each
//! catalogued defect alone, over some seeds, and rank the mechanisms by how
//! close each run's failure signature comes to the observed one.
//!
//! Data flow: `observed run (a run's --json) -> Signature`; `scenario x
//! mechanism x seed -> run -> Signature`; `distance -> ranking`. The
//! signature is what a person sees of a staging failure: which causes (and,
//! for a 1011, which component), which users were hit, the close codes per
//! user group, and when the first hit came. Its score is a weighted
//! similarity in [0, 1]: causes count most because they name the mechanism;
//! who and which codes tell mechanisms with one cause apart (a 1011 in the
//! router from a missing handler or from an early read); the time of the
//! first hit says whether it struck during startup or later.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::run::Outcome;
use crate::scenario::{Bugs, Scenario};

/// What a failure looks like from outside.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Signature {
    /// `cause` or `cause (component)` of every violation.
    pub causes: BTreeSet<String>,
    pub users_hit: BTreeSet<String>,
    /// Close codes by user group (numbered from 1) and code.
    pub close_codes: BTreeMap<(u64, u64), u64>,
    pub first_hit_ms: Option<u64>,
}

impl Signature {
    pub fn of_outcome(o: &Outcome) -> Signature {
        Signature::of_json(&crate::report::to_json(o, "")).unwrap_or_default()
    }

    /// From a run's `--json` (`stagesim run ... --json > observed.json`).
    pub fn of_json(v: &Value) -> Result<Signature, String> {
        let violations = v["violations"]
            .as_array()
            .ok_or("no `violations` array: expected the output of `stagesim run --json`")?;
        let mut s = Signature::default();
        for x in violations {
            let cause = x["cause"].as_str().unwrap_or("?");
            s.causes.insert(match x["component"].as_str() {
                Some(c) => format!("{cause} ({c})"),
                None => cause.to_string(),
            });
            if let Some(u) = x["user"].as_str() {
                s.users_hit.insert(u.to_string());
            }
            let at = x["at_ms"].as_u64();
            s.first_hit_ms = match (s.first_hit_ms, at) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for g in v["groups"].as_array().ok_or("no `groups` array")? {
            let group = g["group"].as_u64().unwrap_or(0);
            for (code, n) in g["close_codes"].as_object().into_iter().flatten() {
                let code = code.parse().unwrap_or(0);
                s.close_codes.insert((group, code), n.as_u64().unwrap_or(0));
            }
        }
        Ok(s)
    }

    /// How close `self` (a candidate run) comes to `observed`, 0 to 1.
    pub fn score(&self, observed: &Signature, duration_ms: u64) -> f64 {
        let timing = match (self.first_hit_ms, observed.first_hit_ms) {
            (None, None) => 1.0,
            (Some(a), Some(b)) => 1.0 - (a.abs_diff(b) as f64 / duration_ms.max(1) as f64).min(1.0),
            _ => 0.0,
        };
        0.5 * jaccard(&self.causes, &observed.causes)
            + 0.2 * jaccard(&self.users_hit, &observed.users_hit)
            + 0.2 * histogram_overlap(&self.close_codes, &observed.close_codes)
            + 0.1 * timing
    }
}

/// |A ∩ B| / |A ∪ B|, 1 for two empty sets.
fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// 1 minus half the L1 distance of the two normalised histograms.
fn histogram_overlap(a: &BTreeMap<(u64, u64), u64>, b: &BTreeMap<(u64, u64), u64>) -> f64 {
    let total = |h: &BTreeMap<(u64, u64), u64>| h.values().sum::<u64>().max(1) as f64;
    let (ta, tb) = (total(a), total(b));
    let keys: BTreeSet<_> = a.keys().chain(b.keys()).collect();
    let l1: f64 = keys
        .iter()
        .map(|k| {
            let x = *a.get(*k).unwrap_or(&0) as f64 / ta;
            let y = *b.get(*k).unwrap_or(&0) as f64 / tb;
            (x - y).abs()
        })
        .sum();
    1.0 - l1 / 2.0
}

/// One mechanism's showing over the seeds.
#[derive(Debug, Clone)]
pub struct Match {
    /// A catalogued defect's name, or `none` (the fixed backend).
    pub mechanism: &'static str,
    pub best_score: f64,
    pub best_seed: u64,
    /// Seeds whose run scored at least [`CLOSE`].
    pub close_seeds: u64,
}

/// A score at or above this counts as reproducing the observed failure.
pub const CLOSE: f64 = 0.8;

/// Every mechanism (no defect, then each catalogued one alone) on seeds
/// `1..=seeds`, best first (ties in catalogue order).
pub fn rank(scenario: &Scenario, observed: &Signature, seeds: u64) -> Vec<Match> {
    let duration_ms = scenario.duration.as_millis() as u64;
    let mechanisms = std::iter::once("none").chain(Bugs::NAMES);
    let mut matches: Vec<Match> = mechanisms
        .map(|mechanism| {
            let mut s = scenario.clone();
            s.bugs = Bugs::default();
            if mechanism != "none" {
                let _ = s.bugs.set(mechanism, true);
            }
            s.expect.violations.clear();
            let scores: Vec<(u64, f64)> = (1..=seeds)
                .map(|seed| {
                    let o = crate::run::run(&s, seed);
                    (seed, Signature::of_outcome(&o).score(observed, duration_ms))
                })
                .collect();
            let (best_seed, best_score) = scores
                .iter()
                .copied()
                .fold((1, f64::MIN), |b, x| if x.1 > b.1 { x } else { b });
            Match {
                mechanism,
                best_score,
                best_seed,
                close_seeds: scores.iter().filter(|(_, x)| *x >= CLOSE).count() as u64,
            }
        })
        .collect();
    matches.sort_by(|a, b| {
        b.best_score
            .total_cmp(&a.best_score)
            .then(b.close_seeds.cmp(&a.close_seeds))
    });
    matches
}
