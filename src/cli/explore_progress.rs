//! `explore`'s progress on stderr: on a terminal, one bar whose message
//! counts failures by cause and the probes reached so far; otherwise (a CI
//! log) a line at every tenth of the runs, and one line the first time each
//! failure cause appears, with its run number. Either way the output is
//! bounded by the number of distinct causes, not by the number of failing
//! runs (a defect that fails every run used to print a line per run).
//!
//! Fed by `crate::explore::explore`'s callback from any worker thread;
//! writes nothing to stdout, which holds only the results.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};

use indicatif::{ProgressBar, ProgressStyle};

use super::err;
use crate::coverage::Coverage;
use crate::explore::RunNote;
use crate::trace::Probe;

pub struct ExploreProgress {
    bar: Option<ProgressBar>,
    /// The number of runs, when known (`--runs`); `None` under `--budget`.
    total: Option<u64>,
    seen: Mutex<Seen>,
}

#[derive(Default)]
struct Seen {
    runs: u64,
    /// Failing runs by cause label, in name order.
    causes: BTreeMap<String, u64>,
    coverage: Coverage,
}

impl ExploreProgress {
    pub fn new(total: Option<u64>) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = match total {
                Some(n) => ProgressBar::new(n),
                None => ProgressBar::new_spinner(),
            };
            let template = match total {
                Some(_) => "{bar:30} {pos}/{len} runs, {per_sec}, eta {eta} {msg}",
                None => "{spinner} {pos} runs, {per_sec} {msg}",
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                bar.set_style(style);
            }
            bar
        });
        ExploreProgress {
            bar,
            total,
            seen: Mutex::new(Seen::default()),
        }
    }

    pub fn record(&self, note: RunNote<'_>) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        seen.runs += 1;
        seen.coverage.merge(note.coverage);
        let first_of_cause = note.failure.is_some_and(|sig| {
            let count = seen.causes.entry(sig.label()).or_default();
            *count += 1;
            *count == 1
        });
        let message = summary(&seen);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                bar.set_message(message);
            }
            None => {
                if let (true, Some(sig)) = (first_of_cause, note.failure) {
                    err(&format!(
                        "  run {}: first failure of cause {}\n",
                        seen.runs,
                        sig.label()
                    ));
                }
                let step = self.total.map_or(500, |n| (n / 10).max(1));
                if seen.runs.is_multiple_of(step) || Some(seen.runs) == self.total {
                    err(&format!("  {} runs; {message}\n", seen.runs));
                }
            }
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `failures: closed_1011 (agent_pipeline) x12; probes 14/18`.
fn summary(seen: &Seen) -> String {
    let failures = if seen.causes.is_empty() {
        "no failure".to_string()
    } else {
        let each: Vec<String> = seen
            .causes
            .iter()
            .map(|(c, n)| format!("{c} x{n}"))
            .collect();
        format!("failures: {}", each.join(", "))
    };
    let reached = Probe::ALL.len() - seen.coverage.never_reached().len();
    format!("{failures}; probes {reached}/{}", Probe::ALL.len())
}
