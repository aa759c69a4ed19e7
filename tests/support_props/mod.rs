//! Support for `tests/properties.rs` and `tests/stepping.rs`: the
//! valid-envelope generator (`stagesim::envelope`), the case count, and the
//! failure report that writes the minimal scenario where `stagesim run` can
//! replay it.

use std::path::{Path, PathBuf};

use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError};
use stagesim::run::{self, Outcome};
use stagesim::scenario::{self, Invariant};

pub use stagesim::envelope::{Case, Shape, mixed_case, valid_case};

/// Where proptest records the seeds of failing cases; committed, so every
/// later run replays them first.
const REGRESSIONS: &str = "proptest-regressions/properties.txt";

/// `default_cases` cases, or `PROPTEST_CASES` when it is set; failures
/// persisted to [`REGRESSIONS`]. Every other knob as proptest's defaults
/// (which read the other `PROPTEST_*` variables).
pub fn config(default_cases: u32) -> Config {
    config_in(REGRESSIONS, default_cases)
}

/// [`config`], with failures persisted to `regressions` instead.
pub fn config_in(regressions: &'static str, default_cases: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_cases);
    Config {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::with_cases(cases)
    }
}

/// Runs `case` and applies `judge` to the outcome. On failure, writes the
/// scenario to `target/proptest-failures/<property>.toml` (each shrink step
/// overwrites it, so what is left is the minimal case) and fails with the
/// reason, the violations, the command that replays the run, and the TOML.
pub fn check(
    property: &str,
    case: &Case,
    judge: impl FnOnce(&Outcome) -> Result<(), String>,
) -> Result<(), TestCaseError> {
    let outcome = run::run(&case.scenario, case.seed);
    match judge(&outcome) {
        Ok(()) => Ok(()),
        Err(why) => Err(TestCaseError::fail(report(property, case, &outcome, &why))),
    }
}

/// `Ok` when the oracle found no violation of `invariant`; otherwise every
/// such violation, one per line.
pub fn none_of(outcome: &Outcome, invariant: Invariant) -> Result<(), String> {
    let found: Vec<String> = outcome
        .violations
        .iter()
        .filter(|v| v.invariant == invariant)
        .map(|v| {
            format!(
                "{} at {}ms {}: {}",
                v.invariant.as_str(),
                v.at.as_millis(),
                v.user.as_deref().unwrap_or("-"),
                v.detail
            )
        })
        .collect();
    if found.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} {} violation(s):\n  {}",
            found.len(),
            invariant.as_str(),
            found.join("\n  ")
        ))
    }
}

/// `target/` of this build (`CARGO_TARGET_TMPDIR` is `target/tmp`).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

fn report(property: &str, case: &Case, outcome: &Outcome, why: &str) -> String {
    let mut scenario = case.scenario.clone();
    scenario.name = property.to_string();
    scenario.description = format!(
        "Minimal counterexample to the property `{property}` (tests/properties.rs), seed {}.",
        case.seed
    );
    let text = scenario::to_toml(&scenario);
    let dir = target_dir().join("proptest-failures");
    let path = dir.join(format!("{property}.toml"));
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, &text))
        .map_err(|e| format!("could not write {}: {e}", path.display()));
    // The file must be one `stagesim run` accepts and reads back the same.
    let readable = match scenario::parse(&text, &path) {
        Ok(parsed) if parsed == scenario => String::new(),
        Ok(_) => "\nnote: the written scenario reads back different; check to_toml".into(),
        Err(e) => format!(
            "\nnote: the written scenario does not parse:\n{}",
            e.render()
        ),
    };
    let shown = path
        .strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(&path)
        .display()
        .to_string();
    let violations: Vec<String> = outcome
        .violations
        .iter()
        .map(|v| {
            format!(
                "  {:<13} {:>7}ms {} on {}: {}",
                v.invariant.as_str(),
                v.at.as_millis(),
                v.user.as_deref().unwrap_or("-"),
                v.host,
                v.detail
            )
        })
        .collect();
    format!(
        "property `{property}` failed at seed {seed} (verdict {verdict}, trace {hash}):\n{why}\n\
         all violations:\n{violations}\n\
         scenario: {where_}\n\
         reproduce: cargo run --release -- run {shown} --seed {seed} --trace target/{property}.trace{readable}\n\
         --- {shown} ---\n{text}",
        seed = case.seed,
        verdict = outcome.verdict,
        hash = &outcome.trace_hash()[..16],
        violations = if violations.is_empty() {
            "  none".to_string()
        } else {
            violations.join("\n")
        },
        where_ = match written {
            Ok(()) => shown.clone(),
            Err(e) => e,
        },
    )
}
