//! Faults: the driver's events as marks on the fault row, and the
//! scenario's faults as windows on the hosts they hit (header stripping
//! for the whole run).

use std::time::Duration;

use super::builder::Builder;
use super::{Host, Track, Window, WindowKind};
use crate::scenario::{Fault, FaultKind, Scenario, format_duration};
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
            if f.at <= end {
                let window = self.fault_window(f);
                self.windows.push(window);
            }
        }
    }

    /// One fault's window. A crashed or restarted host's window lasts until
    /// the trace says it came back.
    fn fault_window(&self, f: &Fault) -> Window {
        let lasts = f.duration.unwrap_or_default();
        let (hosts, what) = match (&f.between, &f.host) {
            (Some([a, b]), _) => {
                let mut hosts = self.expand(a);
                hosts.extend(self.expand(b));
                (hosts, format!("{} {a} <-> {b}", f.kind.as_str()))
            }
            (None, Some(h)) => (self.expand(h), format!("{} {h}", f.kind.as_str())),
            (None, None) => (Vec::new(), f.kind.as_str().to_string()),
        };
        let mut stop = f.at + lasts;
        if !f.kind.is_link()
            && let Some(h) = &f.host
            && let Some((back, _)) = self.restarts.iter().find(|(t, r)| *t >= f.at && r == h)
        {
            stop = stop.max(*back);
        }
        let text = if f.kind == FaultKind::Restart && lasts.is_zero() {
            what
        } else {
            format!("{what} for {}", format_duration(lasts))
        };
        Window {
            kind: WindowKind::Fault,
            start: f.at,
            end: stop.min(self.end),
            hosts,
            text,
        }
    }

    /// The rows a scenario's host name covers: `clients` is every client
    /// host.
    fn expand(&self, name: &str) -> Vec<usize> {
        let matches = |h: &Host| {
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
