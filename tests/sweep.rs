//! Sweeps: results independent of `--jobs` and `--shard`, shards covering
//! the seed range exactly, exit codes, JUnit failures carrying the
//! reproduce line.

#[path = "support/mod.rs"]
mod support;

use stagesim::sweep::{self, RunRecord, Shard, Target};

fn target(rel: &str) -> Target {
    Target {
        path: rel.to_string(),
        scenario: support::load(rel),
        flags: String::new(),
    }
}

/// What must not depend on how a sweep was split (not the wall time).
fn key(r: &RunRecord) -> (usize, u64, String, String, u64) {
    (
        r.target,
        r.seed,
        r.verdict.to_string(),
        r.trace_hash.to_string(),
        r.sim_ms,
    )
}

#[test]
fn results_do_not_depend_on_jobs_or_shards() {
    let targets = vec![
        target("scenarios/golden_path.toml"),
        target("scenarios/regressions/orchestrator_singleton.toml"),
    ];
    let seeds: Vec<u64> = (1..=6).collect();
    let one = sweep::run(&targets, &seeds, 1, &|_| {});
    let two = sweep::run(&targets, &seeds, 2, &|_| {});
    let a: Vec<_> = one.records.iter().map(key).collect();
    let b: Vec<_> = two.records.iter().map(key).collect();
    assert_eq!(a, b, "--jobs 1 and --jobs 2 disagree (seeds 1..=6)");

    let mut sharded = Vec::new();
    for index in 1..=3 {
        let part = sweep::seeds_for(1, 6, Shard { index, count: 3 });
        sharded.extend(sweep::run(&targets, &part, 2, &|_| {}).records);
    }
    sharded.sort_by_key(|r| (r.target, r.seed));
    let c: Vec<_> = sharded.iter().map(key).collect();
    assert_eq!(
        a, c,
        "three shards disagree with the whole sweep (seeds 1..=6)"
    );
}

#[test]
fn shards_cover_the_seed_range_exactly() {
    for count in 1..=5 {
        let mut seen: Vec<u64> = (1..=count)
            .flat_map(|index| sweep::seeds_for(10, 23, Shard { index, count }))
            .collect();
        let before = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(before, seen.len(), "overlap with {count} shards");
        assert_eq!(
            seen,
            (10..33).collect::<Vec<_>>(),
            "gap with {count} shards"
        );
    }
}

#[test]
fn a_failing_seed_fails_the_sweep_with_its_reproduce_line_in_junit() {
    let junit = std::env::temp_dir().join(format!("stagesim-sweep-{}.xml", std::process::id()));
    let rel = "tests/fixtures/sweep/unexpected_1011.toml";
    let (code, stdout, stderr) = support::stagesim(&[
        "sweep",
        rel,
        "--seeds",
        "3",
        "--jobs",
        "2",
        "--junit",
        junit.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains(&format!("reproduce: stagesim run {rel} --seed 2")),
        "{stdout}"
    );
    let xml = std::fs::read_to_string(&junit).expect("junit written");
    let _ = std::fs::remove_file(&junit);
    assert!(xml.contains("<failure"), "{xml}");
    assert!(xml.contains("3 of 3 seeds failed"), "{xml}");
    assert!(
        xml.contains(&format!("reproduce: stagesim run {rel} --seed 3")),
        "{xml}"
    );
}

#[test]
fn a_regression_that_reproduces_on_no_seed_fails_the_sweep() {
    // With every bug off, the regression scenario can no longer reproduce.
    let rel = "scenarios/regressions/unknown_type_crash.toml";
    let (code, stdout, _) = support::stagesim(&["sweep", rel, "--seeds", "2", "--fixed", "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["failed"], 0);
    assert_eq!(doc["runs"], 2);
    assert_eq!(doc["regressions_not_reproduced"][0], rel);
    // And with the bug on, it reproduces and the sweep passes.
    let (code, stdout, _) = support::stagesim(&["sweep", rel, "--seeds", "2", "--json"]);
    assert_eq!(code, 0, "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["reproduced"], 2);
    for key in [
        "runs",
        "failed",
        "reproduced",
        "failing_seeds",
        "runs_per_sec",
    ] {
        assert!(doc.get(key).is_some(), "sweep --json lacks {key}");
    }
}

#[test]
fn bad_usage_exits_2() {
    for args in [
        vec!["sweep", "scenarios/golden_path.toml", "--shard", "3/2"],
        vec!["sweep", "scenarios/golden_path.toml", "--jobs", "0"],
        vec!["sweep", "no/such/file.toml"],
        vec!["sweep"],
    ] {
        let (code, _, stderr) = support::stagesim(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}
