//! Commands printed for the user are shell command lines: a path with a
//! space (or a quote) is quoted, so pasting a reproduce line into a
//! terminal replays the same file (issue 25).

use crate::support::{Scratch, stagesim};

use super::FAILING;

/// The line of `text` that starts with `prefix` (after any indentation),
/// without the prefix.
fn line_after<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.trim_start().strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{text}"))
}

/// Run a printed command line as a shell would split it: exit code and
/// stdout.
fn run_line(line: &str) -> (i32, String) {
    let words = shlex::split(line).unwrap_or_else(|| panic!("not a shell line: {line}"));
    assert_eq!(words[0], "stagesim", "{line}");
    let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
    let (code, stdout, _) = stagesim(&args);
    (code, stdout)
}

#[test]
fn reproduce_lines_quote_a_path_with_a_space_and_replay_it() {
    let scratch = Scratch::new("quoting");
    let dir = scratch.0.join("it's a dir");
    std::fs::create_dir_all(&dir).expect("a directory with a space and a quote");
    let file = dir.join("unexpected_1011.toml");
    std::fs::copy(crate::support::path(FAILING), &file).expect("copy the fixture");
    let path = file.to_str().expect("a UTF-8 temp dir");

    // `run`, seed 1: the reproduce line names the file as one shell word,
    // and running that line gives the same run (the same trace hash).
    let (code, stdout, stderr) = stagesim(&["run", path, "--seed", "1"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let reproduce = format!("stagesim {}", line_after(&stdout, "reproduce  stagesim "));
    let quoted = shlex::try_quote(path).expect("no NUL").into_owned();
    assert!(quoted != path, "the path needs quoting: {path}");
    assert!(reproduce.contains(&quoted), "{reproduce}");
    let (again, replayed) = run_line(&reproduce);
    assert_eq!(again, 1, "{replayed}\nreproduce: {reproduce}");
    let hash = |out: &str| line_after(out, "sim time").to_string();
    assert_eq!(hash(&replayed), hash(&stdout), "reproduce: {reproduce}");

    // `sweep`, seed 1: each failing seed's reproduce line too.
    let (code, stdout, stderr) = stagesim(&["sweep", path, "--seeds", "1"]);
    assert_eq!(code, 1, "{stdout}\n{stderr}");
    let reproduce = line_after(&stdout, "reproduce: ");
    assert_eq!(reproduce, format!("stagesim run {quoted} --seed 1"));
    assert_eq!(run_line(reproduce).0, 1, "reproduce: {reproduce}");
}

/// A failure no catalogued defect reproduces (a `bad_seq` planted in a
/// passing run's JSON) is called uncatalogued, and the printed
/// `explore --from` line is a shell line naming the scenario, seed 1.
#[test]
fn an_uncatalogued_failure_points_at_explore_from_the_scenario() {
    let scratch = Scratch::new("uncatalogued");
    let (code, stdout, stderr) = stagesim(&["run", super::TINY, "--seed", "1", "--json"]);
    assert_eq!(
        code,
        0,
        "stagesim run {} --seed 1 --json\n{stderr}",
        super::TINY
    );
    let mut run: serde_json::Value = serde_json::from_str(&stdout).expect("run --json");
    run["violations"] = serde_json::json!([
        {"invariant": "event_grammar", "cause": "bad_seq", "user": "user-0001", "at_ms": 1500}
    ]);
    let observed = scratch.0.join("observed.json");
    std::fs::write(&observed, run.to_string()).expect("write the observed run");
    let observed = observed.to_str().expect("a UTF-8 temp dir");
    let args = [
        "diagnose",
        super::TINY,
        "--observed",
        observed,
        "--seeds",
        "2",
    ];
    let (code, stdout, stderr) = stagesim(&args);
    assert_eq!(code, 0, "stagesim {}\n{stderr}", args.join(" "));
    assert!(stdout.contains("an uncatalogued mechanism"), "{stdout}");
    let explore = stdout
        .lines()
        .find_map(|l| {
            l.split_once("Explore around this scenario: ")
                .map(|(_, cmd)| cmd)
        })
        .unwrap_or_else(|| panic!("no explore line in:\n{stdout}"));
    let words = shlex::split(explore).expect("a shell line");
    assert_eq!(
        words,
        ["stagesim", "explore", "--from", super::TINY],
        "{stdout}"
    );
}
