//! Faults: the driver's events as marks on the fault row, and the
//! scenario's faults as windows on the hosts they hit (header stripping
//! for the whole run).

use std::time::Duration;

use super::builder::Builder;
use super::{Track, Window, WindowKind};
use crate::scenario::{Fault, Scenario, Target, format_duration};
use crate::trace::FaultEvent;

impl Builder {
    pub(super) fn fault(&mut self, i: usize, at: Duration, f: &FaultEvent) {
        if let FaultEvent::Restarted { host } = f {
            self.restarts.push((at, host.clone()));
        }
        self.mark(i, at, Track::Sim, None, "fault", f.to_string(), None);
    }

    /// The scenario's faults, as windows on the hosts they hit.
    pub(super) fn fault_windows(&mut self, scenario: &Scenario) {
        let end = self.end;
        if !scenario.load_balancer.strip_headers.is_empty() {
            self.windows.push(Window {
                kind: WindowKind::Strip,
                start: Duration::ZERO,
                end,
                hosts: self.expand("lb"),
                text: format!(
                    "lb strips {}",
                    scenario.load_balancer.strip_headers.join(", ")
                ),
            });
        }
        for f in &scenario.faults {
            if f.at() <= end {
                let window = self.fault_window(f);
                self.windows.push(window);
            }
        }
    }

    /// One fault's window. A crashed or restarted host's window lasts until
    /// the trace says it came back.
    fn fault_window(&self, f: &Fault) -> Window {
        let lasts = f.lasts().unwrap_or_default();
        let kind = f.kind();
        let (hosts, what) = match f.target() {
            Target::Link([a, b]) => {
                let mut hosts = self.expand(a.as_str());
                hosts.extend(self.expand(b.as_str()));
                (hosts, format!("{kind} {a} <-> {b}"))
            }
            Target::Host(h) => (self.expand(h.as_str()), format!("{kind} {h}")),
        };
        let mut stop = f.at() + lasts;
        if let Target::Host(h) = f.target()
            && !kind.is_link()
            && let Some((back, _)) = self
                .restarts
                .iter()
                .find(|(t, r)| *t >= f.at() && *r == h.as_str())
        {
            stop = stop.max(*back);
        }
        let text = if matches!(f, Fault::Restart { .. }) && lasts.is_zero() {
            what
        } else {
            format!("{what} for {}", format_duration(lasts))
        };
        Window {
            kind: WindowKind::Fault,
            start: f.at(),
            end: stop.min(self.end),
            hosts,
            text,
        }
    }

    /// The rows a scenario's host name covers: `clients` is every client
    /// host.
    fn expand(&self, name: &str) -> Vec<usize> {
        let matches = |h: &super::Host| {
            if name == "clients" {
                h.clients
            } else {
                h.name == name
            }
        };
        (0..self.hosts.len())
            .filter(|&h| matches(&self.hosts[h]))
            .collect()
    }
}
