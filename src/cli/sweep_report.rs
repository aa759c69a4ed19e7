//! What `stagesim sweep` prints once every run is done: a table per
//! scenario (with, under a failing one, when its unexpected violations
//! happened and which user groups they hit) and the failing seeds with
//! their reproduce lines, or the same as one JSON object.
//!
//! Reads the `SweepResult` of `crate::sweep::run` and the targets; writes
//! nothing itself (`cli::sweep` prints the returned text).

use std::fmt::Write as _;
use std::time::Duration;

use super::json_docs::{FailingSeedJson, SweepJson, SweepScenarioJson};
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
        let failing_seeds = self
            .result
            .failures
            .iter()
            .map(|f| {
                let t = &self.targets[f.target];
                FailingSeedJson {
                    file: t.path.clone(),
                    report: self.report_path(f.target, f.seed),
                    reproduce: t.reproduce(f.seed),
                    scenario: t.scenario.name.clone(),
                    seed: f.seed,
                    violations: f
                        .violations
                        .iter()
                        .map(crate::report::violation_json)
                        .collect(),
                    violations_not_listed: f.violations_total - f.violations.len(),
                }
            })
            .collect();
        super::json_docs::line(&SweepJson {
            coverage: self.total_coverage().json(),
            failed: self.failed,
            failing_seeds,
            failing_seeds_not_listed: self.untold(),
            jobs: self.result.jobs,
            regressions_not_reproduced: self.missed().iter().map(|t| t.path.clone()).collect(),
            report_dir: self.reports.map(|d| d.dir().display().to_string()),
            reproduced: self.reproduced,
            runs: self.result.records.len(),
            runs_per_sec: (self.result.runs_per_sec() * 100.0).round() / 100.0,
            scenarios: self.per_scenario_json(),
            seeds: self.seeds.len(),
            shard: shard.to_string(),
        })
    }

    fn per_scenario_json(&self) -> Vec<SweepScenarioJson> {
        self.targets
            .iter()
            .zip(&self.summaries)
            .enumerate()
            .map(|(i, (t, s))| SweepScenarioJson {
                close_codes: s
                    .close_codes
                    .iter()
                    .map(|(c, n)| (c.to_string(), *n))
                    .collect(),
                coverage: self.result.coverage[i].json(),
                fail: s.fail,
                file: t.path.clone(),
                first_violation_ms: s.spread.first_violation.map(|t| t.as_millis() as u64),
                // Numbered from 1, as `run --json` numbers its groups.
                groups_hit: s.spread.groups_hit.iter().map(|g| g + 1).collect(),
                last_violation_ms: s.spread.last_violation.map(|t| t.as_millis() as u64),
                pass: s.pass,
                reproduced: s.reproduced,
                reproducing_seeds: s.reproducing_seeds.clone(),
                runs: s.runs,
                scenario: t.scenario.name.clone(),
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

    /// One row per scenario, and under a failing scenario's row its
    /// [`spread_line`].
    fn table(&self) -> String {
        let rows = self.targets.iter().zip(&self.summaries).map(|(t, s)| {
            let per_core = s.runs as f64 / s.wall.as_secs_f64().max(1e-9);
            let codes: Vec<String> = s
                .close_codes
                .iter()
                .map(|(c, n)| format!("{c}x{n}"))
                .collect();
            let row = [
                t.scenario.name.clone(),
                s.runs.to_string(),
                s.pass.to_string(),
                s.reproduced.to_string(),
                s.fail.to_string(),
                format!("{per_core:.1}"),
                codes.join(" "),
            ];
            (row, spread_line(&s.spread))
        });
        columns(rows.collect())
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

/// The sweep table's header and rows in columns as wide as their widest
/// cell (`comfy_table`: a long scenario name widens its column instead of
/// pushing its row out of line), numbers right-aligned, each row followed
/// by its line of notes (empty or ending in a newline).
fn columns(rows: Vec<([String; 7], String)>) -> String {
    let mut table = comfy_table::Table::new();
    table.load_style(comfy_table::presets::NOTHING).set_header([
        "scenario",
        "runs",
        "pass",
        "repro",
        "fail",
        "runs/s",
        "close codes",
    ]);
    for (row, _) in &rows {
        table.add_row(row.clone());
    }
    for column in table.column_iter_mut() {
        // One space between columns, two before the close codes.
        let (left, right) = if column.index == 6 { (1, 0) } else { (0, 1) };
        column.set_padding((left, right));
        if (1..=5).contains(&column.index) {
            column.set_cell_alignment(comfy_table::CellAlignment::Right);
        }
    }
    let mut lines = table.lines().map(|l| l.trim_end().to_string());
    let mut text = lines.next().unwrap_or_default() + "\n";
    for (line, (_, notes)) in lines.zip(&rows) {
        text.push_str(&line);
        text.push('\n');
        text.push_str(notes);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, runs: &str, codes: &str) -> [String; 7] {
        [name, runs, runs, "0", "0", "12.5", codes].map(String::from)
    }

    #[test]
    fn columns_fit_the_longest_name_and_notes_sit_under_their_row() {
        let long = "a_scenario_name_much_longer_than_thirty_four_characters";
        let text = columns(vec![
            (row("short", "5", "1000x5"), "  note of short\n".into()),
            (row(long, "100", "1000x100 1011x2"), String::new()),
        ]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{text}");
        assert_eq!(lines[2], "  note of short", "{text}");
        // Every number column ends where its header ends, whatever the name.
        let end = |line: &str, word: &str| line.find(word).map(|i| i + word.len());
        let header_runs = end(lines[0], "runs").unwrap();
        assert_eq!(end(lines[1], " 5 "), Some(header_runs + 1), "{text}");
        assert_eq!(end(lines[3], "100"), Some(header_runs), "{text}");
        assert!(lines[0].starts_with("scenario "), "{text}");
        assert!(lines[3].ends_with("  1000x100 1011x2"), "{text}");
        assert!(text.lines().all(|l| l == l.trim_end()), "{text}");
    }
}
