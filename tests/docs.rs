//! The documents' tables are the code's vocabulary, checked both ways: the
//! error codes, server close codes and 1013 reasons of
//! docs/wire-protocol.md equal the constants the oracle judges by
//! (`stagesim::trace`), and the cause tables of docs/design.md and
//! docs/scenario-format.md list exactly the oracle's causes, each under its
//! invariant. A backend written from the document is judged by the code,
//! so the two must not drift.

use std::collections::BTreeSet;

use stagesim::scenario::{Cause, Invariant};
use stagesim::trace::{ERROR_CODES, REASONS_1013, SERVER_CLOSE_CODES};

mod support;

fn doc(rel: &str) -> String {
    std::fs::read_to_string(support::path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// The cells of each body row of the first table whose header row starts
/// with `header`, backticks removed (spaces inside them kept).
fn table(text: &str, header: &str) -> Vec<Vec<String>> {
    let mut lines = text.lines().skip_while(|l| !l.starts_with(header));
    assert!(lines.next().is_some(), "no table headed {header:?}");
    lines
        .skip(1) // the | --- | row
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim_matches(' ').replace('`', ""))
                .collect()
        })
        .collect()
}

#[test]
fn the_wire_protocol_s_error_codes_are_the_oracle_s() {
    let rows = table(
        &doc("docs/wire-protocol.md"),
        "| code | fields | legitimate when |",
    );
    let documented: BTreeSet<String> = rows.iter().map(|r| r[0].clone()).collect();
    let judged: BTreeSet<String> = ERROR_CODES.iter().map(|c| c.to_string()).collect();
    assert_eq!(
        documented, judged,
        "docs/wire-protocol.md, \"Server events\""
    );
}

#[test]
fn the_wire_protocol_s_server_close_codes_are_the_oracle_s() {
    let rows = table(&doc("docs/wire-protocol.md"), "| code | sent by | when |");
    let documented: BTreeSet<u16> = rows
        .iter()
        .filter(|r| r[1] == "server")
        .map(|r| r[0].parse().expect("a close code"))
        .collect();
    let judged: BTreeSet<u16> = SERVER_CLOSE_CODES.into_iter().collect();
    assert_eq!(documented, judged, "docs/wire-protocol.md, \"Closing\"");
}

#[test]
fn the_wire_protocol_s_1013_reasons_are_the_oracle_s() {
    let rows = table(&doc("docs/wire-protocol.md"), "| 1013 reason begins with |");
    // The cell keeps the trailing space that separates the prefix from
    // what follows.
    let documented: Vec<String> = rows.iter().map(|r| r[0].clone()).collect();
    let judged: Vec<String> = REASONS_1013.iter().map(|c| c.to_string()).collect();
    assert_eq!(documented, judged, "docs/wire-protocol.md, \"Closing\"");
}

/// The `| invariant | cause | what happened |` table of `rel`: every cause
/// once, under its own invariant (a blank invariant cell continues the
/// one above).
fn causes_table_matches_the_oracle(rel: &str) {
    let rows = table(&doc(rel), "| invariant | cause | what happened |");
    let mut invariant = String::new();
    let mut listed = Vec::new();
    for row in rows {
        if !row[0].is_empty() {
            invariant = row[0].clone();
        }
        let cause: Cause = row[1]
            .parse()
            .unwrap_or_else(|e| panic!("{rel}: {e} ({:?})", row[1]));
        let under: Invariant = invariant.parse().unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(
            cause.invariant(),
            under,
            "{rel}: {cause} is listed under {under}"
        );
        listed.push(cause);
    }
    let all: Vec<Cause> = Cause::ALL.to_vec();
    let missing: Vec<&Cause> = all.iter().filter(|c| !listed.contains(c)).collect();
    assert!(missing.is_empty(), "{rel} does not list {missing:?}");
    assert_eq!(listed.len(), all.len(), "{rel} lists a cause twice");
}

#[test]
fn the_design_s_cause_table_is_the_oracle_s() {
    causes_table_matches_the_oracle("docs/design.md");
}

#[test]
fn the_scenario_format_s_cause_table_is_the_oracle_s() {
    causes_table_matches_the_oracle("docs/scenario-format.md");
}

/// The CI recipe passes actionlint (installed into .venv by .ci/run from
/// PyPI, a binary in the wheel).
#[test]
fn the_ci_workflow_passes_actionlint() {
    let actionlint = support::path(".venv/bin/actionlint");
    if !actionlint.exists() {
        assert!(
            !support::in_ci(),
            "CI is set but .venv/bin/actionlint is missing: .ci/run installs tests/requirements.txt"
        );
        support::skipped("actionlint is not in .venv (pip install -r tests/requirements.txt)");
        return;
    }
    let out = std::process::Command::new(&actionlint)
        .arg(".github/workflows/stagesim.yml")
        .current_dir(support::path(""))
        .output()
        .expect("run actionlint");
    assert!(
        out.status.success(),
        "{}{}\nreproduce: .venv/bin/actionlint .github/workflows/stagesim.yml",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// docs/sweeps.md shows the workflow exactly as it is, so its copy cannot
/// go stale.
#[test]
fn the_sweeps_doc_shows_the_ci_workflow_as_it_is() {
    let workflow = doc(".github/workflows/stagesim.yml");
    let sweeps = doc("docs/sweeps.md");
    let block = format!("```yaml\n{workflow}```\n");
    assert!(
        sweeps.contains(&block),
        "docs/sweeps.md's copy of .github/workflows/stagesim.yml differs from the file"
    );
}

/// README.md and every document under docs/, by path relative to the crate
/// root: where user documentation lives, so quoted outputs and links are
/// checked wherever a section moves.
fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(support::path("docs"))
        .expect("read docs/")
        .map(|e| e.expect("a docs/ entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .map(|p| format!("docs/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".into());
    docs
}

/// The anchor GitHub gives a heading: lower case, spaces to `-`, and
/// everything but letters, digits, `-` and `_` dropped.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | ' '))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The relative link targets of a Markdown text: `](target)`, not `http`.
fn relative_links(text: &str) -> Vec<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split_once(')').map(|(target, _)| target.to_string()))
        .filter(|target| !target.starts_with("http"))
        .collect()
}

/// Every relative link of the README and docs/ names a file that exists,
/// and its `#anchor` a heading of that file: a section moved without its
/// links fails here.
#[test]
fn every_link_between_the_documents_resolves() {
    let mut broken = Vec::new();
    for rel in documents() {
        let dir = std::path::Path::new(&rel).parent().unwrap().to_path_buf();
        for link in relative_links(&doc(&rel)) {
            let (file, fragment) = link.split_once('#').unwrap_or((link.as_str(), ""));
            let target = if file.is_empty() {
                rel.clone()
            } else {
                dir.join(file).display().to_string()
            };
            if !support::path(&target).exists() {
                broken.push(format!("{rel}: {link} (no file {target})"));
                continue;
            }
            if fragment.is_empty() || !target.ends_with(".md") {
                continue;
            }
            let headings: BTreeSet<String> = doc(&target)
                .lines()
                .filter_map(|l| {
                    l.trim_start_matches('#')
                        .strip_prefix(' ')
                        .filter(|_| l.starts_with('#'))
                })
                .map(anchor)
                .collect();
            if !headings.contains(fragment) {
                broken.push(format!(
                    "{rel}: {link} (no heading #{fragment} in {target})"
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links:\n  {}",
        broken.join("\n  ")
    );
}

#[test]
fn anchors_and_links_are_read_as_github_renders_them() {
    assert_eq!(
        anchor("Screening every defect: `--bug all`"),
        "screening-every-defect---bug-all"
    );
    assert_eq!(
        relative_links("see [a](docs/a.md#b) and [c](https://x.y) [d](#e)"),
        ["docs/a.md#b", "#e"]
    );
}

/// The README's quick start runs as written, from an empty directory
/// outside the checkout (the installed binary needs nothing else), with
/// the outcome each comment promises. The explore line takes minutes; its
/// long form is the `--ignored` gate test in tests/explore.rs.
#[test]
fn the_readme_quick_start_runs_as_written() {
    let readme = doc("README.md");
    let block = readme
        .split("## Quick start\n\n```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a quick start block");
    let dir = std::env::temp_dir().join(format!("stagesim-quick-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let expected: [(&str, i32, &str); 4] = [
        ("stagesim run golden_path", 0, "verdict    PASS"),
        (
            "stagesim run regressions/orchestrator_singleton",
            0,
            "REPRODUCED",
        ),
        ("stagesim diff", 1, "end differently"),
        ("stagesim scenarios export", 0, "golden_path"),
    ];
    let mut ran = 0;
    for line in block.lines().filter(|l| l.starts_with("stagesim ")) {
        let command = line.split('#').next().unwrap_or("").trim();
        let Some((_, code, words)) = expected.iter().find(|(p, ..)| command.starts_with(p)) else {
            assert!(
                command.starts_with("stagesim explore"),
                "a quick start line with no check: {command}"
            );
            continue;
        };
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"))
            .args(&args)
            .current_dir(&dir)
            .output()
            .expect("run stagesim");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let replay = format!("reproduce: cd {} && {command}", dir.display());
        assert_eq!(out.status.code(), Some(*code), "{text}\n{replay}");
        assert!(text.contains(words), "{text}\n{replay}");
        ran += 1;
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(ran, expected.len(), "every checked quick start line ran");
}

/// Every `$ stagesim ...` output the README or a document under docs/
/// quotes in a `text` block still comes out of that command, line for
/// line, so its numbers cannot go stale. Lines shortened with `...` are skipped, and rates (`243.1`
/// runs/s, one decimal) vary with the machine, so they are masked; a
/// command that writes a file (`--out`) is not rerun.
#[test]
fn the_quoted_outputs_are_what_the_commands_print() {
    let mask = |line: &str| -> String {
        let mut out = String::new();
        for word in line.split_whitespace() {
            let rate = word.split_once('.').is_some_and(|(a, b)| {
                !a.is_empty()
                    && a.chars().all(|c| c.is_ascii_digit())
                    && b.len() == 1
                    && b.chars().all(|c| c.is_ascii_digit())
            });
            out.push_str(if rate { "#" } else { word });
            out.push(' ');
        }
        out
    };
    let mut checked = 0;
    for rel in documents() {
        let text = doc(&rel);
        for block in text.split("```text\n").skip(1) {
            let block = block.split("```").next().unwrap_or("");
            let mut command: Option<String> = None;
            let mut quoted = Vec::new();
            let mut flush = |command: &Option<String>, quoted: &mut Vec<&str>| {
                let Some(cmd) = command else { return };
                if cmd.contains("--out") {
                    quoted.clear();
                    return;
                }
                let args: Vec<&str> = cmd.split_whitespace().skip(1).collect();
                let (_, stdout, stderr) = support::stagesim(&args);
                let printed: Vec<String> = format!("{stdout}{stderr}").lines().map(mask).collect();
                for line in quoted.drain(..) {
                    if line.contains("...") || line.contains("runs/s") {
                        continue;
                    }
                    assert!(
                        printed.contains(&mask(line)),
                        "{rel} quotes a line that `{cmd}` no longer prints:\n  {line}\nreproduce: {cmd}"
                    );
                    checked += 1;
                }
            };
            for line in block.lines() {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    flush(&command, &mut quoted);
                    command = Some(cmd.to_string());
                } else if !line.trim().is_empty() {
                    quoted.push(line);
                }
            }
            flush(&command, &mut quoted);
        }
    }
    assert!(checked >= 15, "only {checked} quoted lines were checked");
}

/// The packages of the dependency graph with the features each is built
/// with, as `cargo tree` prints them (`name vX|feature,feature`), over the
/// given kinds of edges.
fn built_features(edges: &str) -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(&cargo)
        .args(["tree", "--locked", "--offline", "--prefix", "none"])
        .args(["--edges", edges, "--format", "{p}|{f}"])
        .current_dir(support::path(""))
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "{}\nreproduce: cargo tree --edges {edges}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.trim_end_matches(" (*)").to_string())
        .collect()
}

/// The README's build note holds: the test-only dependencies turn on no
/// feature of a dependency the binary shares, so `cargo run` after `cargo
/// test` compiles only this crate. A dev-dependency that does (as
/// `scraper` did to `syn`'s `extra-traits`) shows up as a package built
/// with one feature set for the binary and another for the tests.
#[test]
fn test_only_dependencies_change_no_shared_dependency_s_features() {
    let binary = built_features("normal,build");
    let tests = built_features("normal,build,dev");
    let changed: Vec<&String> = binary.difference(&tests).collect();
    assert!(
        changed.is_empty(),
        "built with other features when the tests are built (add those features to \
         Cargo.toml, as [build-dependencies] syn is): {changed:?}\n\
         reproduce: diff <(cargo tree -e normal,build -f '{{p}}|{{f}}' --prefix none | sort -u) \
         <(cargo tree -e normal,build,dev -f '{{p}}|{{f}}' --prefix none | sort -u)"
    );
}
