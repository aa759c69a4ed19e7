//! A sweep's progress on stderr, counted as workers finish runs: a bar on a
//! terminal, otherwise a plain line at every tenth (a CI log).
//!
//! Fed by `crate::sweep::run`'s progress callback from any worker thread;
//! writes nothing to stdout, which holds only the results.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

use super::err;
use crate::oracle::Verdict;
use crate::sweep::RunRecord;

/// Progress on stderr: a bar on a terminal, otherwise a plain line at every
/// tenth. Writes that fail (stderr closed) are ignored.
pub struct Progress {
    bar: Option<ProgressBar>,
    total: u64,
    done: AtomicUsize,
    failures: AtomicUsize,
}

impl Progress {
    pub fn new(total: u64) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::new(total);
            if let Ok(style) = ProgressStyle::with_template(
                "{bar:40} {pos}/{len} runs, {per_sec}, eta {eta} {msg}",
            ) {
                bar.set_style(style);
            }
            bar
        });
        Progress {
            bar,
            total,
            done: AtomicUsize::new(0),
            failures: AtomicUsize::new(0),
        }
    }

    pub fn record(&self, record: &RunRecord) {
        let n = self.done.fetch_add(1, Ordering::Relaxed) as u64 + 1;
        if record.verdict == Verdict::Fail {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let failed = self.failures.load(Ordering::Relaxed);
        match &self.bar {
            Some(bar) => {
                bar.inc(1);
                if failed > 0 {
                    bar.set_message(format!("{failed} failed"));
                }
            }
            None => {
                let step = (self.total / 10).max(1);
                if n.is_multiple_of(step) || n == self.total {
                    err(&format!("  {n}/{} runs, {failed} failed\n", self.total));
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
