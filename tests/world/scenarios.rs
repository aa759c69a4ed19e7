//! The shipped scenarios pass: no violation on a spread of seeds (the
//! regression catalog has its own test binary).

use crate::support;

#[test]
fn shipped_scenarios_pass_on_several_seeds() {
    for rel in support::scenario_files() {
        if rel.contains("regressions") {
            continue;
        }
        let scenario = support::load(&rel);
        // many_users is the slow one: one seed is enough here.
        let seeds: &[u64] = if rel.contains("many_users") {
            &[3]
        } else {
            &[2, 3, 4]
        };
        for &seed in seeds {
            let outcome = stagesim::run::run(&scenario, seed);
            support::assert_pass(&outcome, &rel);
        }
    }
}
