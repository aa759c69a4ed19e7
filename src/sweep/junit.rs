//! JUnit XML for CI (quick-junit): one test suite per scenario, one test
//! case per scenario and seed range; a failure carries every failing seed's
//! reproduce line.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{SweepResult, Target, regression_missed};

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
        let name = &target.scenario.name;
        let mut suite = TestSuite::new(name.clone());
        let mut lines = Vec::new();
        for r in result.records.iter().filter(|r| r.target == index) {
            if r.verdict == crate::oracle::Verdict::Fail {
                let first = r
                    .violations
                    .iter()
                    .find(|v| !crate::oracle::is_expected(&target.scenario.expect, v))
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
                lines.push(format!(
                    "seed {}: {first}\n  reproduce: {}",
                    r.seed,
                    target.reproduce(r.seed)
                ));
            }
        }
        let status =
            if !lines.is_empty() {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("{} of {} seeds failed", lines.len(), summary.runs));
                s.set_description(lines.join("\n"));
                s
            } else if regression_missed(target, &summary) {
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_message(format!("regression reproduced on no seed ({range})"));
                s.set_description(format!(
                "expected {:?} on at least one seed; try more seeds: stagesim sweep {} --seeds {}",
                target.scenario.expect.violations.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
                target.path,
                seeds.len() * 2
            ));
                s
            } else {
                TestCaseStatus::success()
            };
        let mut case = TestCase::new(format!("{name} {range}"), status);
        case.set_classname(target.path.clone());
        suite.add_test_case(case);
        report.add_test_suite(suite);
    }
    report
        .to_string()
        .unwrap_or_else(|e| format!("<!-- junit serialisation failed: {e} -->"))
}
