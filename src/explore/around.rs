//! Runs drawn around one scenario (`stagesim explore --from FILE`): from a
//! scenario a person wrote (or `diagnose` found no catalogued mechanism
//! for), run `n` takes its own seed and a few seeded nudges: user counts
//! scaled, faults moved, one fault dropped. Everything else stays, so the
//! runs explore the neighbourhood of that failure, not the whole envelope.
//!
//! Part of `explore`: `run number n -> around(base, n) -> run -> oracle`.
//! A nudged scenario is written and read back; one that no longer loads
//! falls back to the base with run `n`'s seed.

use std::time::Duration;

use rand::RngExt;

use crate::envelope::Case;
use crate::scenario::{self, Scenario};

/// Most users a nudge may scale a scenario to (the validation cap).
const MAX_USERS: u64 = 10_000;
/// How far a nudge moves a fault, either way.
const SHIFT_MAX_MS: i64 = 5_000;

/// Run `n`'s case around `base`.
pub fn around(base: &Scenario, n: u64) -> Case {
    let mut rng = crate::seed::rng(n, "explore/around");
    let mut s = base.clone();
    if rng.random_bool(0.5) {
        let factor: f64 = rng.random_range(0.5..=2.0);
        let total: u64 = s.users.iter().map(|g| u64::from(g.count)).sum();
        let factor = factor.min(MAX_USERS as f64 / total.max(1) as f64);
        for g in &mut s.users {
            g.count = ((f64::from(g.count) * factor).round() as u32).max(1);
        }
    }
    if rng.random_bool(0.5) {
        let last = s.duration.saturating_sub(Duration::from_millis(1));
        for f in &mut s.faults {
            let shift = rng.random_range(-SHIFT_MAX_MS..=SHIFT_MAX_MS);
            let at = (f.at().as_millis() as i64 + shift).max(0) as u64;
            *f.at_mut() = Duration::from_millis(at).min(last);
        }
    }
    if !s.faults.is_empty() && rng.random_bool(1.0 / 3.0) {
        let i = rng.random_range(0..s.faults.len());
        s.faults.remove(i);
    }
    s.name = format!("explore_from_{n}");
    s.description = format!(
        "drawn around {} by stagesim explore --from, run {n}",
        base.name
    );
    let text = scenario::to_toml(&s);
    let scenario = scenario::parse(&text, std::path::Path::new(&format!("{}.toml", s.name)))
        .unwrap_or_else(|_| {
            let mut fallback = base.clone();
            fallback.name = s.name.clone();
            fallback
        });
    Case { scenario, seed: n }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_number_always_draws_the_same_neighbour_and_it_loads() {
        let base = crate::scenario::shipped::find("gateway_restart")
            .expect("built in")
            .load()
            .expect("loads");
        for n in 1..50 {
            let a = around(&base, n);
            assert_eq!(a.scenario, around(&base, n).scenario, "run {n}");
            assert_eq!(a.seed, n);
            assert!(a.scenario.users.iter().all(|g| g.count >= 1));
            assert!(
                a.scenario
                    .faults
                    .iter()
                    .all(|f| f.at() < a.scenario.duration)
            );
        }
        let nudged = (1..50)
            .filter(|n| around(&base, *n).scenario.users != base.users)
            .count();
        assert!(
            nudged > 10,
            "the user counts are nudged in about half the runs: {nudged}"
        );
    }
}
