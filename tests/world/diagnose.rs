//! `diagnose`: given what a run of each regression scenario showed (its
//! `run --json`), the simulation of every catalogued mechanism over a few
//! seeds ranks that regression's own defect first.

use stagesim::diagnose::{Signature, rank};
use stagesim::oracle::Verdict;

use crate::support;

#[test]
fn each_regression_s_own_defect_ranks_first() {
    let mut wrong = Vec::new();
    for rel in support::scenario_files() {
        if !rel.starts_with("scenarios/regressions/") {
            continue;
        }
        let scenario = support::load(&rel);
        let defect = scenario.bugs.enabled()[0];
        let seed = (1..=50)
            .find(|&s| stagesim::run::run(&scenario, s).verdict == Verdict::Reproduced)
            .unwrap_or_else(|| panic!("{rel} reproduces on no seed of 1-50"));
        let observed = Signature::of_outcome(&stagesim::run::run(&scenario, seed));
        let ranked = rank(&scenario, &observed, 5);
        println!(
            "{rel} (seed {seed}): {}",
            ranked
                .iter()
                .take(3)
                .map(|m| format!("{} {:.2}", m.mechanism, m.best_score))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if ranked[0].mechanism != defect {
            wrong.push(format!(
                "{rel}: {} ranked first, {defect} expected",
                ranked[0].mechanism
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{wrong:#?}\nreproduce: stagesim run FILE --seed N --json > observed.json; stagesim diagnose FILE --observed observed.json"
    );
}

/// The command: a run's `--json` as what was observed, the mechanism named
/// first with the line that replays its best seed; a file that is not a
/// run's JSON is exit 2.
#[test]
fn the_command_names_the_mechanism_and_its_run_line() {
    let dir = support::Scratch::new("diagnose");
    let observed = dir.file("observed.json");
    let file = "scenarios/regressions/unknown_type_crash.toml";
    let (code, json, _) = support::stagesim(&["run", file, "--seed", "1", "--json"]);
    assert!(code <= 1, "{json}");
    std::fs::write(&observed, json).expect("write observed.json");
    let args = [
        "diagnose",
        file,
        "--observed",
        observed.as_str(),
        "--seeds",
        "3",
    ];
    let (code, stdout, stderr) = support::stagesim(&args);
    let replay = format!(
        "reproduce: stagesim run {file} --seed 1 --json > observed.json; stagesim diagnose {file} --observed observed.json --seeds 3"
    );
    assert_eq!(code, 0, "{stderr}\n{replay}");
    let first = stdout.lines().nth(1).unwrap_or_default();
    assert!(
        first.starts_with("1. unknown_type_crash"),
        "{stdout}\n{replay}"
    );
    assert!(
        stdout.contains("--fixed --bug unknown_type_crash"),
        "{stdout}\n{replay}"
    );
    std::fs::write(&observed, "{}").expect("write");
    let (code, _, stderr) = support::stagesim(&args);
    assert_eq!(code, 2, "{stderr}");
}
