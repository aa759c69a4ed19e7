//! What `stagesim sweep` prints once every run is done: a table per
//! scenario (with, under a failing one, when its unexpected violations
//! happened and which user groups they hit) and the failing seeds with
//! their reproduce lines, or the same as one JSON object.
//!
//! Reads the `SweepResult` of `crate::sweep::run` and the targets; writes
//! nothing itself (`cli::sweep` prints the returned text).

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::oracle::Verdict;
use crate::sweep::{
    MAX_FAILURES_KEPT, ReportDir, Shard, Spread, SweepResult, Target, TargetSummary,
};

/// `seeds a..=b`, as the reports name a range.
pub fn range(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(a), Some(b)) => format!("seeds {a}..={b}"),
        _ => "no seeds".into(),
    }
}

/// The line under a failing scenario's row: when its unexpected violations
/// happened and which user groups they hit (numbered from 1, as `run`
/// numbers them); nothing for a scenario without.
fn spread_line(spread: &Spread) -> String {
    let (Some(first), Some(last)) = (spread.first_violation, spread.last_violation) else {
        return String::new();
    };
    let groups = if spread.groups_hit.is_empty() {
        "none (no violation named a user)".to_string()
    } else {
        let groups: Vec<String> = spread
            .groups_hit
            .iter()
            .map(|g| (g + 1).to_string())
            .collect();
        groups.join(", ")
    };
    format!(
        "  unexpected violations from {} to {} sim time, groups hit: {groups}\n",
        seconds(first),
        seconds(last)
    )
}

/// `12.345s`: to the millisecond, as the trace times its events.
fn seconds(at: Duration) -> String {
    format!("{}.{:03}s", at.as_secs(), at.subsec_millis())
}

/// A finished sweep and the counts both report forms need.
pub struct Report<'a> {
    targets: &'a [Target],
    seeds: &'a [u64],
    result: &'a SweepResult,
    summaries: Vec<TargetSummary>,
    failed: u64,
    reproduced: u64,
    /// Where the listed failing seeds' HTML reports were written.
    reports: Option<&'a ReportDir>,
}

impl<'a> Report<'a> {
    pub fn new(targets: &'a [Target], seeds: &'a [u64], result: &'a SweepResult) -> Self {
        let summaries = result.summary(targets.len());
        let count = |v: Verdict| result.records.iter().filter(|r| r.verdict == v).count() as u64;
        Report {
            targets,
            seeds,
            result,
            summaries,
            failed: count(Verdict::Fail),
            reproduced: count(Verdict::Reproduced),
            reports: None,
        }
    }

    /// Name each listed failing seed's HTML report, written to `reports`.
    pub fn with_reports(mut self, reports: Option<&'a ReportDir>) -> Self {
        self.reports = reports;
        self
    }

    /// The HTML report of a listed failing seed, if reports were written.
    fn report_path(&self, target: usize, seed: u64) -> Option<String> {
        let dir = self.reports?;
        Some(dir.path(target, seed).display().to_string())
    }

    /// Regression scenarios that reproduced on no seed.
    fn missed(&self) -> Vec<&'a Target> {
        self.targets
            .iter()
            .zip(&self.summaries)
            .filter(|(t, s)| crate::sweep::regression_missed(t, s))
            .map(|(t, _)| t)
            .collect()
    }

    /// No seed failed and every regression reproduced.
    pub fn passed(&self) -> bool {
        self.failed == 0 && self.missed().is_empty()
    }

    /// Failing runs beyond those whose violations the sweep kept.
    fn untold(&self) -> u64 {
        self.failed
            .saturating_sub(self.result.failures.len() as u64)
    }

    pub fn json(&self, shard: &Shard) -> String {
        let failing: Vec<_> = self
            .result
            .failures
            .iter()
            .map(|f| {
                let t = &self.targets[f.target];
                json!({
                    "scenario": t.scenario.name,
                    "file": t.path,
                    "seed": f.seed,
                    "reproduce": t.reproduce(f.seed),
                    "violations": f.violations.iter().map(crate::report::violation_json).collect::<Vec<_>>(),
                    "violations_not_listed": f.violations_total - f.violations.len(),
                    "report": self.report_path(f.target, f.seed),
                })
            })
            .collect();
        let doc = json!({
            "runs": self.result.records.len(),
            "failed": self.failed,
            "reproduced": self.reproduced,
            "failing_seeds": failing,
            "failing_seeds_not_listed": self.untold(),
            "regressions_not_reproduced": self.missed().iter().map(|t| &t.path).collect::<Vec<_>>(),
            "runs_per_sec": (self.result.runs_per_sec() * 100.0).round() / 100.0,
            "jobs": self.result.jobs,
            "shard": shard.to_string(),
            "seeds": self.seeds.len(),
            "report_dir": self.reports.map(|d| d.dir().display().to_string()),
            "scenarios": self.per_scenario_json(),
            "coverage": self.total_coverage().json(),
        });
        format!("{doc}\n")
    }

    fn per_scenario_json(&self) -> Vec<serde_json::Value> {
        self.targets
            .iter()
            .zip(&self.summaries)
            .enumerate()
            .map(|(i, (t, s))| {
                json!({
                    "scenario": t.scenario.name,
                    "file": t.path,
                    "runs": s.runs,
                    "pass": s.pass,
                    "reproduced": s.reproduced,
                    "fail": s.fail,
                    "close_codes": s.close_codes.iter().map(|(c, n)| (c.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                    "reproducing_seeds": s.reproducing_seeds,
                    "first_violation_ms": s.spread.first_violation.map(|t| t.as_millis() as u64),
                    "last_violation_ms": s.spread.last_violation.map(|t| t.as_millis() as u64),
                    // Numbered from 1, as `run --json` numbers its groups.
                    "groups_hit": s.spread.groups_hit.iter().map(|g| g + 1).collect::<Vec<_>>(),
                    "coverage": self.result.coverage[i].json(),
                })
            })
            .collect()
    }

    /// The probes reached over every scenario of the sweep.
    pub fn total_coverage(&self) -> crate::coverage::Coverage {
        let mut total = crate::coverage::Coverage::default();
        for c in &self.result.coverage {
            total.merge(c);
        }
        total
    }

    pub fn text(&self) -> String {
        let mut text = self.table();
        let runs = self.result.records.len() as u64;
        let _ = writeln!(
            text,
            "total: {runs} runs in {:.1}s ({:.1} runs/s on {} jobs; per-scenario runs/s is per core): {} pass, {} reproduced, {} failed",
            self.result.wall.as_secs_f64(),
            self.result.runs_per_sec(),
            self.result.jobs,
            runs - self.reproduced - self.failed,
            self.reproduced,
            self.failed
        );
        text.push_str(&self.failing_seeds());
        let _ = writeln!(text, "coverage over {runs} runs:");
        text.push_str(&self.total_coverage().text());
        if let Some(dir) = self.reports {
            let _ = match self.result.failures.len() {
                0 => writeln!(
                    text,
                    "no failing seed: no HTML report written to {}",
                    dir.dir().display()
                ),
                n => writeln!(
                    text,
                    "HTML reports of the {n} failing seed(s) listed: {}",
                    dir.dir().display()
                ),
            };
        }
        for t in self.missed() {
            let _ = writeln!(
                text,
                "regression {} reproduced on no seed of {}: expected {:?}",
                t.path,
                range(self.seeds),
                t.scenario
                    .expect
                    .violations
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
            );
        }
        text
    }

    fn table(&self) -> String {
        let mut text = format!(
            "{:<34} {:>5} {:>5} {:>6} {:>5} {:>8}  close codes\n",
            "scenario", "runs", "pass", "repro", "fail", "runs/s"
        );
        for (t, s) in self.targets.iter().zip(&self.summaries) {
            let per_core = s.runs as f64 / s.wall.as_secs_f64().max(1e-9);
            let codes: Vec<String> = s
                .close_codes
                .iter()
                .map(|(c, n)| format!("{c}x{n}"))
                .collect();
            let _ = writeln!(
                text,
                "{:<34} {:>5} {:>5} {:>6} {:>5} {:>8.1}  {}",
                t.scenario.name,
                s.runs,
                s.pass,
                s.reproduced,
                s.fail,
                per_core,
                codes.join(" ")
            );
            text.push_str(&spread_line(&s.spread));
        }
        text
    }

    /// Each kept failing run: its first unexpected violation and reproduce line.
    fn failing_seeds(&self) -> String {
        let mut text = String::new();
        if self.failed == 0 {
            return text;
        }
        text.push_str("failing seeds:\n");
        for f in &self.result.failures {
            let t = &self.targets[f.target];
            if let Some(v) = f.first_unexpected(&t.scenario.expect) {
                let _ = writeln!(
                    text,
                    "  {} seed {}: {} at {}ms {}: {}",
                    t.scenario.name,
                    f.seed,
                    v.invariant,
                    v.at.as_millis(),
                    v.user.as_deref().unwrap_or("-"),
                    v.what()
                );
            }
            let _ = writeln!(text, "    reproduce: {}", t.reproduce(f.seed));
            if let Some(path) = self.report_path(f.target, f.seed) {
                let _ = writeln!(text, "    report: {path}");
            }
        }
        if self.untold() > 0 {
            let _ = writeln!(
                text,
                "  ... and {} more failing seeds: a sweep keeps the first {MAX_FAILURES_KEPT}; \
                 rerun a smaller range (--start, --seeds) to see them",
                self.untold()
            );
        }
        text
    }
}
