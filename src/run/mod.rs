//! One run, end to end: `Scenario + seed -> trace -> oracle -> outcome`.
//! Everything a command, a test or a sweep reports about a run is in
//! [`Outcome`], and all of it is derived from the trace.
//!
//! The summary counts are part of the outcome, so they live here
//! (`summary`); `report` renders an outcome and depends on this module,
//! never the other way round.

mod idle_faults;
mod summary;
pub mod target_notes;
pub mod verify;

use std::cell::OnceCell;

use crate::oracle::{self, Verdict, Violation};
use crate::scenario::Scenario;
use crate::trace::Trace;
use crate::world;

pub use crate::world::Stepping;

pub use summary::{GroupSummary, Messages, Summary, format_counts};
pub use target_notes::TargetNotes;

/// The seed a scenario runs with when none is given.
pub const DEFAULT_SEED: u64 = 1;

pub struct Outcome {
    pub scenario: String,
    pub seed: u64,
    pub trace: Trace,
    pub violations: Vec<Violation>,
    pub verdict: Verdict,
    pub summary: Summary,
    /// SHA-256 of the rendered trace, computed when first asked for
    /// ([`Outcome::trace_hash`]): rendering the whole trace is a tenth of a
    /// run's cost, and a run that is only judged (explore, bench, the
    /// property tests) never reads it.
    trace_hash: OnceCell<String>,
    /// The run was live (`crate::live`): its times are real, not simulated.
    pub live: bool,
    /// Faults that hit nothing (`idle_faults`): a run that says nothing
    /// about them, reported as warnings.
    pub warnings: Vec<String>,
    /// The run drove someone else's backend (`live --target`): what it could
    /// not apply and what it set aside. The server's side is not in its
    /// trace, so its coverage is unknown, not zero.
    pub target: Option<TargetNotes>,
}

impl Outcome {
    /// SHA-256 of the rendered trace, hex ([`Trace::hash`]); equal hashes
    /// mean byte-identical runs.
    pub fn trace_hash(&self) -> &str {
        self.trace_hash.get_or_init(|| self.trace.hash())
    }

    /// What the run's times are, for reports: "sim time" or "real time".
    pub fn time_label(&self) -> &'static str {
        if self.live { "real time" } else { "sim time" }
    }
}

/// Simulate `scenario` with `seed` and judge it.
pub fn run(scenario: &Scenario, seed: u64) -> Outcome {
    run_stepping(scenario, seed, Stepping::default())
}

/// [`run`], with the simulation stepping as asked.
pub fn run_stepping(scenario: &Scenario, seed: u64, stepping: Stepping) -> Outcome {
    judge(
        scenario,
        seed,
        world::simulate_stepping(scenario, seed, stepping),
    )
}

/// Judge a finished run's trace (simulated, or live: `crate::live`).
pub fn judge(scenario: &Scenario, seed: u64, trace: Trace) -> Outcome {
    // One per-user index serves the oracle and the summary.
    let users = oracle::index(&trace);
    let violations = oracle::check_indexed(&users, &trace, &scenario.expect);
    let verdict = oracle::verdict(&violations, &scenario.expect);
    let summary = Summary::of(&trace, &users);
    let warnings = idle_faults::idle_faults(&trace);
    Outcome {
        scenario: scenario.name.clone(),
        seed,
        trace,
        violations,
        verdict,
        summary,
        trace_hash: OnceCell::new(),
        warnings,
        live: false,
        target: None,
    }
}
