//! Sweeps: results independent of `--jobs` and `--shard`, shards covering
//! the seed range exactly, exit codes, JUnit failures carrying the
//! reproduce line, and when and to whom a scenario failed.

#[path = "support/mod.rs"]
mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use stagesim::oracle;
use stagesim::scenario::Bugs;
use stagesim::sweep::{self, RunRecord, Screening, Shard, Spread, Target};
use stagesim::trace::Kind;

/// Two user groups with `orchestrator_singleton` on and not expected: the
/// second group arrives during the 7 s initialisation and gets 1011.
const EARLY_USERS_HIT: &str = "tests/fixtures/sweep/early_users_hit.toml";
/// `orchestrator_singleton`'s world, nothing expected: on seeds 4..=8, seeds
/// 4, 5 and 7 fail and 6 and 8 pass.
const FLAKY_1011: &str = "tests/fixtures/sweep/flaky_1011.toml";
const ORCHESTRATOR_SINGLETON: &str = "scenarios/regressions/orchestrator_singleton.toml";

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

/// `rel` with every bug off, as `--fixed` loads it.
fn fixed(rel: &str) -> Target {
    let mut t = target(rel);
    t.scenario.bugs = Bugs::default();
    t.flags = " --fixed".into();
    t
}

#[test]
fn results_do_not_depend_on_jobs_or_shards() {
    let targets = vec![
        target("scenarios/golden_path.toml"),
        target("scenarios/regressions/orchestrator_singleton.toml"),
        target(EARLY_USERS_HIT),
    ];
    let seeds: Vec<u64> = (1..=6).collect();
    let one = sweep::run(&targets, &seeds, 1, &|_| {});
    let two = sweep::run(&targets, &seeds, 2, &|_| {});
    let a: Vec<_> = one.records.iter().map(key).collect();
    let b: Vec<_> = two.records.iter().map(key).collect();
    assert_eq!(a, b, "--jobs 1 and --jobs 2 disagree (seeds 1..=6)");

    let spreads = |r: &sweep::SweepResult| -> Vec<Spread> {
        r.summary(targets.len())
            .into_iter()
            .map(|s| s.spread)
            .collect()
    };
    let whole = spreads(&one);
    assert_eq!(
        whole,
        spreads(&two),
        "--jobs 1 and --jobs 2 disagree on when and to whom (seeds 1..=6)"
    );
    assert!(whole[2].first_violation.is_some(), "{whole:?}");

    let mut sharded = Vec::new();
    let mut merged = vec![Spread::default(); targets.len()];
    for index in 1..=3 {
        let part = sweep::seeds_for(1, 6, Shard { index, count: 3 });
        let result = sweep::run(&targets, &part, 2, &|_| {});
        for (total, spread) in merged.iter_mut().zip(spreads(&result)) {
            total.merge(spread);
        }
        sharded.extend(result.records);
    }
    sharded.sort_by_key(|r| (r.target, r.seed));
    let c: Vec<_> = sharded.iter().map(key).collect();
    assert_eq!(
        a, c,
        "three shards disagree with the whole sweep (seeds 1..=6)"
    );
    assert_eq!(
        whole, merged,
        "three shards, merged, disagree with the whole sweep on when and to whom (seeds 1..=6)"
    );
}

/// When and to whom `target` failed on `seeds`, worked out from
/// `stagesim::run::run` outcomes without the sweep: the earliest and latest
/// violation the scenario does not expect, and the groups of their users;
/// also whether any run had a violation at all.
fn spread_by_hand(target: &Target, seeds: &[u64]) -> (Spread, bool) {
    let mut times = Vec::new();
    let mut groups = BTreeSet::new();
    let mut any = false;
    for &seed in seeds {
        let outcome = stagesim::run::run(&target.scenario, seed);
        any |= !outcome.violations.is_empty();
        for v in &outcome.violations {
            if oracle::is_expected(&target.scenario.expect, v) {
                continue;
            }
            times.push(v.at);
            let declared = outcome.trace.events.iter().find_map(|e| match &e.kind {
                Kind::UserDeclared { group, .. } if e.user.as_deref() == v.user.as_deref() => {
                    Some(*group)
                }
                _ => None,
            });
            groups.extend(declared);
        }
    }
    let spread = Spread {
        first_violation: times.iter().min().copied(),
        last_violation: times.iter().max().copied(),
        groups_hit: groups,
    };
    (spread, any)
}

#[test]
fn a_sweep_says_when_and_to_whom_a_scenario_failed() {
    // Seeds 1..=4: the defect on and unexpected, the fixed backend, and a
    // regression scenario whose violations are all expected.
    let seeds: Vec<u64> = (1..=4).collect();
    let targets = vec![
        target(EARLY_USERS_HIT),
        fixed(EARLY_USERS_HIT),
        target("scenarios/regressions/orchestrator_singleton.toml"),
    ];
    let summary = sweep::run(&targets, &seeds, 2, &|_| {}).summary(targets.len());

    let (by_hand, _) = spread_by_hand(&targets[0], &seeds);
    assert_eq!(summary[0].fail, 4, "{:?}", summary[0]);
    assert_eq!(summary[0].spread, by_hand, "{EARLY_USERS_HIT} seeds 1..=4");
    // Only the second group arrives during the initialisation, and only
    // then can the router find no orchestrator.
    assert_eq!(summary[0].spread.groups_hit, BTreeSet::from([1]));
    let last = summary[0].spread.last_violation.expect("a last violation");
    assert!(last < Duration::from_secs(7), "{last:?}");

    assert_eq!(summary[1].fail, 0, "--fixed: {:?}", summary[1]);
    assert_eq!(summary[1].spread, Spread::default(), "--fixed");

    // The regression scenario's 1011s are what it expects: not counted.
    let (by_hand, had_violations) = spread_by_hand(&targets[2], &seeds);
    assert!(
        had_violations && summary[2].reproduced > 0,
        "{:?}",
        summary[2]
    );
    assert_eq!(summary[2].spread, Spread::default());
    assert_eq!(by_hand, Spread::default());
}

#[test]
fn sweep_output_says_when_and_to_whom() {
    // Seeds 1..=4, as above; the times from the library's sweep.
    let seeds: Vec<u64> = (1..=4).collect();
    let spread = sweep::run(&[target(EARLY_USERS_HIT)], &seeds, 1, &|_| {}).summary(1)[0]
        .spread
        .clone();
    let ms = |t: Option<Duration>| t.expect("a violation").as_millis() as u64;

    let (code, stdout, _) =
        support::stagesim(&["sweep", EARLY_USERS_HIT, "--seeds", "4", "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let row = &doc["scenarios"][0];
    assert_eq!(
        row["first_violation_ms"],
        ms(spread.first_violation),
        "{row}"
    );
    assert_eq!(row["last_violation_ms"], ms(spread.last_violation), "{row}");
    // Numbered from 1, as `run` numbers groups.
    assert_eq!(row["groups_hit"], serde_json::json!([2]), "{row}");

    let (_, stdout, _) = support::stagesim(&[
        "sweep",
        EARLY_USERS_HIT,
        "--seeds",
        "4",
        "--fixed",
        "--json",
    ]);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let row = &doc["scenarios"][0];
    assert!(row["first_violation_ms"].is_null(), "{row}");
    assert_eq!(row["groups_hit"], serde_json::json!([]), "{row}");

    let (_, stdout, _) = support::stagesim(&["sweep", EARLY_USERS_HIT, "--seeds", "4"]);
    let first = ms(spread.first_violation);
    let line = format!(
        "  unexpected violations from {}.{:03}s to ",
        first / 1000,
        first % 1000
    );
    assert!(stdout.contains(&line), "{stdout}");
    assert!(stdout.contains("sim time, groups hit: 2\n"), "{stdout}");
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

/// A fresh directory under the system's temporary one, removed when dropped.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("stagesim-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The file names in `dir`, sorted.
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("a dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

#[test]
fn report_dir_holds_the_report_of_every_failing_seed_and_nothing_else() {
    // Seeds 4..=8: flaky_1011 fails on some and passes on others; the
    // regression scenario reproduces or passes, and neither gets a report.
    let rels = [FLAKY_1011, ORCHESTRATOR_SINGLETON];
    let seeds: Vec<u64> = (4..=8).collect();
    let mut expected = Vec::new();
    for rel in rels {
        let scenario = support::load(rel);
        for &seed in &seeds {
            if stagesim::run::run(&scenario, seed).verdict == oracle::Verdict::Fail {
                expected.push((rel, seed, format!("{}-seed-{seed}.html", scenario.name)));
            }
        }
    }
    assert!(!expected.is_empty() && expected.len() < 5, "{expected:?}");
    let mut expected_names: Vec<String> = expected.iter().map(|(_, _, n)| n.clone()).collect();
    expected_names.sort();

    let tmp = TempDir::new("report-dir");
    let mut pages = Vec::new();
    for jobs in ["1", "2"] {
        // A directory that does not exist yet, two levels down.
        let dir = tmp.0.join(format!("jobs-{jobs}")).join("reports");
        let dir_arg = dir.to_str().expect("a UTF-8 temporary path");
        let (code, stdout, stderr) = support::stagesim(&[
            "sweep",
            rels[0],
            rels[1],
            "--start",
            "4",
            "--seeds",
            "5",
            "--jobs",
            jobs,
            "--report-dir",
            dir_arg,
            "--json",
        ]);
        assert_eq!(code, 1, "--jobs {jobs}\n{stdout}\n{stderr}");
        assert_eq!(listing(&dir), expected_names, "--jobs {jobs}");
        let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
        assert_eq!(doc["report_dir"], dir_arg);
        for (rel, seed, name) in &expected {
            let path = dir.join(name);
            let page = std::fs::read_to_string(&path).expect("the report");
            let reproduce = format!("stagesim run {rel} --seed {seed}");
            assert!(page.contains(&reproduce), "{name} lacks {reproduce:?}");
            let listed = doc["failing_seeds"]
                .as_array()
                .expect("failing_seeds")
                .iter()
                .any(|f| f["seed"] == *seed && f["report"] == path.to_str().unwrap());
            assert!(listed, "{name} not named in failing_seeds: {doc}");
            pages.push((jobs, name.clone(), page));
        }
    }
    let (one, two) = pages.split_at(expected.len());
    for ((_, name, a), (_, _, b)) in one.iter().zip(two) {
        assert!(a == b, "{name} differs between --jobs 1 and --jobs 2");
    }
}

#[test]
fn report_dir_is_named_in_the_text_output() {
    // Seeds 4..=5 of flaky_1011: both fail.
    let tmp = TempDir::new("report-dir-text");
    let dir = tmp.0.to_str().expect("a UTF-8 temporary path");
    let (code, stdout, _) = support::stagesim(&[
        "sweep",
        FLAKY_1011,
        "--start",
        "4",
        "--seeds",
        "2",
        "--report-dir",
        dir,
    ]);
    assert_eq!(code, 1, "{stdout}");
    let path = tmp.0.join("flaky_1011-seed-5.html");
    assert!(
        stdout.contains(&format!("    report: {}\n", path.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "HTML reports of the 2 failing seed(s) listed: {dir}\n"
        )),
        "{stdout}"
    );
}

/// What screening `bug` against `rel` on `seeds` must find, from
/// `stagesim::run::run` without the sweep: the catching seeds (a run that
/// fails, or for a scenario that expects violations also one that
/// reproduces), with every other bug off.
fn catches_by_hand(rel: &str, bug: &str, seeds: &[u64]) -> Vec<u64> {
    let mut scenario = support::load(rel);
    scenario.bugs = Bugs::default();
    scenario.bugs.set(bug, true).expect("a catalogued bug");
    let expects = !scenario.expect.violations.is_empty();
    seeds
        .iter()
        .copied()
        .filter(|&seed| match stagesim::run::run(&scenario, seed).verdict {
            oracle::Verdict::Fail => true,
            oracle::Verdict::Reproduced => expects,
            oracle::Verdict::Pass => false,
        })
        .collect()
}

/// `(bug, file, catching seeds, first seed, reproduce line)` of every catch.
type Catches = Vec<(String, String, u64, u64, String)>;

fn catches_of(screening: &Screening, targets: &[Target]) -> Catches {
    let mut out = Vec::new();
    for bug in &screening.bugs {
        for c in &bug.caught_by {
            let file = targets[c.target].path.clone();
            out.push((
                bug.bug.to_string(),
                file,
                c.seeds,
                c.first_seed,
                c.reproduce.clone(),
            ));
        }
    }
    out
}

#[test]
fn bug_all_finds_what_running_each_bug_by_hand_finds() {
    // Seeds 1..=2 of a regression scenario (expects violations) and a
    // fixture that expects none.
    let rels = [
        "scenarios/regressions/unknown_type_crash.toml",
        EARLY_USERS_HIT,
    ];
    let seeds = [1, 2];
    let mut by_hand = Catches::new();
    for bug in Bugs::NAMES {
        for rel in rels {
            let caught = catches_by_hand(rel, bug, &seeds);
            if let Some(&first) = caught.first() {
                let reproduce = format!("stagesim run {rel} --seed {first} --fixed --bug {bug}");
                by_hand.push((
                    bug.into(),
                    rel.into(),
                    caught.len() as u64,
                    first,
                    reproduce,
                ));
            }
        }
    }
    let caught: BTreeSet<&str> = by_hand.iter().map(|c| c.0.as_str()).collect();
    assert!(
        !caught.is_empty() && caught.len() < Bugs::NAMES.len(),
        "the check needs bugs caught and bugs missed: {by_hand:?}"
    );

    let targets: Vec<Target> = rels.iter().map(|rel| target(rel)).collect();
    let screening = sweep::screen(&targets, &seeds, 2, &|_| {});
    assert_eq!(
        catches_of(&screening, &targets),
        by_hand,
        "the library (seeds 1..=2)"
    );
    let missed: Vec<&str> = Bugs::NAMES
        .into_iter()
        .filter(|b| !caught.contains(b))
        .collect();
    assert_eq!(screening.not_caught(), missed);

    let (code, stdout, stderr) = support::stagesim(&[
        "sweep", rels[0], rels[1], "--bug", "all", "--seeds", "2", "--json",
    ]);
    assert_eq!(
        code, 1,
        "some bug was caught by no scenario\n{stdout}\n{stderr}"
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    let mut from_json = Catches::new();
    for bug in Bugs::NAMES {
        let caught_by = doc["bugs"][bug]["caught_by"]
            .as_array()
            .unwrap_or_else(|| panic!("{bug}: {doc}"));
        for c in caught_by {
            let file = c["file"].as_str().expect("file").to_string();
            let name = std::path::Path::new(&file)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            assert_eq!(c["scenario"], name.as_str(), "{c}");
            let n = c["failing_seeds"].as_u64().expect("failing_seeds");
            let first = c["first_failing_seed"]
                .as_u64()
                .expect("first_failing_seed");
            let reproduce = c["reproduce"].as_str().expect("reproduce").to_string();
            from_json.push((bug.to_string(), file, n, first, reproduce));
        }
    }
    assert_eq!(from_json, by_hand, "--json (seeds 1..=2)");
    assert_eq!(doc["not_caught"], serde_json::json!(missed));
}

#[test]
fn bug_all_over_the_regression_catalog_catches_every_bug() {
    // Seeds 1..=4: shared_user_context first reproduces on seed 4.
    let (code, stdout, stderr) = support::stagesim(&[
        "sweep",
        "scenarios/regressions",
        "--bug",
        "all",
        "--seeds",
        "4",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    for bug in Bugs::NAMES {
        let own = format!("  {bug} (scenarios/regressions/{bug}.toml): caught on ");
        let block = stdout
            .split_once(&format!("{bug}\n"))
            .map(|(_, rest)| rest.split_once("scenario(s)").map_or(rest, |(b, _)| b))
            .unwrap_or_else(|| panic!("no block for {bug}:\n{stdout}"));
        assert!(
            block.contains(&own),
            "{bug} not caught by its own scenario:\n{stdout}"
        );
    }
    assert!(stdout.contains("; 10 of 10 bugs caught\n"), "{stdout}");
    assert!(!stdout.contains("NOT CAUGHT"), "{stdout}");
}

/// A sweep's coverage is the probes of its runs, merged per scenario, and
/// does not depend on `--jobs`; `--json` carries it.
#[test]
fn coverage_is_the_merge_of_each_runs_probes() {
    let rel = "scenarios/gateway_restart.toml";
    let seeds = [1, 2, 3];
    let targets = [target(rel)];
    let one = sweep::run(&targets, &seeds, 1, &|_| {});
    let two = sweep::run(&targets, &seeds, 2, &|_| {});
    assert_eq!(one.coverage, two.coverage);
    let mut expected = stagesim::coverage::Coverage::default();
    for seed in seeds {
        let outcome = support::run(rel, seed);
        expected.merge(&stagesim::coverage::Coverage::of(&outcome.trace));
    }
    assert_eq!(
        one.coverage[0],
        expected,
        "reproduce: {}",
        support::reproduce(rel, 1)
    );
    assert!(expected.runs_reaching(stagesim::trace::Probe::RestartHitRunningAgent) > 0);
    let (code, stdout, _) = support::stagesim(&["sweep", rel, "--seeds", "3", "--json"]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["coverage"]["runs"], 3);
    assert_eq!(
        json["scenarios"][0]["coverage"]["probes"]["no_gateway"]["runs"],
        expected.runs_reaching(stagesim::trace::Probe::NoGateway)
    );
}
