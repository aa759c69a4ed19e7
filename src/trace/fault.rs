//! What the fault driver did, as typed trace events: each start and end of
//! a scenario fault carries the fault's id, so that a report builds a
//! fault's window from the trace alone, and the words a reviewer reads.
//!
//! Data flow: `faults::sim` (or `faults::live`) records these through the
//! [`Recorder`](super::Recorder); the oracle reads the skew and the heal,
//! `run::idle_faults` and the timeline pair each start with its end by id.

use std::fmt::{self, Display, Formatter};
use std::time::Duration;

/// A fault's place in the scenario's `[[faults]]`, from 0; written `#1`
/// for the first, as stagesim numbers faults everywhere it shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FaultId(pub usize);

impl Display for FaultId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0 + 1)
    }
}

/// The fault driver applied or lifted a fault, or fixed a condition of
/// the run. Host lists are already expanded (`clients` is every client
/// host).
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEvent {
    /// `[load_balancer] strip_headers`, for the whole run.
    StripHeader {
        header: String,
    },
    /// A TCP-faithful partition started (`kind = "partition"`): segments
    /// are kept and retransmitted.
    Partition {
        fault: FaultId,
        a: Vec<String>,
        b: Vec<String>,
    },
    /// A lossy partition started (`kind = "lossy_partition"`): packets are
    /// dropped for good.
    LossyPartition {
        fault: FaultId,
        a: Vec<String>,
        b: Vec<String>,
    },
    /// Either kind of partition ended.
    Repair {
        fault: FaultId,
        a: Vec<String>,
        b: Vec<String>,
    },
    Hold {
        fault: FaultId,
        a: Vec<String>,
        b: Vec<String>,
    },
    Release {
        fault: FaultId,
        a: Vec<String>,
        b: Vec<String>,
    },
    Crash {
        fault: FaultId,
        host: String,
    },
    /// The gateway was asked to close every connection with `code` and
    /// stop: 1001 for a drain, 1012 for a restart.
    Drain {
        fault: FaultId,
        host: String,
        code: u16,
    },
    /// The host's software started again, ending a crash, drain or restart.
    Restarted {
        fault: FaultId,
        host: String,
    },
    /// `lb` started (`on`) or stopped applying a byte-level fault of `kind`
    /// (`slice`, `bandwidth`, `slow_close`, `latency`) to the bytes it
    /// splices on the link `a`-`b`; `detail` is its setting (`bytes=3`).
    Bytes {
        fault: FaultId,
        kind: &'static str,
        a: String,
        b: String,
        detail: String,
        on: bool,
    },
    /// The clock of `host` (as the scenario names it: `auth` or `clients`)
    /// is off by `by_ms` from now on (0: right again); `beyond_leeway` when
    /// that is more than auth's `[auth] leeway`, so that valid tokens may
    /// be refused honestly.
    Skew {
        fault: FaultId,
        host: String,
        by_ms: i64,
        beyond_leeway: bool,
    },
    /// The run ended (every user had finished) before this fault was due to
    /// start: `what` it was, and when it was due. It hit nothing.
    NotReached {
        fault: FaultId,
        what: String,
        due: Duration,
    },
    /// `duration` was reached: every fault still in force is lifted (their
    /// ends follow at the same time), users send no new messages, and the
    /// run goes on until every user is idle, for at most `converge_within`.
    Heal {
        converge_within: Duration,
    },
    /// `lb` reset every connection it was splicing on the link `a`-`b`.
    Reset {
        fault: FaultId,
        a: String,
        b: String,
        connections: u64,
    },
}

impl FaultEvent {
    /// The hosts the fault concerns.
    pub fn hosts(&self) -> Vec<&str> {
        match self {
            FaultEvent::StripHeader { .. } => vec!["lb"],
            FaultEvent::Heal { .. } | FaultEvent::NotReached { .. } => vec![],
            FaultEvent::Partition { a, b, .. }
            | FaultEvent::LossyPartition { a, b, .. }
            | FaultEvent::Repair { a, b, .. }
            | FaultEvent::Hold { a, b, .. }
            | FaultEvent::Release { a, b, .. } => a.iter().chain(b).map(String::as_str).collect(),
            FaultEvent::Crash { host, .. }
            | FaultEvent::Skew { host, .. }
            | FaultEvent::Drain { host, .. }
            | FaultEvent::Restarted { host, .. } => vec![host.as_str()],
            FaultEvent::Bytes { a, b, .. } | FaultEvent::Reset { a, b, .. } => {
                vec![a.as_str(), b.as_str()]
            }
        }
    }

    /// The scenario fault this event starts, ends or passes over; `None`
    /// for the heal and header stripping, which are not `[[faults]]`.
    pub fn fault(&self) -> Option<FaultId> {
        match self {
            FaultEvent::StripHeader { .. } | FaultEvent::Heal { .. } => None,
            FaultEvent::Partition { fault, .. }
            | FaultEvent::LossyPartition { fault, .. }
            | FaultEvent::Repair { fault, .. }
            | FaultEvent::Hold { fault, .. }
            | FaultEvent::Release { fault, .. }
            | FaultEvent::Crash { fault, .. }
            | FaultEvent::Drain { fault, .. }
            | FaultEvent::Restarted { fault, .. }
            | FaultEvent::Bytes { fault, .. }
            | FaultEvent::Skew { fault, .. }
            | FaultEvent::NotReached { fault, .. }
            | FaultEvent::Reset { fault, .. } => Some(*fault),
        }
    }

    /// Whether it starts its fault's window (a reset is a window of no
    /// length).
    pub fn starts(&self) -> bool {
        match self {
            FaultEvent::Partition { .. }
            | FaultEvent::LossyPartition { .. }
            | FaultEvent::Hold { .. }
            | FaultEvent::Crash { .. }
            | FaultEvent::Drain { .. }
            | FaultEvent::Reset { .. } => true,
            FaultEvent::Bytes { on, .. } => *on,
            FaultEvent::Skew { by_ms, .. } => *by_ms != 0,
            _ => false,
        }
    }

    /// Whether it ends its fault's window.
    pub fn ends(&self) -> bool {
        match self {
            FaultEvent::Repair { .. }
            | FaultEvent::Release { .. }
            | FaultEvent::Restarted { .. } => true,
            FaultEvent::Bytes { on, .. } => !*on,
            FaultEvent::Skew { by_ms, .. } => *by_ms == 0,
            _ => false,
        }
    }
}

/// `#2 partition clients-1 <-> lb`: the fault's id, then what happened.
impl Display for FaultEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(id) = self.fault() {
            write!(f, "{id} ")?;
        }
        let link = |f: &mut Formatter<'_>, verb: &str, a: &[String], b: &[String]| {
            write!(f, "{verb} {} <-> {}", a.join(","), b.join(","))
        };
        match self {
            FaultEvent::StripHeader { header } => {
                write!(f, "lb strips header {header} from every request")
            }
            FaultEvent::Partition { a, b, .. } => link(f, "partition", a, b),
            FaultEvent::LossyPartition { a, b, .. } => link(f, "lossy partition", a, b),
            FaultEvent::Repair { a, b, .. } => link(f, "repair", a, b),
            FaultEvent::Hold { a, b, .. } => link(f, "hold", a, b),
            FaultEvent::Release { a, b, .. } => link(f, "release", a, b),
            FaultEvent::Crash { host, .. } => write!(f, "crash {host}"),
            FaultEvent::NotReached { what, due, .. } => write!(
                f,
                "not reached: {what} due at {}ms (every user had finished)",
                due.as_millis()
            ),
            FaultEvent::Heal { converge_within } => write!(
                f,
                "heal: faults lifted, no new messages; converge within {}ms",
                converge_within.as_millis()
            ),
            FaultEvent::Drain { host, code, .. } => {
                let why = if *code == 1001 { "drain" } else { "restart" };
                write!(f, "{why} {host}: close connections with {code}")
            }
            FaultEvent::Restarted { host, .. } => write!(f, "{host} restarted"),
            FaultEvent::Bytes {
                kind,
                a,
                b,
                detail,
                on,
                ..
            } => {
                let when = if *on { "on" } else { "off" };
                write!(f, "{kind} {a} -> {b} {detail} {when}")
            }
            FaultEvent::Skew {
                host,
                by_ms,
                beyond_leeway,
                ..
            } => {
                let by = crate::scenario::format_signed_ms(*by_ms);
                let leeway = if *beyond_leeway {
                    ", beyond auth's leeway"
                } else {
                    ""
                };
                write!(f, "{host} clock off by {by}{leeway}")
            }
            FaultEvent::Reset {
                a, b, connections, ..
            } => {
                write!(f, "reset {a} <-> {b}: {connections} connection(s)")
            }
        }
    }
}
