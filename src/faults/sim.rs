//! The one place faults are applied to a simulation. Nothing else calls
//! turmoil's `partition_tcp`, `partition`, `repair`, `hold`, `release`,
//! `crash` or `bounce`, or reaches the gateway's drain control.
//!
//! `faults::schedule -> Driver`: before each tick the world asks the driver
//! to apply every action that is due, and records nothing itself; the
//! driver records each action in the trace.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::bytes::ByteFaults;
use super::schedule::{Action, FaultId, FaultSchedule, Step};
use crate::net::HostClock;
use crate::services::gateway::Control;
use crate::services::middlebox::Middlebox;
use crate::trace::{FaultEvent, Kind, Recorder};

/// Every host clock a `skew` can set, by host name.
pub type Clocks = BTreeMap<String, Rc<HostClock>>;

/// What the driver acts on besides turmoil itself.
pub struct Handles {
    /// The gateway (drains and restarts).
    pub control: Rc<Control>,
    /// `lb`'s byte-level faults.
    pub middlebox: Rc<Middlebox>,
    /// `auth` and every client host.
    pub clocks: Clocks,
}

pub struct Driver {
    /// Sorted by time, stable for equal times (file order).
    network: Vec<Step<Action>>,
    next: usize,
    /// Bounces waiting for a draining host to stop, with their fault.
    waiting: Vec<(String, FaultId)>,
    control: Rc<Control>,
    clocks: Clocks,
    /// `[auth] leeway`, for the trace's skew events.
    leeway: Duration,
    /// The faults `lb` applies to the bytes it splices.
    bytes: ByteFaults,
    recorder: Recorder,
    host: Rc<str>,
}

impl Driver {
    /// A driver for `schedule`; `leeway` is auth's (`[auth] leeway`).
    pub fn new(
        schedule: FaultSchedule,
        leeway: Duration,
        handles: Handles,
        recorder: Recorder,
    ) -> Self {
        Self {
            network: schedule.network,
            next: 0,
            waiting: Vec::new(),
            control: handles.control,
            clocks: handles.clocks,
            leeway,
            bytes: ByteFaults::new(schedule.bytes, handles.middlebox),
            recorder,
            host: Rc::from("sim"),
        }
    }

    fn record(&self, at: Duration, fault: FaultEvent) {
        self.recorder
            .record_at(at, &self.host, None, Kind::Fault(fault));
    }

    /// When the next scheduled action is due, so that the simulation never
    /// jumps past it. Bounces waiting for a draining host need no time: the
    /// host can only stop in a tick in which it runs, and the driver looks
    /// again after every tick.
    pub fn next_due(&self) -> Option<Duration> {
        let network = self.network.get(self.next).map(|s| s.at);
        match (network, self.bytes.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Apply every action due at the simulation's current time.
    pub fn apply_due(&mut self, sim: &mut turmoil::Sim<'_>) {
        let now = sim.elapsed();
        while let Some(s) = self.network.get(self.next)
            && s.at <= now
        {
            let (fault, action) = (s.fault, s.what.clone());
            self.next += 1;
            self.apply(sim, now, fault, action);
        }
        for event in self.bytes.apply_due(now) {
            self.record(now, event);
        }
        let mut still = Vec::new();
        for (host, fault) in std::mem::take(&mut self.waiting) {
            if sim.is_host_running(host.as_str()) {
                still.push((host, fault));
            } else {
                sim.bounce(host.as_str());
                self.record(now, FaultEvent::Restarted { fault, host });
            }
        }
        self.waiting = still;
    }

    /// The run ended before the heal because every user had finished:
    /// record each fault that was still due to start, which hit nothing.
    pub fn record_unreached(&self, now: Duration) {
        let mut unreached: Vec<(FaultId, String, Duration)> = self.network[self.next..]
            .iter()
            .filter_map(|s| s.what.start_name().map(|what| (s.fault, what, s.at)))
            .collect();
        unreached.extend(self.bytes.unreached());
        unreached.sort_by_key(|(_, _, due)| *due);
        for (fault, what, due) in unreached {
            self.record(now, FaultEvent::NotReached { fault, what, due });
        }
    }

    /// The heal: record it, then apply every action still scheduled (only
    /// ends remain, since every fault starts before `duration`) and end
    /// every byte-level fault, now.
    pub fn heal(&mut self, sim: &mut turmoil::Sim<'_>, converge_within: Duration) {
        let now = sim.elapsed();
        self.record(now, FaultEvent::Heal { converge_within });
        while let Some(s) = self.network.get(self.next) {
            let (fault, action) = (s.fault, s.what.clone());
            self.next += 1;
            self.apply(sim, now, fault, action);
        }
        for event in self.bytes.apply_due(Duration::MAX) {
            self.record(now, event);
        }
    }

    fn apply(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration, fault: FaultId, action: Action) {
        let pairs = |a: &[String], b: &[String], f: &mut dyn FnMut(&str, &str)| {
            for x in a {
                for y in b {
                    f(x, y);
                }
            }
        };
        let event = match action {
            Action::Partition(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.partition_tcp(x, y));
                FaultEvent::Partition { fault, a, b }
            }
            Action::LossyPartition(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.partition(x, y));
                FaultEvent::LossyPartition { fault, a, b }
            }
            Action::Repair(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.repair(x, y));
                FaultEvent::Repair { fault, a, b }
            }
            Action::Hold(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.hold(x, y));
                FaultEvent::Hold { fault, a, b }
            }
            Action::Release(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.release(x, y));
                FaultEvent::Release { fault, a, b }
            }
            Action::Crash(h) => {
                sim.crash(h.as_str());
                FaultEvent::Crash { fault, host: h }
            }
            Action::Drain(host, code) => {
                self.control.request_drain(code);
                FaultEvent::Drain { fault, host, code }
            }
            Action::Bounce(h) => return self.waiting.push((h, fault)),
            Action::Skew {
                written,
                hosts,
                by_ms,
            } => self.skew(fault, written, &hosts, by_ms),
        };
        self.record(now, event);
    }

    /// Set the clocks of `hosts` off by `by_ms`; the event that says so.
    fn skew(&self, fault: FaultId, written: String, hosts: &[String], by_ms: i64) -> FaultEvent {
        for h in hosts {
            if let Some(clock) = self.clocks.get(h) {
                clock.set_skew_ms(by_ms);
            }
        }
        let leeway_ms = self.leeway.as_millis() as u64;
        FaultEvent::Skew {
            fault,
            host: written,
            by_ms,
            beyond_leeway: by_ms.unsigned_abs() > leeway_ms,
        }
    }
}
