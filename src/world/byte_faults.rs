//! The byte-level faults of a scenario (`reset`, `slice`, `bandwidth`,
//! `slow_close`, `latency`), turned into changes of `lb`'s middlebox at
//! fixed simulated times.
//!
//! Part of the fault driver (`world::faults`), which asks this schedule what
//! is due before each step; each change is recorded in the trace.

use std::rc::Rc;
use std::time::Duration;

use crate::scenario::{Fault, FaultKind, format_duration, format_rate};
use crate::services::middlebox::{Faults, Middlebox};
use crate::trace::FaultEvent;

/// One change: a fault starting (`on`) or ending.
struct Change {
    at: Duration,
    fault: Fault,
    on: bool,
}

pub struct ByteFaults {
    /// Sorted by time, stable for equal times (file order, starts first).
    changes: Vec<Change>,
    next: usize,
    middlebox: Rc<Middlebox>,
}

impl ByteFaults {
    pub fn new(faults: &[Fault], middlebox: Rc<Middlebox>) -> Self {
        let mut changes = Vec::new();
        for f in faults.iter().filter(|f| f.kind.is_byte_level()) {
            changes.push(Change {
                at: f.at,
                fault: f.clone(),
                on: true,
            });
            if let Some(length) = f.duration {
                changes.push(Change {
                    at: f.at.saturating_add(length),
                    fault: f.clone(),
                    on: false,
                });
            }
        }
        changes.sort_by_key(|c| c.at);
        ByteFaults {
            changes,
            next: 0,
            middlebox,
        }
    }

    /// When the next change is due.
    pub fn next_due(&self) -> Option<Duration> {
        self.changes.get(self.next).map(|c| c.at)
    }

    /// The byte-level faults that were due to start but never did (the run
    /// ended first): `(kind, when)`.
    pub fn unreached(&self) -> Vec<(String, Duration)> {
        self.changes[self.next..]
            .iter()
            .filter(|c| c.on)
            .map(|c| {
                let [a, b] = c.fault.between.clone().unwrap_or_default();
                (format!("{} on {a}-{b}", c.fault.kind.as_str()), c.at)
            })
            .collect()
    }

    /// Apply every change due at `now`; the trace events they make.
    pub fn apply_due(&mut self, now: Duration) -> Vec<FaultEvent> {
        let mut events = Vec::new();
        while let Some(c) = self.changes.get(self.next)
            && c.at <= now
        {
            self.next += 1;
            events.push(apply(&self.middlebox, &c.fault, c.on));
        }
        events
    }
}

/// Switch `fault` on or off in the middlebox; its trace event.
fn apply(middlebox: &Middlebox, fault: &Fault, on: bool) -> FaultEvent {
    let [a, b] = fault
        .between
        .clone()
        .expect("validated: byte-level faults have `between`");
    if fault.kind == FaultKind::Reset {
        let connections = middlebox.reset_all();
        return FaultEvent::Reset { a, b, connections };
    }
    // Towards the gateway when the link's first host is the client side.
    let upward = a == "clients" || b == "gateway";
    middlebox.set(|f: &mut Faults| match fault.kind {
        FaultKind::Slice => f.slice = on.then(|| fault.bytes.unwrap_or(1) as usize),
        FaultKind::Bandwidth => f.rate = fault.rate.filter(|_| on),
        FaultKind::SlowClose => f.slow_close = fault.delay.filter(|_| on),
        FaultKind::Latency if upward => f.latency_up = fault.delay.filter(|_| on),
        FaultKind::Latency => f.latency_down = fault.delay.filter(|_| on),
        _ => {}
    });
    let detail = match fault.kind {
        FaultKind::Slice => format!("bytes={}", fault.bytes.unwrap_or(1)),
        FaultKind::Bandwidth => format!("rate={}", format_rate(fault.rate.unwrap_or(0))),
        _ => format!("delay={}", format_duration(fault.delay.unwrap_or_default())),
    };
    FaultEvent::Bytes {
        kind: fault.kind.as_str(),
        a,
        b,
        detail,
        on,
    }
}
