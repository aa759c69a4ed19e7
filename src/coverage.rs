//! Coverage: how often each probe was reached, over one run or many.
//!
//! Data flow: `trace (Kind::Probe events) -> Coverage::of -> merged over the
//! runs of a sweep or an exploration -> the reports' coverage table and the
//! probes never reached`. Counts are per probe and fixed size, so a
//! million-run sweep holds one `Coverage` per scenario, not one per run.

use std::fmt::Write as _;

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use crate::trace::{Kind, Probe, Trace};

const PROBES: usize = Probe::ALL.len();

/// The probes some runs reached, as `--json` prints them. Fields in
/// alphabetical order, as they were printed when built as a JSON value.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct CoverageJson {
    /// Probes no run reached, in declaration order.
    pub never_reached: Vec<&'static str>,
    /// Every probe: how many hits, in how many runs.
    pub probes: BTreeMap<&'static str, ProbeCountJson>,
    pub runs: u64,
}

/// One probe's counts.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ProbeCountJson {
    pub hits: u64,
    pub runs: u64,
}

/// Probe counts over some runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Coverage {
    /// Runs counted.
    pub runs: u64,
    /// Times each probe was reached, over every run.
    hits: [u64; PROBES],
    /// Runs that reached each probe at least once.
    runs_reaching: [u64; PROBES],
}

impl Coverage {
    /// The probes one run reached.
    pub fn of(trace: &Trace) -> Self {
        let mut c = Coverage {
            runs: 1,
            ..Coverage::default()
        };
        for e in &trace.events {
            if let Kind::Probe(p) = e.kind {
                c.hits[p.index()] += 1;
                c.runs_reaching[p.index()] = 1;
            }
        }
        c
    }

    /// Add another set of runs' counts (order does not matter).
    pub fn merge(&mut self, other: &Coverage) {
        self.runs += other.runs;
        for i in 0..PROBES {
            self.hits[i] += other.hits[i];
            self.runs_reaching[i] += other.runs_reaching[i];
        }
    }

    /// Times `probe` was reached.
    pub fn hits(&self, probe: Probe) -> u64 {
        self.hits[probe.index()]
    }

    /// Runs in which `probe` was reached.
    pub fn runs_reaching(&self, probe: Probe) -> u64 {
        self.runs_reaching[probe.index()]
    }

    /// The probe gate (`--require-probes`): the probes no run reached that
    /// these runs could have reached. With every defect off, the probes
    /// only a defect reaches are not required.
    pub fn missing(&self, defects_on: bool) -> Vec<Probe> {
        self.never_reached()
            .into_iter()
            .filter(|p| defects_on || !p.needs_defect())
            .collect()
    }

    /// The probes no run reached, in declaration order.
    pub fn never_reached(&self) -> Vec<Probe> {
        Probe::ALL
            .iter()
            .copied()
            .filter(|p| self.hits(*p) == 0)
            .collect()
    }

    /// `{"runs": n, "probes": {name: {"hits": h, "runs": r}}, "never_reached": [...]}`.
    pub fn typed(&self) -> CoverageJson {
        let probes = Probe::ALL
            .iter()
            .map(|p| {
                let counts = ProbeCountJson {
                    hits: self.hits(*p),
                    runs: self.runs_reaching(*p),
                };
                (p.as_str(), counts)
            })
            .collect();
        let never_reached = self.never_reached().iter().map(|p| p.as_str()).collect();
        CoverageJson {
            never_reached,
            probes,
            runs: self.runs,
        }
    }

    /// [`Self::typed`] as a JSON value.
    pub fn json(&self) -> Value {
        serde_json::to_value(self.typed()).expect("plain structs serialise")
    }

    /// A table: one line per reached probe with its run count and share of
    /// runs, then the probes never reached on one line.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for p in Probe::ALL.iter().filter(|p| self.hits(**p) > 0) {
            let runs = self.runs_reaching(*p);
            let share = 100.0 * runs as f64 / self.runs.max(1) as f64;
            let _ = writeln!(
                out,
                "  {:<30} {runs:>7} run(s) {share:>5.1}%  {}",
                p.as_str(),
                p.what()
            );
        }
        let never = self.never_reached();
        if never.is_empty() {
            out.push_str("  every probe was reached\n");
        } else {
            let names: Vec<&str> = never.iter().map(|p| p.as_str()).collect();
            let _ = writeln!(out, "  never reached: {}", names.join(", "));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;
    use std::time::Duration;

    use super::*;
    use crate::trace::Recorder;

    fn trace_reaching(probes: &[Probe]) -> Trace {
        let recorder = Recorder::new();
        let host: Rc<str> = Rc::from("gateway");
        for (i, p) in probes.iter().enumerate() {
            recorder.record_at(
                Duration::from_millis(i as u64),
                &host,
                None,
                Kind::Probe(*p),
            );
        }
        recorder.finish(Duration::from_secs(1))
    }

    #[test]
    fn counts_hits_and_runs_and_lists_the_rest() {
        let mut total = Coverage::of(&trace_reaching(&[Probe::AuthRetried, Probe::AuthRetried]));
        total.merge(&Coverage::of(&trace_reaching(&[
            Probe::AuthRetried,
            Probe::PoolWaited,
        ])));
        total.merge(&Coverage::of(&trace_reaching(&[])));
        assert_eq!(total.runs, 3);
        assert_eq!(total.hits(Probe::AuthRetried), 3);
        assert_eq!(total.runs_reaching(Probe::AuthRetried), 2);
        assert_eq!(total.runs_reaching(Probe::PoolWaited), 1);
        let never = total.never_reached();
        assert_eq!(never.len(), Probe::ALL.len() - 2);
        assert!(!never.contains(&Probe::PoolWaited));
        let json = total.json();
        assert_eq!(json["probes"]["auth_retried"]["runs"], 2);
        assert!(total.text().contains("never reached: auth_unreachable"));
    }
}

#[cfg(test)]
mod gate_tests {
    use super::*;

    #[test]
    fn the_gate_leaves_out_defect_only_probes_for_the_fixed_backend() {
        let none = Coverage {
            runs: 1,
            ..Coverage::default()
        };
        let fixed = none.missing(false);
        assert!(!fixed.contains(&Probe::OutputLost));
        assert!(fixed.contains(&Probe::ReadyTimedOut));
        assert_eq!(none.missing(true).len(), Probe::ALL.len());
    }
}
