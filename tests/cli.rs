//! The command line against a hostile user: every mistake a user can make
//! with a flag, a path, the environment or a closed pipe gets a message and
//! exit 2 (or the run's own exit code), never a panic, a hang or an abort.
//!
//! Runs the built binary. The runs that simulate use the tiny fixtures
//! under `tests/fixtures/` and state their seeds. `cli/outputs.rs` (no file
//! clobbered) and `cli/limits.rs` (secrets, tokens, targets, durations, run
//! numbers at their edges) are modules of this binary.

#[path = "support/mod.rs"]
mod support;

// Issue 21, in this binary so that it links once: output files, and flag
// values at their edges.
#[path = "cli/limits.rs"]
mod limits;
#[path = "cli/outputs.rs"]
mod outputs;
// Issue 25: reproduce lines as shell words, and the --json schema.
#[path = "cli/json.rs"]
mod json;
#[path = "cli/quoting.rs"]
mod quoting;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use stagesim::scenario::Bugs;
use support::stagesim;

/// One user, one message; passes on every seed.
const TINY: &str = "tests/fixtures/cli/tiny.toml";
/// Fails on every seed.
const FAILING: &str = "tests/fixtures/sweep/unexpected_1011.toml";

/// Exit 2 with `words` in stderr and no panic.
#[track_caller]
fn assert_usage_error(args: &[&str], words: &[&str]) {
    let (code, stdout, stderr) = stagesim(args);
    assert_eq!(code, 2, "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    for w in words {
        assert!(
            stderr.contains(w),
            "{args:?}: stderr lacks {w:?}:\n{stderr}"
        );
    }
}

#[test]
fn seeds_must_be_between_1_and_a_million() {
    for n in [
        "0",
        "1000001",
        "100000000000",
        "18446744073709551615",
        "-5",
        "x",
    ] {
        let message = format!("`--seeds` takes a whole number from 1 to 1000000; got `{n}`");
        assert_usage_error(&["sweep", TINY, "--seeds", n], &[&message]);
    }
    // Zero seeds of a regression scenario would pass while proving nothing.
    assert_usage_error(
        &[
            "sweep",
            "scenarios/regressions/unknown_type_crash.toml",
            "--seeds",
            "0",
        ],
        &["from 1 to 1000000"],
    );
}

#[test]
fn the_seed_range_must_not_run_past_the_largest_seed() {
    for args in [
        vec!["sweep", TINY, "--start", "18446744073709551615"],
        vec![
            "sweep",
            TINY,
            "--start",
            "18446744073709551610",
            "--seeds",
            "7",
        ],
    ] {
        assert_usage_error(
            &args,
            &[
                "runs past the largest seed",
                "must be at most 18446744073709551615",
            ],
        );
    }
    assert_usage_error(
        &["sweep", TINY, "--start", "-1"],
        &["`--start` takes a whole number from 0 to 18446744073709551615; got `-1`"],
    );
    // The last seed itself is fine: seed 18446744073709551615, one run.
    let (code, stdout, stderr) = stagesim(&[
        "sweep",
        TINY,
        "--start",
        "18446744073709551615",
        "--seeds",
        "1",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["runs"], 1);
    assert!(
        stderr.contains("seeds 18446744073709551615..=18446744073709551615"),
        "{stderr}"
    );
}

#[test]
fn jobs_and_shards_out_of_range() {
    for n in ["0", "-1", "257", "100000000000"] {
        let message = format!("`--jobs` takes a whole number from 1 to 256; got `{n}`");
        assert_usage_error(&["sweep", TINY, "--jobs", n], &[&message]);
    }
    for s in [
        "0/0",
        "5/3",
        "1/0",
        "-1/2",
        "2",
        "a/b",
        "1/18446744073709551616",
    ] {
        let message =
            format!("`--shard` takes I/N, shard I of N with 1 <= I <= N (like 2/4); got `{s}`");
        assert_usage_error(&["sweep", TINY, "--shard", s], &[&message]);
    }
    // More shards than seeds would leave shards empty, and an empty shard passes.
    assert_usage_error(
        &["sweep", TINY, "--seeds", "3", "--shard", "4/4"],
        &[
            "`--shard 4/4` splits 3 seed(s) into 4 shards",
            "at most 3 shard(s)",
        ],
    );
}

#[test]
fn the_largest_sweep_is_accepted_and_sharded_without_allocating_it() {
    // Seed 1000000 only: the last shard of a million seeds, one run.
    let (code, stdout, stderr) = stagesim(&[
        "sweep",
        TINY,
        "--seeds",
        "1000000",
        "--shard",
        "1000000/1000000",
        "--jobs",
        "256",
        "--json",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert!(stderr.contains("seeds 1000000..=1000000"), "{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(
        (doc["runs"].as_u64(), doc["jobs"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_negative_seed_says_what_a_seed_is() {
    let message = "`--seed` takes a whole number from 0 to 18446744073709551615; got `-1`";
    for args in [
        vec!["run", TINY, "--seed", "-1"],
        vec!["run", TINY, "--seed=-1"],
        vec!["run", "--seed", "-1", TINY],
    ] {
        assert_usage_error(&args, &[message]);
        let (_, _, stderr) = stagesim(&args);
        assert!(!stderr.contains("tip:"), "{stderr}");
    }
    assert_usage_error(
        &["run", TINY, "--seed", "18446744073709551616"],
        &["got `18446744073709551616`"],
    );
}

#[test]
fn a_bad_seed_environment_variable_is_blamed_on_seed() {
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(["run", TINY])
        .env("SEED", "-1")
        .current_dir(support::path(""))
        .output()
        .expect("run stagesim");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`SEED` takes a whole number from 0 to 18446744073709551615; got `-1`"),
        "{stderr}"
    );
    // A good SEED is used: seed 7.
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(["run", TINY])
        .env("SEED", "7")
        .current_dir(support::path(""))
        .output()
        .expect("run stagesim");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("stagesim run {TINY} --seed 7")),
        "{stdout}"
    );
}

#[test]
fn run_on_a_directory_suggests_sweep() {
    assert_usage_error(
        &["run", "scenarios"],
        &[
            "scenarios is a directory",
            "stagesim sweep scenarios",
            "stagesim list scenarios",
        ],
    );
    assert_usage_error(
        &["list", TINY],
        &["is a file", &format!("stagesim run {TINY}")],
    );
}

#[test]
fn help_lists_every_bug_with_what_it_does() {
    for command in ["run", "sweep"] {
        let (code, stdout, stderr) = stagesim(&[command, "--help"]);
        assert_eq!(code, 0, "{stderr}");
        for (name, about) in Bugs::CATALOG {
            assert!(
                stdout.contains(&format!("{name}\n")) && stdout.contains(about),
                "`stagesim {command} --help` lacks {name}: {about}\n{stdout}"
            );
        }
    }
}

#[test]
fn an_unknown_bug_lists_the_known_ones_before_reading_any_file() {
    for command in ["run", "sweep"] {
        for target in [TINY, "no/such/file.toml"] {
            let mut words = vec!["`--bug` takes the name of a known bug; got `nope`"];
            words.extend(Bugs::NAMES);
            assert_usage_error(&[command, target, "--bug", "nope"], &words);
        }
    }
    assert_usage_error(
        &["run", TINY, "--bug", "no_auth_retry=maybe"],
        &["`--bug` takes NAME, NAME=on or NAME=off; got `maybe`"],
    );
}

#[test]
fn a_report_dir_that_cannot_be_written_is_refused_before_any_run() {
    // A path under a regular file, and the regular file itself.
    for dir in [format!("{TINY}/reports"), TINY.to_string()] {
        let args = ["sweep", TINY, "--report-dir", &dir];
        assert_usage_error(&args, &["--report-dir", "cannot write reports to", &dir]);
        let (_, _, stderr) = stagesim(&args);
        assert!(!stderr.contains("runs"), "a run started: {stderr}");
    }
}

#[test]
fn bug_all_is_refused_with_what_it_cannot_honour_before_reading_any_file() {
    let missing = "no/such/file.toml";
    for (extra, words) in [
        (
            vec!["--fixed"],
            vec!["`--bug all` cannot be combined with `--fixed`"],
        ),
        (
            vec!["--bug", "no_auth_retry"],
            vec!["`--bug all` cannot be combined with another `--bug`"],
        ),
        (vec!["--bug", "all"], vec!["with another `--bug`"]),
        (vec!["--junit", "x.xml"], vec!["with `--junit`"]),
        (vec!["--report-dir", "reports"], vec!["with `--report-dir`"]),
    ] {
        let mut args = vec!["sweep", missing, "--bug", "all"];
        args.extend(extra);
        assert_usage_error(&args, &words);
    }
    assert_usage_error(
        &["sweep", TINY, "--bug", "all=off"],
        &["`--bug all` screens every bug in turn", "takes no value"],
    );
    assert_usage_error(
        &["run", TINY, "--bug", "all"],
        &["`--bug all`", "`stagesim sweep` does"],
    );
    let (code, stdout, _) = stagesim(&["sweep", "--help"]);
    assert_eq!(code, 0);
    let help: Vec<&str> = stdout.lines().map(str::trim).collect();
    let at = help
        .iter()
        .position(|l| *l == "all")
        .expect("`all` in --bug's help");
    assert!(
        help[at + 1].starts_with("screen every defect above"),
        "{stdout}"
    );
}

/// Run the binary with stdout and stderr sent to pipes whose readers are
/// already closed: every write fails with a broken pipe.
fn with_closed_pipes(args: &[&str], stdout_closed: bool) -> (i32, String) {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let mut command = Command::new(env!("CARGO_BIN_EXE_stagesim"));
    command.args(args).current_dir(support::path(""));
    let out = if stdout_closed {
        command.stdout(writer).stderr(Stdio::piped()).output()
    } else {
        command.stderr(writer).stdout(Stdio::piped()).output()
    }
    .expect("run stagesim");
    let readable = if stdout_closed {
        out.stderr
    } else {
        out.stdout
    };
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&readable).into_owned(),
    )
}

#[test]
fn a_closed_stderr_is_no_reason_to_panic() {
    // Seeds 1-2 of a failing scenario: progress lines go to stderr.
    for (args, code) in [
        (vec!["run", TINY, "--seed", "-1"], 2),
        (vec!["sweep", FAILING, "--seeds", "2", "--jobs", "2"], 1),
        (vec!["sweep", "no/such/file.toml"], 2),
        (vec!["list", "tests/fixtures/scenarios/invalid"], 2),
        (vec![], 0), // the golden path, seed 1, announced on stderr
    ] {
        let (got, stdout) = with_closed_pipes(&args, false);
        assert_eq!(got, code, "{args:?} with stderr closed:\n{stdout}");
    }
    let (_, stdout) = with_closed_pipes(&["sweep", FAILING, "--seeds", "2"], false);
    assert!(stdout.contains("failing seeds:"), "{stdout}");
}

#[test]
fn a_closed_stdout_is_no_reason_to_panic() {
    for (args, code) in [
        (vec!["run", TINY, "--seed", "1"], 0),
        (vec!["run", "--help"], 0),
        (vec!["list"], 0),
        (vec!["sweep", FAILING, "--seeds", "2", "--json"], 1),
    ] {
        let (got, stderr) = with_closed_pipes(&args, true);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(got, code, "{args:?} with stdout closed:\n{stderr}");
    }
}

#[test]
fn closed_descriptors_are_no_reason_to_panic() {
    // The shell closes the descriptor itself (`2>&-`, `>&-`): writes fail
    // with EBADF rather than a broken pipe. Seed 1.
    for (redirect, code) in [("2>&-", 2), (">&-", 0)] {
        let args = if code == 2 {
            format!("run {TINY} --seed -1")
        } else {
            format!("run {TINY} --seed 1")
        };
        let script = format!("\"$0\" {args} {redirect}");
        let out = Command::new("sh")
            .args(["-c", &script, env!("CARGO_BIN_EXE_stagesim")])
            .current_dir(support::path(""))
            .output()
            .expect("run sh");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{script}: {stderr}");
        assert_eq!(out.status.code(), Some(code), "{script}: {stderr}");
    }
}

use support::Scratch;

/// A copy of the tiny scenario named `stem`, at `rel` in `scratch`.
trait TinyScenario {
    fn scenario(&self, rel: &str, stem: &str) -> PathBuf;
}

impl TinyScenario for Scratch {
    fn scenario(&self, rel: &str, stem: &str) -> PathBuf {
        let text = std::fs::read_to_string(support::path(TINY)).expect("tiny fixture");
        let path = self.0.join(rel);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(
            &path,
            text.replace("name = \"tiny\"", &format!("name = \"{stem}\"")),
        )
        .expect("write a scenario");
        path
    }
}

/// Run the binary, killing it if it has not ended within `limit` (a hang
/// fails the test instead of stalling the suite).
fn stagesim_within(args: &[&str], limit: Duration) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn stagesim");
    let started = Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("stagesim {args:?} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[cfg(unix)]
#[test]
fn symlink_loops_are_walked_once() {
    use std::os::unix::fs::symlink;
    let scratch = Scratch::new("symlink-loop");
    let root = &scratch.0;
    scratch.scenario("b/second.toml", "second");
    scratch.scenario("a/first.toml", "first");
    symlink(root, root.join("a/up")).expect("a link to the root");
    symlink(".", root.join("b/self")).expect("a link to itself");
    symlink("loop2", root.join("loop1")).expect("a link loop");
    symlink("loop1", root.join("loop2")).expect("a link loop");
    let dir = root.to_str().expect("a UTF-8 temp dir");

    let (code, stdout, stderr) = stagesim_within(&["list", dir], Duration::from_secs(30));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let listed: Vec<&str> = stdout.lines().filter_map(|l| l.split(' ').next()).collect();
    let expected = [root.join("a/first.toml"), root.join("b/second.toml")];
    let expected: Vec<&str> = expected.iter().map(|p| p.to_str().unwrap()).collect();
    assert_eq!(listed, expected, "{stdout}");

    // Seed 1 of each scenario, each found once.
    let args = ["sweep", dir, "--seeds", "1", "--json"];
    let (code, stdout, stderr) = stagesim_within(&args, Duration::from_secs(60));
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON object");
    assert_eq!(doc["runs"], 2, "{stdout}");
}

#[test]
fn a_tree_deeper_than_the_bound_is_refused() {
    let scratch = Scratch::new("deep-tree");
    let deep: PathBuf = (0..40).map(|_| "d").collect::<PathBuf>().join("x.toml");
    scratch.scenario(deep.to_str().expect("UTF-8"), "x");
    let dir = scratch.0.to_str().expect("a UTF-8 temp dir");
    for command in ["list", "sweep"] {
        let (code, stdout, stderr) = stagesim_within(&[command, dir], Duration::from_secs(30));
        assert_eq!(code, 2, "{stdout}\n{stderr}");
        assert!(stderr.contains("nest deeper than 32 levels"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// The character column where each description starts in `list` output:
/// after the path column, on the path's line or the next.
fn description_columns(stdout: &str) -> Vec<usize> {
    stdout
        .lines()
        .filter_map(|l| {
            let path = l.split(' ').next().unwrap_or("");
            let rest = &l[path.len()..];
            let about = rest.len() - rest.trim_start().len();
            (!rest.is_empty()).then_some(path.chars().count() + about)
        })
        .collect()
}

#[test]
fn list_keeps_its_columns_with_long_paths() {
    let scratch = Scratch::new("long-paths");
    let stem = "s".repeat(150);
    let long = scratch.scenario(&format!("{}/{stem}.toml", "p".repeat(40)), &stem);
    scratch.scenario("a.toml", "a");
    scratch.scenario("b/c.toml", "c");
    std::fs::write(scratch.0.join("bad.toml"), "name = 3\n").expect("write");
    let dir = scratch.0.to_str().expect("a UTF-8 temp dir");
    let long = long.to_str().expect("UTF-8");
    assert!(long.len() >= 200);

    let (code, stdout, stderr) = stagesim_within(&["list", dir], Duration::from_secs(30));
    assert_eq!(code, 2, "one file is invalid\n{stdout}\n{stderr}");
    assert!(stderr.contains("1 file(s) do not load"), "{stderr}");
    // The long path has a line to itself, whole; every description, its
    // own included, starts in the same column, and none is longer than 72.
    assert!(stdout.lines().any(|l| l == long), "{stdout}");
    let column = format!("{dir}/b/c.toml").len() + 1;
    assert_eq!(description_columns(&stdout), vec![column; 4], "{stdout}");
    for line in stdout.lines().filter(|l| *l != long) {
        assert!(line.chars().count() <= column + 72, "{line}");
    }
}

#[test]
fn shipped_scenarios_list_aligned() {
    let (code, stdout, stderr) = stagesim(&["list"]);
    assert_eq!(code, 0, "{stderr}");
    let columns = description_columns(&stdout);
    assert_eq!(
        columns.len(),
        stdout.lines().count(),
        "one line each:\n{stdout}"
    );
    assert!(columns.iter().all(|&c| c == columns[0]), "{stdout}");
}

#[test]
fn bench_child_scale_is_bounded_like_a_scenario() {
    let (code, _, stderr) = stagesim(&["bench", "--child-scale", "100001"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`--child-scale` takes a whole number from 1 to 100000; got `100001`"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `bench`'s figure at scale runs its scenario file in a child process like
/// this one; here on the golden path (seed 1), whose run is known.
#[test]
fn bench_child_scenario_measures_a_scenario_file_as_a_scale_point() {
    let rel = "scenarios/golden_path.toml";
    let (code, stdout, stderr) = stagesim(&["bench", "--child-scenario", rel, "--seed", "1"]);
    assert_eq!(code, 0, "{stderr}");
    let point: serde_json::Value = serde_json::from_str(stdout.trim()).expect("one JSON line");
    let scenario = support::load(rel);
    let run = stagesim::run::run(&scenario, 1);
    let users: u32 = scenario.users.iter().map(|g| g.count).sum();
    assert_eq!(point["users"], users, "every group counted: {point}");
    assert_eq!(point["sim_ms"], run.summary.sim_ms, "the same run: {point}");
    assert_eq!(point["verdict"], run.verdict.to_string(), "{point}");
    assert!(point["peak_connected"].as_u64() >= Some(1), "{point}");
    assert!(point["peak_rss_kib"].as_u64() > Some(0), "{point}");
    assert!(
        point["cpu_ms"].is_u64() && point["wall_ms"].is_u64(),
        "{point}"
    );
}

#[test]
fn bench_names_a_missing_scenario_at_scale_before_measuring_anything() {
    let (code, stdout, stderr) = stagesim(&["bench", "--at-scale", "bench/no_such.toml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("bench/no_such.toml"), "{stderr}");
    assert!(stderr.contains("--at-scale FILE"), "{stderr}");
    assert!(
        !stdout.contains("time compression"),
        "measured first:\n{stdout}"
    );
}

/// A fresh directory outside the checkout, as a user with only the
/// installed binary has: the commands run there, in order, make up the
/// reproduce line of any failure.
struct Outside {
    scratch: Scratch,
    commands: Vec<String>,
}

impl Outside {
    fn new(name: &str) -> Self {
        let scratch = Scratch::new(name);
        let root = std::fs::canonicalize(support::path("")).expect("the checkout");
        let here = std::fs::canonicalize(&scratch.0).expect("the scratch dir");
        assert!(
            !here.starts_with(&root),
            "{} is inside the checkout {}: set TMPDIR elsewhere",
            here.display(),
            root.display()
        );
        Outside {
            scratch,
            commands: Vec::new(),
        }
    }

    /// Run the binary here: exit code, stdout, stderr.
    fn stagesim(&mut self, args: &[&str]) -> (i32, String, String) {
        self.commands.push(format!("stagesim {}", args.join(" ")));
        let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
            .args(args)
            .current_dir(&self.scratch.0)
            .env_remove("SEED")
            .output()
            .expect("run the stagesim binary");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    /// The commands so far, from an empty directory.
    fn reproduce(&self) -> String {
        format!(
            "reproduce: cd \"$(mktemp -d)\" && {} (stagesim: {})",
            self.commands.join(" && "),
            env!("CARGO_BIN_EXE_stagesim")
        )
    }

    /// Check `what`, printing the commands and the output on failure.
    #[track_caller]
    fn check(&self, what: bool, why: &str, output: &(i32, String, String)) {
        let (code, stdout, stderr) = output;
        assert!(
            what,
            "{why}\n{}\nexit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            self.reproduce()
        );
    }
}

#[test]
fn run_by_name_works_outside_the_checkout() {
    let mut here = Outside::new("outside-run");
    // Seed 1: golden_path passes.
    let ran = here.stagesim(&["run", "golden_path", "--seed", "1"]);
    here.check(ran.0 == 0, "golden_path seed 1 should pass", &ran);
    here.check(
        ran.1.contains("scenario   golden_path:"),
        "names the scenario",
        &ran,
    );
    here.check(
        ran.1.contains("stagesim run golden_path --seed 1"),
        "the reproduce line uses the name, which replays here",
        &ran,
    );
    // Seed 1: the regression reproduces (exit 0), replayable by name.
    let args = ["run", "regressions/unknown_type_crash", "--seed", "1"];
    let ran = here.stagesim(&args);
    here.check(ran.0 == 0, "unknown_type_crash seed 1 reproduces", &ran);
    here.check(ran.1.contains("REPRODUCED"), "verdict reproduced", &ran);
    here.check(
        ran.1
            .contains("stagesim run regressions/unknown_type_crash --seed 1"),
        "the reproduce line uses the name",
        &ran,
    );
}

#[test]
fn a_real_path_wins_over_a_built_in_name() {
    let mut here = Outside::new("outside-path-wins");
    // A one-user file called `golden_path`, beside no scenarios/.
    here.scratch.scenario("golden_path", "golden_path");
    let ran = here.stagesim(&["run", "golden_path", "--seed", "1"]);
    here.check(ran.0 == 0, "tiny seed 1 passes", &ran);
    here.check(
        ran.1.contains("One user, one message"),
        "the file ran, not the built-in golden_path",
        &ran,
    );
}

#[test]
fn an_unknown_name_lists_the_near_misses_and_the_names() {
    let mut here = Outside::new("outside-unknown");
    for (typed, meant) in [
        ("golden_pth", "golden_path"),
        ("scenarios/golden_path.toml", "golden_path"),
        ("unknown_type_crash", "regressions/unknown_type_crash"),
    ] {
        let ran = here.stagesim(&["run", typed, "--seed", "1"]);
        here.check(ran.0 == 2, "an unknown name is a usage error", &ran);
        here.check(
            ran.2.contains(&format!("did you mean `{meant}`?")),
            "names the near miss",
            &ran,
        );
        here.check(
            ran.2.contains("built-in scenarios") && ran.2.contains("many_users"),
            "lists the names",
            &ran,
        );
        here.check(!ran.2.contains("panicked"), "no panic", &ran);
    }
}

#[test]
fn no_arguments_run_the_built_in_golden_path_anywhere() {
    let mut here = Outside::new("outside-default");
    // No arguments: the golden path at the default seed, 1.
    let ran = here.stagesim(&[]);
    here.check(ran.0 == 0, "the golden path passes", &ran);
    here.check(
        ran.2.contains("the built-in golden_path, seed 1"),
        "says what it runs",
        &ran,
    );
    here.check(
        ran.1.contains("stagesim run golden_path --seed 1"),
        "a reproduce line that replays here",
        &ran,
    );
}

#[test]
fn list_without_a_scenarios_directory_lists_the_built_in_ones() {
    use stagesim::scenario::shipped::SHIPPED;
    let mut here = Outside::new("outside-list");
    let ran = here.stagesim(&["list"]);
    here.check(ran.0 == 0, "every built-in scenario loads", &ran);
    here.check(
        ran.2.lines().count() == 1 && ran.2.contains("built into stagesim"),
        "one line on stderr says where the list comes from",
        &ran,
    );
    let names: Vec<&str> = ran.1.lines().filter_map(|l| l.split(' ').next()).collect();
    let shipped: Vec<&str> = SHIPPED.iter().map(|s| s.name()).collect();
    here.check(names == shipped, "one line per built-in name", &ran);
    let columns = description_columns(&ran.1);
    here.check(columns.iter().all(|&c| c == columns[0]), "aligned", &ran);
}

#[test]
fn export_writes_the_scenarios_and_refuses_to_overwrite() {
    let count = stagesim::scenario::shipped::SHIPPED.len();
    let mut here = Outside::new("outside-export");
    let ran = here.stagesim(&["scenarios", "export", "out"]);
    here.check(ran.0 == 0, "export succeeds", &ran);
    here.check(
        ran.1
            .contains(&format!("wrote {count} scenario files to out")),
        "says how many",
        &ran,
    );
    for rel in support::scenario_files() {
        let exported = here.scratch.0.join("out").join(&rel["scenarios/".len()..]);
        let same = std::fs::read(&exported).ok() == std::fs::read(support::path(&rel)).ok();
        here.check(same, &format!("{} equals {rel}", exported.display()), &ran);
    }
    // Seed 1 of the exported file: it is a plain scenario file again.
    let ran = here.stagesim(&["run", "out/golden_path.toml", "--seed", "1"]);
    here.check(ran.0 == 0, "the exported golden path passes", &ran);
    here.check(
        ran.1.contains("stagesim run out/golden_path.toml --seed 1"),
        "reproduce line names the file",
        &ran,
    );
    // An edited file is not overwritten without --force.
    let edited = here.scratch.0.join("out/golden_path.toml");
    std::fs::write(&edited, "# mine\n").expect("edit a file");
    let ran = here.stagesim(&["scenarios", "export", "out"]);
    here.check(ran.0 == 2, "refuses to overwrite", &ran);
    here.check(
        ran.2.contains("already exist") && ran.2.contains("--force"),
        "says why and how",
        &ran,
    );
    let kept = std::fs::read_to_string(&edited).ok();
    here.check(kept.as_deref() == Some("# mine\n"), "left as it was", &ran);
    let ran = here.stagesim(&["scenarios", "export", "out", "--force"]);
    here.check(ran.0 == 0, "--force overwrites", &ran);
    let overwritten = format!("{count} of them overwritten");
    here.check(ran.1.contains(&overwritten), "says so", &ran);
    let restored = std::fs::read(&edited).ok();
    let original = std::fs::read(support::path("scenarios/golden_path.toml")).ok();
    here.check(restored == original, "restored", &ran);
}

#[test]
fn bench_outside_the_checkout_finds_the_golden_path_and_asks_for_the_soak() {
    let mut here = Outside::new("outside-bench");
    // Refused before any run: the golden path is built in, the soak is not.
    let ran = here.stagesim(&["bench"]);
    here.check(ran.0 == 2, "no soak file here", &ran);
    here.check(
        ran.2.contains("bench/soak.toml") && ran.2.contains("--quick"),
        "names the soak and the ways out",
        &ran,
    );
    here.check(
        !ran.2.contains("golden_path"),
        "the golden path was found",
        &ran,
    );
}
