//! Faults, from the trace alone: the driver's events as marks on the fault
//! row, and each scenario fault as a window on the hosts it hit, from the
//! event that started it to the event of the same fault id that ended it
//! (header stripping for the whole run).

use std::time::Duration;

use super::builder::Builder;
use super::{Track, Window, WindowKind};
use crate::trace::{FaultEvent, format_time};

impl Builder {
    pub(super) fn fault(&mut self, i: usize, at: Duration, f: &FaultEvent) {
        if let FaultEvent::StripHeader { header } = f {
            self.stripped.push(header.clone());
        }
        if let Some(id) = f.fault() {
            if f.starts() {
                self.faults_open.insert(id, (at, f.clone()));
            }
            // A reset is over as soon as it happened.
            if f.ends() || matches!(f, FaultEvent::Reset { .. }) {
                self.close_fault(id, at);
            }
        }
        self.mark(i, at, Track::Sim, None, "fault", f.to_string(), None);
    }

    /// The window of fault `id`, open since its start, ending at `end`.
    fn close_fault(&mut self, id: crate::trace::FaultId, end: Duration) {
        let Some((start, event)) = self.faults_open.remove(&id) else {
            return;
        };
        let mut hosts = Vec::new();
        for name in event.hosts() {
            hosts.extend(self.expand(name));
        }
        let text = if end > start {
            format!("{event} for {}", format_time(end - start).trim_start())
        } else {
            event.to_string()
        };
        self.windows.push(Window {
            kind: WindowKind::Fault,
            start,
            end,
            hosts,
            text,
        });
    }

    /// Header stripping, and every fault still in force when the run
    /// ended, as windows.
    pub(super) fn fault_windows(&mut self) {
        let end = self.end;
        if !self.stripped.is_empty() {
            self.windows.push(Window {
                kind: WindowKind::Strip,
                start: Duration::ZERO,
                end,
                hosts: self.expand("lb"),
                text: format!("lb strips {}", self.stripped.join(", ")),
            });
        }
        let open: Vec<_> = self.faults_open.keys().copied().collect();
        for id in open {
            self.close_fault(id, end);
        }
    }

    /// The rows a host name of a fault event covers: `clients` (a skew's or
    /// a byte fault's) is every client host.
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
