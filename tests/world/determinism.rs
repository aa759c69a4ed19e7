//! Same scenario and seed, same trace, byte for byte; another seed, another
//! trace.

use crate::support::{self, reproduce};

#[test]
fn every_scenario_is_deterministic_and_seed_sensitive() {
    let seed = 7;
    for rel in support::scenario_files() {
        let scenario = support::load(&rel);
        let first = stagesim::run::run(&scenario, seed);
        let again = stagesim::run::run(&scenario, seed);
        if first.trace_hash != again.trace_hash {
            let a = first.trace.render();
            let b = again.trace.render();
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            panic!(
                "{rel} seed {seed} is not deterministic: traces first differ at line {}:\n  {}\n  {}\nreproduce: {}",
                line + 1,
                a.lines().nth(line).unwrap_or(""),
                b.lines().nth(line).unwrap_or(""),
                reproduce(&rel, seed)
            );
        }
        let other = stagesim::run::run(&scenario, seed + 1);
        assert_ne!(
            first.trace_hash,
            other.trace_hash,
            "{rel}: seeds {seed} and {} gave the same trace; reproduce: {}",
            seed + 1,
            reproduce(&rel, seed)
        );
    }
}
