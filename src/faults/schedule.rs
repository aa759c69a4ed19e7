//! Scenario faults -> start and end actions, worked out once: host names
//! expanded (`clients` is every client host), a restart drained or crashed
//! by what the host can do ([`Host::drains`]), each action at its time and
//! tagged with the fault it belongs to.
//!
//! Part of `Scenario -> faults::schedule -> faults::sim (turmoil) or
//! faults::live (the wall clock)`: both appliers read this schedule and
//! nothing else of the scenario's faults.

use std::time::Duration;

use crate::scenario::{Fault, FaultKind, Host, Scenario};

/// A fault's place in the scenario's `[[faults]]`: the id its start and
/// end carry into the trace.
pub use crate::trace::FaultId;

/// One thing done to the network or a host at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// TCP-faithful: segments are kept and retransmitted after the repair.
    Partition(Vec<String>, Vec<String>),
    /// turmoil's own partition: packets are dropped for good.
    LossyPartition(Vec<String>, Vec<String>),
    Repair(Vec<String>, Vec<String>),
    Hold(Vec<String>, Vec<String>),
    Release(Vec<String>, Vec<String>),
    Crash(String),
    /// A host that drains (the gateway) closes every connection with this
    /// code and stops; the boot ends by itself.
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
    pub fn start_name(&self) -> Option<String> {
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

/// Something due at `at`, for fault `fault`.
#[derive(Debug, Clone, PartialEq)]
pub struct Step<A> {
    pub at: Duration,
    pub fault: FaultId,
    pub what: A,
}

impl<A> Step<A> {
    fn new(at: Duration, fault: FaultId, what: A) -> Self {
        Step { at, fault, what }
    }
}

/// What a byte-level fault does to the bytes `lb` splices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bytes {
    /// Reset every spliced connection (at once; never switched off).
    Reset,
    /// Forward in pieces of at most this many bytes.
    Slice(u32),
    /// Forward at this many bytes a second.
    Bandwidth(u64),
    /// Pass each FIN on this late.
    SlowClose(Duration),
    /// Deliver bytes from `between[0]` towards `between[1]` this late.
    Latency(Duration),
}

impl Bytes {
    /// The scenario's name for it.
    pub fn name(self) -> &'static str {
        let kind = match self {
            Bytes::Reset => FaultKind::Reset,
            Bytes::Slice(_) => FaultKind::Slice,
            Bytes::Bandwidth(_) => FaultKind::Bandwidth,
            Bytes::SlowClose(_) => FaultKind::SlowClose,
            Bytes::Latency(_) => FaultKind::Latency,
        };
        kind.as_str()
    }
}

/// A byte-level fault switched on or off in `lb`'s middlebox
/// (`faults::bytes`), on the link `between` as the scenario names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteChange {
    pub between: [Host; 2],
    pub bytes: Bytes,
    pub on: bool,
}

/// What a fault becomes: actions at its start and end, or a byte-level
/// change switched on (and off after `lasts`, unless it is an instant).
enum Plan {
    Network(Action, Action),
    Bytes([Host; 2], Bytes),
}

/// Every fault's actions, each list sorted by time and stable for equal
/// times (file order, a fault's start before its end).
#[derive(Debug, Clone, Default)]
pub struct FaultSchedule {
    /// What turmoil, the hosts and their clocks are told to do.
    pub network: Vec<Step<Action>>,
    /// What `lb`'s middlebox is told to do.
    pub bytes: Vec<Step<ByteChange>>,
}

impl FaultSchedule {
    /// The schedule of `scenario`'s faults, with `clients` standing for
    /// `client_hosts`.
    pub fn of(scenario: &Scenario, client_hosts: &[String]) -> FaultSchedule {
        let mut schedule = FaultSchedule::default();
        for (i, fault) in scenario.faults.iter().enumerate() {
            let id = FaultId(i);
            match plan(fault, client_hosts) {
                Plan::Network(start, stop) => {
                    schedule.network.push(Step::new(fault.at(), id, start));
                    schedule.network.push(Step::new(fault.end(), id, stop));
                }
                Plan::Bytes(between, bytes) => {
                    let change = |on| ByteChange { between, bytes, on };
                    schedule.bytes.push(Step::new(fault.at(), id, change(true)));
                    if fault.lasts().is_some() {
                        schedule
                            .bytes
                            .push(Step::new(fault.end(), id, change(false)));
                    }
                }
            }
        }
        schedule.network.sort_by_key(|s| s.at);
        schedule.bytes.sort_by_key(|s| s.at);
        schedule
    }
}

/// `clients` names every client host; any other name, itself.
fn expand(host: Host, client_hosts: &[String]) -> Vec<String> {
    match host {
        Host::Clients => client_hosts.to_vec(),
        other => vec![other.to_string()],
    }
}

/// A fault's start and end actions, or for a byte-level fault the change
/// `lb`'s middlebox applies instead.
fn plan(fault: &Fault, client_hosts: &[String]) -> Plan {
    let sides = |[a, b]: [Host; 2]| (expand(a, client_hosts), expand(b, client_hosts));
    let (start, stop) = match *fault {
        Fault::Partition { between, .. } => {
            let (a, b) = sides(between);
            (
                Action::Partition(a.clone(), b.clone()),
                Action::Repair(a, b),
            )
        }
        Fault::LossyPartition { between, .. } => {
            let (a, b) = sides(between);
            (
                Action::LossyPartition(a.clone(), b.clone()),
                Action::Repair(a, b),
            )
        }
        Fault::Hold { between, .. } => {
            let (a, b) = sides(between);
            (Action::Hold(a.clone(), b.clone()), Action::Release(a, b))
        }
        Fault::Crash { host, .. } => stop_and_boot(host, None),
        Fault::Drain { .. } => stop_and_boot(Host::Gateway, Some(1001)),
        // Only a host with connections of its own drains; the others
        // restart the hard way.
        Fault::Restart { host, .. } => stop_and_boot(host, host.drains().then_some(1012)),
        Fault::Skew { host, by_ms, .. } => {
            let skew = |by_ms| Action::Skew {
                written: host.to_string(),
                hosts: expand(host, client_hosts),
                by_ms,
            };
            (skew(by_ms), skew(0))
        }
        Fault::Reset { between, .. } => return Plan::Bytes(between, Bytes::Reset),
        Fault::Slice { between, bytes, .. } => return Plan::Bytes(between, Bytes::Slice(bytes)),
        Fault::Bandwidth {
            between,
            bytes_per_sec,
            ..
        } => return Plan::Bytes(between, Bytes::Bandwidth(bytes_per_sec)),
        Fault::SlowClose { between, delay, .. } => {
            return Plan::Bytes(between, Bytes::SlowClose(delay));
        }
        Fault::Latency { between, delay, .. } => {
            return Plan::Bytes(between, Bytes::Latency(delay));
        }
    };
    Plan::Network(start, stop)
}

/// A host stopped (drained with `code`, or crashed) and booted again.
fn stop_and_boot(host: Host, drain: Option<u16>) -> (Action, Action) {
    let name = host.to_string();
    let stop = match drain {
        Some(code) => Action::Drain(name.clone(), code),
        None => Action::Crash(name.clone()),
    };
    (stop, Action::Bounce(name))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn schedule(faults: &str) -> FaultSchedule {
        let text = format!("name = \"s\"\nduration = \"60s\"\n{faults}");
        let scenario = crate::scenario::parse(&text, Path::new("s.toml")).expect("valid");
        FaultSchedule::of(&scenario, &["clients-1".into(), "clients-2".into()])
    }

    fn fault(kind: &str, target: &str, at: &str, lasts: &str) -> String {
        format!("[[faults]]\nkind = \"{kind}\"\n{target}\nat = \"{at}\"\n{lasts}\n")
    }

    fn s(secs: u64) -> Duration {
        Duration::from_secs(secs)
    }

    /// A restart drains the one host that can (the gateway, with 1012) and
    /// crashes any other; a drain is 1001; each ends with a boot.
    #[test]
    fn a_restart_drains_only_a_host_that_drains() {
        let faults = [
            fault("restart", "host = \"gateway\"", "1s", "for = \"2s\""),
            fault("restart", "host = \"auth\"", "5s", ""),
            fault("drain", "host = \"gateway\"", "9s", "for = \"1s\""),
        ];
        let steps: Vec<(Duration, usize, Action)> = schedule(&faults.concat())
            .network
            .into_iter()
            .map(|st| (st.at, st.fault.0, st.what))
            .collect();
        let (gw, auth) = (|| "gateway".to_string(), || "auth".to_string());
        assert_eq!(
            steps,
            [
                (s(1), 0, Action::Drain(gw(), 1012)),
                (s(3), 0, Action::Bounce(gw())),
                (s(5), 1, Action::Crash(auth())),
                (s(5), 1, Action::Bounce(auth())),
                (s(9), 2, Action::Drain(gw(), 1001)),
                (s(10), 2, Action::Bounce(gw())),
            ]
        );
    }

    /// `clients` is every client host; steps are in time order, in file
    /// order for equal times (the hold, first in the file, starts before
    /// the partition's repair), each carrying its fault's id.
    #[test]
    fn clients_expand_and_steps_keep_their_fault_ids() {
        let faults = [
            fault(
                "hold",
                "between = [\"lb\", \"clients\"]",
                "4s",
                "for = \"1s\"",
            ),
            fault(
                "partition",
                "between = [\"clients\", \"lb\"]",
                "2s",
                "for = \"2s\"",
            ),
        ];
        let steps = schedule(&faults.concat()).network;
        let clients = vec!["clients-1".to_string(), "clients-2".to_string()];
        let lb = vec!["lb".to_string()];
        let seen: Vec<(Duration, usize)> = steps.iter().map(|st| (st.at, st.fault.0)).collect();
        assert_eq!(seen, [(s(2), 1), (s(4), 0), (s(4), 1), (s(5), 0)]);
        assert_eq!(
            steps[0].what,
            Action::Partition(clients.clone(), lb.clone())
        );
        assert_eq!(steps[1].what, Action::Hold(lb.clone(), clients.clone()));
        assert_eq!(steps[2].what, Action::Repair(clients, lb));
    }

    /// Byte-level faults go to the middlebox: on at `at`, off at the end,
    /// and a reset, an instant, never switched off.
    #[test]
    fn byte_faults_are_middlebox_changes() {
        let faults = [
            fault(
                "slice",
                "between = [\"clients\", \"lb\"]\nbytes = 3",
                "1s",
                "for = \"2s\"",
            ),
            fault("reset", "between = [\"lb\", \"gateway\"]", "2s", ""),
        ];
        let sched = schedule(&faults.concat());
        assert!(sched.network.is_empty());
        let changes: Vec<(Duration, usize, Bytes, bool)> = sched
            .bytes
            .iter()
            .map(|st| (st.at, st.fault.0, st.what.bytes, st.what.on))
            .collect();
        assert_eq!(
            changes,
            [
                (s(1), 0, Bytes::Slice(3), true),
                (s(2), 1, Bytes::Reset, true),
                (s(3), 0, Bytes::Slice(3), false),
            ]
        );
    }
}
