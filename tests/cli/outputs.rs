//! No file is clobbered by surprise (issue 21): every output path is
//! checked before any run, a scenario file is never overwritten, any other
//! existing file only with `--force`, and writes leave no temporary file.
//!
//! Part of the `cli` test binary (`tests/cli.rs`). Every run states its
//! seed; each failure prints the command line that reproduces it.

use std::path::Path;
use std::time::Duration;

use super::support::{Scratch, stagesim};
use super::{FAILING, TINY, TinyScenario, assert_usage_error, stagesim_within};

/// The names in `dir`, sorted: to see that no temporary file was left.
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("list the scratch dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn run_never_writes_over_a_scenario_even_with_force() {
    let scratch = Scratch::new("out-scenario");
    let scenario = scratch.scenario("golden_path.toml", "golden_path");
    let before = std::fs::read(&scenario).expect("read");
    let path = scenario.to_str().expect("UTF-8");
    for flag in ["--trace", "--report", "--chrome-trace"] {
        for force in [&[][..], &["--force"], &["-f"]] {
            // Seed 1; refused before the run.
            let mut args = vec!["run", TINY, "--seed", "1", flag, path];
            args.extend(force);
            assert_usage_error(&args, &[path, "is a scenario file", "never overwrites"]);
            let (_, stdout, _) = stagesim(&args);
            assert!(
                stdout.is_empty(),
                "stagesim {}: ran anyway:\n{stdout}",
                args.join(" ")
            );
        }
    }
    assert_eq!(std::fs::read(&scenario).expect("read"), before, "unchanged");
}

#[test]
fn run_overwrites_another_file_only_with_force_and_says_so() {
    let scratch = Scratch::new("out-force");
    let notes = scratch.file("notes.txt");
    std::fs::write(&notes, "mine\n").expect("write");
    // Seed 1 of the tiny scenario throughout.
    let args = ["run", TINY, "--seed", "1", "--trace", &notes];
    assert_usage_error(&args, &[&notes, "exists", "--force"]);
    assert_eq!(std::fs::read_to_string(&notes).expect("read"), "mine\n");
    for force in ["--force", "-f"] {
        let mut forced = args.to_vec();
        forced.push(force);
        let (code, stdout, stderr) = stagesim(&forced);
        let again = format!("stagesim {}", forced.join(" "));
        assert_eq!(code, 0, "{again}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(&format!("overwrote {notes}")),
            "{again}\n{stderr}"
        );
        let trace = std::fs::read_to_string(&notes).expect("read");
        assert!(
            trace.contains("user-0001"),
            "{again}: not a trace:\n{trace}"
        );
    }
    assert_eq!(names(&scratch.0), ["notes.txt"], "no temporary file left");
}

#[test]
fn run_checks_its_outputs_before_the_run() {
    let scratch = Scratch::new("out-check");
    let same = scratch.file("both.out");
    let bad_paths = [
        ("/proc/nope/run.html", "cannot write"),
        ("/", "names no file"),
        (scratch.0.to_str().expect("UTF-8"), "is a directory"),
    ];
    for (path, why) in bad_paths {
        for flag in ["--trace", "--report", "--chrome-trace"] {
            let args = ["run", TINY, "--seed", "1", flag, path];
            assert_usage_error(&args, &[path, why]);
        }
    }
    assert_usage_error(
        &[
            "run",
            TINY,
            "--seed",
            "1",
            "--report",
            &same,
            "--chrome-trace",
            &same,
        ],
        &[
            "report and the Chrome trace would both be written to",
            &same,
        ],
    );
    // A directory that does not exist is a typo, not made.
    let typo = scratch.file("no-such-dir/run.trace");
    assert_usage_error(
        &["run", TINY, "--seed", "1", "--trace", &typo],
        &[&typo, "cannot write into"],
    );
    assert!(!scratch.0.join("no-such-dir").exists());
    // A new file, and a device: seed 1.
    let fresh = scratch.file("run.trace");
    for path in [fresh.as_str(), "/dev/null"] {
        let args = ["run", TINY, "--seed", "1", "--trace", path];
        let (code, stdout, stderr) = stagesim(&args);
        assert_eq!(code, 0, "stagesim {}\n{stdout}\n{stderr}", args.join(" "));
    }
    assert_eq!(names(&scratch.0), ["run.trace"], "no temporary file left");
}

#[test]
fn shrink_refuses_to_overwrite_its_own_input_before_shrinking() {
    let scratch = Scratch::new("out-shrink");
    let text = std::fs::read_to_string(super::support::path(FAILING)).expect("fixture");
    let input = scratch.0.join("unexpected_1011.toml");
    std::fs::write(&input, &text).expect("copy the failing scenario");
    let input = input.to_str().expect("UTF-8");
    let notes = scratch.file("notes.txt");
    std::fs::write(&notes, "mine\n").expect("write");
    for (out, why) in [
        (input, "is a scenario file"),
        (notes.as_str(), "--force"),
        ("/proc/nope/x.toml", "cannot write"),
    ] {
        // Seed 1 fails; every case is refused before the first candidate run.
        let args = ["shrink", input, "--seed", "1", "--out", out];
        let limit = Duration::from_secs(30);
        let (code, stdout, stderr) = stagesim_within(&args, limit);
        let again = format!("stagesim {}", args.join(" "));
        assert_eq!(code, 2, "{again}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains(out) && stderr.contains(why),
            "{again}\n{stderr}"
        );
        assert!(
            !stderr.contains("candidate runs"),
            "{again}: shrank first\n{stderr}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(input).expect("read"),
        text,
        "unchanged"
    );
    assert_eq!(std::fs::read_to_string(&notes).expect("read"), "mine\n");
}

#[test]
fn explore_refuses_an_unwritable_directory_before_any_run() {
    let scratch = Scratch::new("out-explore");
    let file = scratch.file("a-file");
    std::fs::write(&file, "").expect("write");
    for dir in ["/proc/nope", file.as_str()] {
        let args = ["explore", "--runs", "1", "--out", dir];
        let (code, stdout, stderr) = stagesim_within(&args, Duration::from_secs(30));
        let again = format!("stagesim {}", args.join(" "));
        assert_eq!(code, 2, "{again}\n{stdout}\n{stderr}");
        assert!(
            stderr.contains("--out") && stderr.contains(dir),
            "{again}\n{stderr}"
        );
        assert!(
            !stderr.contains("explore: "),
            "{again}: started runs\n{stderr}"
        );
    }
}

#[test]
fn sweep_checks_junit_and_report_files_before_any_run() {
    let scratch = Scratch::new("out-sweep");
    let scenario = scratch.scenario("tiny.toml", "tiny");
    let scenario = scenario.to_str().expect("UTF-8");
    // The JUnit file: never a scenario, another file only with --force.
    assert_usage_error(
        &["sweep", TINY, "--seeds", "1", "--junit", scenario],
        &[scenario, "is a scenario file"],
    );
    let junit = scratch.file("junit.xml");
    std::fs::write(&junit, "old").expect("write");
    let args = ["sweep", TINY, "--seeds", "1", "--junit", &junit];
    assert_usage_error(&args, &[&junit, "--force"]);
    let (_, _, stderr) = stagesim(&args);
    assert!(!stderr.contains("runs"), "a run started: {stderr}");
    // Seed 1 of the tiny scenario passes.
    let (code, _, stderr) = stagesim(&[&args[..], &["--force"][..]].concat());
    assert_eq!(code, 0, "stagesim {} --force\n{stderr}", args.join(" "));
    let xml = std::fs::read_to_string(&junit).expect("read");
    assert!(xml.contains("<testsuite"), "{xml}");

    // Reports: seed 1 of a scenario that fails on every seed writes one;
    // a second sweep over the same seed needs --force.
    let reports = scratch.file("reports");
    let args = ["sweep", FAILING, "--seeds", "1", "--report-dir", &reports];
    let (code, _, stderr) = stagesim(&args);
    assert_eq!(code, 1, "stagesim {}\n{stderr}", args.join(" "));
    let report = scratch.0.join("reports/unexpected_1011-seed-1.html");
    assert!(report.is_file(), "{stderr}");
    assert_usage_error(
        &args,
        &["--report-dir", "unexpected_1011-seed-1.html", "--force"],
    );
    let (code, _, stderr) = stagesim(&[&args[..], &["-f"][..]].concat());
    assert_eq!(code, 1, "stagesim {} -f\n{stderr}", args.join(" "));
    assert_eq!(
        names(&scratch.0.join("reports")),
        ["unexpected_1011-seed-1.html"]
    );
}
