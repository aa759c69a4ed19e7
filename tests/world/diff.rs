//! `stagesim diff`: where two runs part, user by user, from one scenario at
//! two seeds or from two trace files. `orchestrator_singleton` at seeds 5
//! (user-0001 arrives at 4.7 s, before the pipeline is ready at 7 s: 1011)
//! and 6 (it arrives at 15 s: done) is the example.

use crate::support;

const FILE: &str = "scenarios/regressions/orchestrator_singleton.toml";

fn check_parting(stdout: &str, replay: &str) {
    assert!(
        stdout.contains("user-0001: ends \"finished: closed 1011\" in A, \"finished: done\" in B"),
        "{stdout}\n{replay}"
    );
    assert!(
        stdout.contains("pipeline initialising"),
        "the state then: {stdout}\n{replay}"
    );
    let chain = stdout
        .split("its way to the violation (A):")
        .nth(1)
        .unwrap_or_else(|| panic!("no chain to the violation: {stdout}\n{replay}"));
    assert!(
        chain.contains("closed 1011 by server"),
        "{stdout}\n{replay}"
    );
}

#[test]
fn diff_of_two_seeds_names_the_user_who_ends_differently_and_why() {
    let args = ["diff", FILE, "--seed", "5", "--seed", "6"];
    let (code, stdout, stderr) = support::stagesim(&args);
    let replay = format!("reproduce: stagesim {}", args.join(" "));
    assert_eq!(code, 1, "{stderr}\n{replay}");
    check_parting(&stdout, &replay);
    let same = ["diff", FILE, "--seed", "5", "--seed", "5"];
    let (code, stdout, _) = support::stagesim(&same);
    assert_eq!(code, 0, "{stdout}\nreproduce: stagesim {}", same.join(" "));
    assert!(
        stdout.contains("0 user(s) end differently; 0 more part"),
        "{stdout}"
    );
}

#[test]
fn diff_of_two_trace_files_lines_them_up_the_same_way() {
    let dir = support::Scratch::new("diff");
    let (a, b) = (dir.file("seed5.trace"), dir.file("seed6.trace"));
    for (seed, path) in [("5", &a), ("6", &b)] {
        let (code, _, stderr) = support::stagesim(&["run", FILE, "--seed", seed, "--trace", path]);
        assert!(code <= 1, "{stderr}");
    }
    let args = ["diff", a.as_str(), b.as_str()];
    let (code, stdout, stderr) = support::stagesim(&args);
    let replay = format!(
        "reproduce: stagesim run {FILE} --seed 5 --trace A; ... --seed 6 --trace B; stagesim diff A B"
    );
    assert_eq!(code, 1, "{stderr}\n{replay}");
    assert!(
        stdout.contains("user-0001: ends \"finished: closed 1011\" in A, \"finished: done\" in B"),
        "{stdout}\n{replay}"
    );
    let (code, _, stderr) = support::stagesim(&["diff", a.as_str()]);
    assert_eq!(code, 2, "one trace file and no seeds: {stderr}");
}
