//! The byte-level faults (`reset`, `slice`, `bandwidth`, `slow_close`,
//! `latency`) applied to `lb`'s middlebox: a schedule's byte changes in
//! time order, and what each records in the trace.
//!
//! Part of `faults::schedule -> faults::sim / faults::live`: both ask this
//! applier what is due next, on the simulated clock or the wall clock.

use std::rc::Rc;
use std::time::Duration;

use super::schedule::{ByteChange, Bytes, FaultId, Step};
use crate::scenario::{format_duration, format_rate};
use crate::services::middlebox::{Faults, Middlebox};
use crate::trace::FaultEvent;

/// The byte changes of a schedule, applied in order.
pub struct ByteFaults {
    /// Sorted by time, stable for equal times (file order, starts first).
    changes: Vec<Step<ByteChange>>,
    next: usize,
    middlebox: Rc<Middlebox>,
}

impl ByteFaults {
    pub fn new(changes: Vec<Step<ByteChange>>, middlebox: Rc<Middlebox>) -> Self {
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
    /// ended first): `(fault, what, when)`.
    pub fn unreached(&self) -> Vec<(FaultId, String, Duration)> {
        self.changes[self.next..]
            .iter()
            .filter(|c| c.what.on)
            .map(|c| {
                let [a, b] = c.what.between;
                (c.fault, format!("{} on {a}-{b}", c.what.bytes.name()), c.at)
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
            events.push(apply(&self.middlebox, c.fault, c.what));
        }
        events
    }
}

/// Switch a fault on or off in the middlebox; its trace event.
fn apply(middlebox: &Middlebox, fault: FaultId, change: ByteChange) -> FaultEvent {
    let ByteChange { between, bytes, on } = change;
    let [a, b] = between.map(|h| h.to_string());
    // Towards the gateway when the link's first host is the client side.
    let upward = a == "clients" || b == "gateway";
    let detail = match bytes {
        Bytes::Reset => {
            let connections = middlebox.reset_all();
            return FaultEvent::Reset {
                fault,
                a,
                b,
                connections,
            };
        }
        Bytes::Slice(piece) => {
            middlebox.set(|f| f.slice = on.then_some(piece as usize));
            format!("bytes={piece}")
        }
        Bytes::Bandwidth(rate) => {
            middlebox.set(|f| f.rate = on.then_some(rate));
            format!("rate={}", format_rate(rate))
        }
        Bytes::SlowClose(delay) => {
            middlebox.set(|f| f.slow_close = on.then_some(delay));
            format!("delay={}", format_duration(delay))
        }
        Bytes::Latency(delay) => {
            middlebox.set(|f: &mut Faults| match upward {
                true => f.latency_up = on.then_some(delay),
                false => f.latency_down = on.then_some(delay),
            });
            format!("delay={}", format_duration(delay))
        }
    };
    FaultEvent::Bytes {
        fault,
        kind: bytes.name(),
        a,
        b,
        detail,
        on,
    }
}
