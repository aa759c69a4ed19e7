//! The one place faults are applied. Nothing else calls turmoil's
//! `partition_tcp`, `partition`, `hold`, `crash` or `bounce`.
//!
//! Each `[[faults]]` entry becomes a start action and an end action at fixed
//! simulated times; the driver applies the actions due before each tick and
//! records each in the trace.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::net::GATEWAY;
use crate::net::HostClock;
use crate::scenario::{Fault, FaultKind, Scenario};
use crate::services::gateway::Control;
use crate::services::middlebox::Middlebox;

use super::byte_faults::ByteFaults;
use crate::trace::{FaultEvent, Kind, Recorder};

#[derive(Debug, Clone)]
enum Action {
    /// TCP-faithful: segments are kept and retransmitted after the repair.
    Partition(Vec<String>, Vec<String>),
    /// turmoil's own partition: packets are dropped for good.
    LossyPartition(Vec<String>, Vec<String>),
    Repair(Vec<String>, Vec<String>),
    Hold(Vec<String>, Vec<String>),
    Release(Vec<String>, Vec<String>),
    Crash(String),
    /// Graceful restart of the gateway: close every connection with this
    /// code and stop; the boot ends by itself.
    Drain(String, u16),
    /// Start the host's software again, as soon as its previous boot ended.
    Bounce(String),
    /// Set the clocks of `hosts` off by `by_ms` (0: right again); `written`
    /// is the host as the scenario names it.
    Skew {
        written: String,
        hosts: Vec<String>,
        by_ms: i64,
    },
}

impl Action {
    /// What a fault-starting action is, for a fault that never started;
    /// `None` for an action that ends one.
    fn start_name(&self) -> Option<String> {
        match self {
            Action::Partition(a, b) => Some(format!("partition {}-{}", a.join(","), b.join(","))),
            Action::LossyPartition(a, b) => {
                Some(format!("lossy_partition {}-{}", a.join(","), b.join(",")))
            }
            Action::Hold(a, b) => Some(format!("hold {}-{}", a.join(","), b.join(","))),
            Action::Crash(h) => Some(format!("crash {h}")),
            Action::Drain(h, 1001) => Some(format!("drain {h}")),
            Action::Drain(h, _) => Some(format!("restart {h}")),
            Action::Skew { written, by_ms, .. } if *by_ms != 0 => Some(format!("skew {written}")),
            Action::Repair(..) | Action::Release(..) | Action::Bounce(_) | Action::Skew { .. } => {
                None
            }
        }
    }
}

/// A skew's start and end: the clocks set off by `by_ms`, then right.
fn skew_window(
    written: String,
    hosts: Vec<String>,
    by_ms: i64,
    at: Duration,
    end: Duration,
) -> [Scheduled; 2] {
    let action = |by_ms| Action::Skew {
        written: written.clone(),
        hosts: hosts.clone(),
        by_ms,
    };
    [
        Scheduled {
            at,
            action: action(by_ms),
        },
        Scheduled {
            at: end,
            action: action(0),
        },
    ]
}

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

struct Scheduled {
    at: Duration,
    action: Action,
}

pub struct Driver {
    /// Sorted by time, stable for equal times (file order).
    schedule: Vec<Scheduled>,
    next: usize,
    /// Bounces waiting for a draining host to stop.
    waiting: Vec<String>,
    control: Rc<Control>,
    clocks: Clocks,
    /// `[auth] leeway`, for the trace's skew events.
    leeway: Duration,
    /// The faults `lb` applies to the bytes it splices.
    bytes: ByteFaults,
    recorder: Recorder,
    host: Rc<str>,
}

/// The start and end actions of a fault between hosts `a` and `b`.
fn link_actions(kind: FaultKind, a: Vec<String>, b: Vec<String>) -> (Action, Action) {
    match kind {
        FaultKind::Partition => (
            Action::Partition(a.clone(), b.clone()),
            Action::Repair(a, b),
        ),
        FaultKind::LossyPartition => (
            Action::LossyPartition(a.clone(), b.clone()),
            Action::Repair(a, b),
        ),
        _ => (Action::Hold(a.clone(), b.clone()), Action::Release(a, b)),
    }
}

/// `clients` names every client host; any other name, itself.
fn expand(name: &str, client_hosts: &[String]) -> Vec<String> {
    if name == "clients" {
        client_hosts.to_vec()
    } else {
        vec![name.to_string()]
    }
}

/// A fault's start and end actions for the driver. Byte-level faults have
/// none: `lb` applies them (`ByteFaults`).
fn scheduled(f: &Fault, client_hosts: &[String]) -> Vec<Scheduled> {
    let end = f.at.saturating_add(f.duration.unwrap_or_default());
    let window = |start: Action, stop: Action| {
        vec![
            Scheduled {
                at: f.at,
                action: start,
            },
            Scheduled {
                at: end,
                action: stop,
            },
        ]
    };
    let host = || {
        f.host
            .clone()
            .expect("validated: a fault on a host has `host`")
    };
    match f.kind {
        FaultKind::Partition | FaultKind::LossyPartition | FaultKind::Hold => {
            let [a, b] = f
                .between
                .clone()
                .expect("validated: link faults have `between`");
            let (start, stop) =
                link_actions(f.kind, expand(&a, client_hosts), expand(&b, client_hosts));
            window(start, stop)
        }
        FaultKind::Crash => window(Action::Crash(host()), Action::Bounce(host())),
        FaultKind::Drain => window(Action::Drain(host(), 1001), Action::Bounce(host())),
        FaultKind::Restart => {
            // Only the gateway has connections to drain; other hosts
            // restart the hard way.
            let h = host();
            let start = if h == GATEWAY {
                Action::Drain(h.clone(), 1012)
            } else {
                Action::Crash(h.clone())
            };
            window(start, Action::Bounce(h))
        }
        FaultKind::Skew => {
            let written = host();
            let hosts = expand(&written, client_hosts);
            let by_ms = f.by.expect("validated: skew has `by`");
            skew_window(written, hosts, by_ms, f.at, end)
                .into_iter()
                .collect()
        }
        FaultKind::Reset
        | FaultKind::Slice
        | FaultKind::Bandwidth
        | FaultKind::SlowClose
        | FaultKind::Latency => Vec::new(),
    }
}

impl Driver {
    pub fn new(
        scenario: &Scenario,
        client_hosts: &[String],
        handles: Handles,
        recorder: Recorder,
    ) -> Self {
        let mut schedule: Vec<Scheduled> = scenario
            .faults
            .iter()
            .flat_map(|f| scheduled(f, client_hosts))
            .collect();
        schedule.sort_by_key(|s| s.at);
        Self {
            schedule,
            next: 0,
            waiting: Vec::new(),
            control: handles.control,
            clocks: handles.clocks,
            leeway: scenario.auth.leeway,
            bytes: ByteFaults::new(&scenario.faults, handles.middlebox),
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
        let network = self.schedule.get(self.next).map(|s| s.at);
        match (network, self.bytes.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Apply every action due at the simulation's current time.
    pub fn apply_due(&mut self, sim: &mut turmoil::Sim<'_>) {
        let now = sim.elapsed();
        while let Some(s) = self.schedule.get(self.next)
            && s.at <= now
        {
            let action = s.action.clone();
            self.next += 1;
            self.apply(sim, now, action);
        }
        for event in self.bytes.apply_due(now) {
            self.record(now, event);
        }
        let mut still = Vec::new();
        for h in std::mem::take(&mut self.waiting) {
            if sim.is_host_running(h.as_str()) {
                still.push(h);
            } else {
                sim.bounce(h.as_str());
                self.record(now, FaultEvent::Restarted { host: h });
            }
        }
        self.waiting = still;
    }

    /// The run ended before the heal because every user had finished:
    /// record each fault that was still due to start, which hit nothing.
    pub fn record_unreached(&self, now: Duration) {
        let mut unreached: Vec<(String, Duration)> = self.schedule[self.next..]
            .iter()
            .filter_map(|s| s.action.start_name().map(|what| (what, s.at)))
            .collect();
        unreached.extend(self.bytes.unreached());
        unreached.sort_by_key(|(_, due)| *due);
        for (what, due) in unreached {
            self.record(now, FaultEvent::NotReached { what, due });
        }
    }

    /// The heal: record it, then apply every action still scheduled (only
    /// ends remain, since every fault starts before `duration`) and end
    /// every byte-level fault, now.
    pub fn heal(&mut self, sim: &mut turmoil::Sim<'_>, converge_within: Duration) {
        let now = sim.elapsed();
        self.record(now, FaultEvent::Heal { converge_within });
        while let Some(s) = self.schedule.get(self.next) {
            let action = s.action.clone();
            self.next += 1;
            self.apply(sim, now, action);
        }
        for event in self.bytes.apply_due(Duration::MAX) {
            self.record(now, event);
        }
    }

    fn apply(&mut self, sim: &mut turmoil::Sim<'_>, now: Duration, action: Action) {
        let pairs = |a: &[String], b: &[String], f: &mut dyn FnMut(&str, &str)| {
            for x in a {
                for y in b {
                    f(x, y);
                }
            }
        };
        match action {
            Action::Partition(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.partition_tcp(x, y));
                self.record(now, FaultEvent::Partition { a, b });
            }
            Action::LossyPartition(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.partition(x, y));
                self.record(now, FaultEvent::LossyPartition { a, b });
            }
            Action::Repair(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.repair(x, y));
                self.record(now, FaultEvent::Repair { a, b });
            }
            Action::Hold(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.hold(x, y));
                self.record(now, FaultEvent::Hold { a, b });
            }
            Action::Release(a, b) => {
                pairs(&a, &b, &mut |x, y| sim.release(x, y));
                self.record(now, FaultEvent::Release { a, b });
            }
            Action::Crash(h) => {
                sim.crash(h.as_str());
                self.record(now, FaultEvent::Crash { host: h });
            }
            Action::Drain(host, code) => {
                self.control.request_drain(code);
                self.record(now, FaultEvent::Drain { host, code });
            }
            Action::Bounce(h) => self.waiting.push(h),
            Action::Skew {
                written,
                hosts,
                by_ms,
            } => {
                for h in &hosts {
                    if let Some(clock) = self.clocks.get(h) {
                        clock.set_skew_ms(by_ms);
                    }
                }
                let leeway_ms = self.leeway.as_millis() as u64;
                let event = FaultEvent::Skew {
                    host: written,
                    by_ms,
                    beyond_leeway: by_ms.unsigned_abs() > leeway_ms,
                };
                self.record(now, event);
            }
        }
    }
}
