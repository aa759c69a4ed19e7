//! JUnit XML for CI (quick-junit): one test suite per scenario, one test
//! case per scenario and seed range; a failure carries every failing seed's
//! reproduce line.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{
    Failure, MAX_FAILURES_KEPT, MAX_SEEDS, SweepResult, Target, TargetSummary, regression_missed,
};

/// The XML text of `result`. Times are left out on purpose: the file is
/// then the same for the same sweep, whatever the machine's speed.
pub fn to_junit(targets: &[Target], seeds: &[u64], result: &SweepResult) -> String {
    let range = match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) => format!("seeds {a}..={b}"),
        _ => "no seeds".to_string(),
    };
    let mut report = Report::new("stagesim sweep");
    for (index, (target, summary)) in targets
        .iter()
        .zip(result.summary(targets.len()))
        .enumerate()
    {
        let status = if summary.fail > 0 {
            failed(target, index, &summary, result)
        } else if regression_missed(target, &summary) {
            missed(target, seeds.len(), &range)
        } else {
            TestCaseStatus::success()
        };
        let name = &target.scenario.name;
        let mut case = TestCase::new(format!("{name} {range}"), status);
        case.set_classname(target.path.clone());
        let mut suite = TestSuite::new(name.clone());
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialisation failed: {e} -->"))
}

/// The status of a target with failing seeds: every kept failure's line.
fn failed(
    target: &Target,
    index: usize,
    summary: &TargetSummary,
    result: &SweepResult,
) -> TestCaseStatus {
    let lines: Vec<String> = result
        .failures
        .iter()
        .filter(|f| f.target == index)
        .map(|f| failure_line(target, f))
        .collect();
    let mut text = lines.join("\n");
    let untold = summary.fail.saturating_sub(lines.len() as u64);
    if untold > 0 {
        // The kept failures are the lowest job indices, so a prefix of
        // this target's failing seeds; name the next few of the rest.
        let next: Vec<String> = summary
            .failing_seeds
            .iter()
            .skip(lines.len())
            .take(10)
            .map(u64::to_string)
            .collect();
        text.push_str(&format!(
            "\n{untold} more failing seeds not listed (a sweep keeps the violations of its first {MAX_FAILURES_KEPT} failing runs); the next: {}",
            next.join(" ")
        ));
    }
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(format!("{} of {} seeds failed", summary.fail, summary.runs));
    s.set_description(text);
    s
}

/// The status of a regression scenario that reproduced on no seed.
fn missed(target: &Target, seeds: usize, range: &str) -> TestCaseStatus {
    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
    s.set_message(format!("regression reproduced on no seed ({range})"));
    s.set_description(format!(
        "expected {:?} on at least one seed; try more seeds: stagesim sweep {} --seeds {}",
        target
            .scenario
            .expect
            .violations
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>(),
        target.path,
        (seeds as u64 * 2).min(MAX_SEEDS)
    ));
    s
}

/// A failing seed's first unexpected violation and its reproduce line.
fn failure_line(target: &Target, failure: &Failure) -> String {
    let first = failure
        .first_unexpected(&target.scenario.expect)
        .map(|v| {
            format!(
                "{} at {}ms {}: {}",
                v.invariant,
                v.at.as_millis(),
                v.user.as_deref().unwrap_or("-"),
                v.what()
            )
        })
        .unwrap_or_default();
    format!(
        "seed {}: {first}\n  reproduce: {}",
        failure.seed,
        target.reproduce(failure.seed)
    )
}
