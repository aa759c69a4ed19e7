//! `[[faults]]`: what each scheduled fault is, typed: one variant per kind,
//! each with its own target, window and setting in its own units.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: `fault_rules`
//! converts each file entry (`fault_entry`) into a [`Fault`] once, so that
//! nothing downstream (`faults::schedule`, the envelope, shrinking) checks
//! keys again or unwraps an optional one.

use std::time::Duration;

use crate::vocab::named_enum;

/// Host names a fault may name. `clients` means every client host at once:
/// users are spread over several, and a scenario should not depend on how many.
pub const HOSTS: [&str; 4] = ["lb", "gateway", "auth", "clients"];

named_enum! {
    /// A host as a fault names it ([`HOSTS`]).
    pub enum Host as "host" {
        Lb = "lb",
        Gateway = "gateway",
        Auth = "auth",
        /// Every client host at once.
        Clients = "clients",
    }
}

impl Host {
    /// Whether the host has WebSockets of its own to close in order: the
    /// gateway alone. A restart of it drains (1012); any other host's
    /// restart is a crash and a boot.
    pub fn drains(self) -> bool {
        self == Host::Gateway
    }
}

/// A scheduled fault, as validated. Times are since the start of the run;
/// every fault starts before the scenario's `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fault {
    /// The network between the two sides is down for `lasts`, as TCP sees
    /// an outage: segments are kept and retransmitted after the repair.
    Partition {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
    },
    /// Packets between the two sides are dropped for `lasts`, for good.
    LossyPartition {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
    },
    /// Packets between the two sides are held for `lasts`, then delivered.
    Hold {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
    },
    /// A server stops with no goodbye and boots again after `lasts`.
    /// Never `clients`.
    Crash {
        host: Host,
        at: Duration,
        lasts: Duration,
    },
    /// A server shuts down in order and boots again, `takes` later at the
    /// earliest (0: as soon as it has stopped). Never `clients`.
    Restart {
        host: Host,
        at: Duration,
        takes: Duration,
    },
    /// The gateway closes every connection with 1001, stops, and is back
    /// after `lasts`.
    Drain { at: Duration, lasts: Duration },
    /// `lb` resets every connection it splices on the link, at `at`.
    Reset { between: [Host; 2], at: Duration },
    /// `lb` forwards spliced bytes in pieces of at most `bytes` (>= 1).
    Slice {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
        bytes: u32,
    },
    /// `lb` forwards spliced bytes at `bytes_per_sec`.
    Bandwidth {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
        bytes_per_sec: u64,
    },
    /// `lb` passes each side's FIN on `delay` late.
    SlowClose {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
        delay: Duration,
    },
    /// Spliced bytes from `between[0]` towards `between[1]` arrive `delay`
    /// late.
    Latency {
        between: [Host; 2],
        at: Duration,
        lasts: Duration,
        delay: Duration,
    },
    /// The clock of `host` (`auth` or `clients`) is off by `by_ms`
    /// milliseconds (negative: behind; never 0) for `lasts`.
    Skew {
        host: Host,
        at: Duration,
        lasts: Duration,
        by_ms: i64,
    },
}

/// What a fault acts on: a link between two hosts, or one host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Link([Host; 2]),
    Host(Host),
}

impl Fault {
    /// Its kind, as the file names it.
    pub fn kind(&self) -> FaultKind {
        match self {
            Fault::Partition { .. } => FaultKind::Partition,
            Fault::LossyPartition { .. } => FaultKind::LossyPartition,
            Fault::Hold { .. } => FaultKind::Hold,
            Fault::Crash { .. } => FaultKind::Crash,
            Fault::Restart { .. } => FaultKind::Restart,
            Fault::Drain { .. } => FaultKind::Drain,
            Fault::Reset { .. } => FaultKind::Reset,
            Fault::Slice { .. } => FaultKind::Slice,
            Fault::Bandwidth { .. } => FaultKind::Bandwidth,
            Fault::SlowClose { .. } => FaultKind::SlowClose,
            Fault::Latency { .. } => FaultKind::Latency,
            Fault::Skew { .. } => FaultKind::Skew,
        }
    }

    /// When it starts (a mutable place: exploration and shrinking move it).
    pub fn at_mut(&mut self) -> &mut Duration {
        match self {
            Fault::Partition { at, .. }
            | Fault::LossyPartition { at, .. }
            | Fault::Hold { at, .. }
            | Fault::Crash { at, .. }
            | Fault::Restart { at, .. }
            | Fault::Drain { at, .. }
            | Fault::Reset { at, .. }
            | Fault::Slice { at, .. }
            | Fault::Bandwidth { at, .. }
            | Fault::SlowClose { at, .. }
            | Fault::Latency { at, .. }
            | Fault::Skew { at, .. } => at,
        }
    }

    /// When it starts.
    pub fn at(&self) -> Duration {
        let mut copy = *self;
        *copy.at_mut()
    }

    /// How long it lasts (a restart: how long it takes at least), as a
    /// mutable place; `None` for a reset, which is an instant.
    pub fn lasts_mut(&mut self) -> Option<&mut Duration> {
        match self {
            Fault::Partition { lasts, .. }
            | Fault::LossyPartition { lasts, .. }
            | Fault::Hold { lasts, .. }
            | Fault::Crash { lasts, .. }
            | Fault::Restart { takes: lasts, .. }
            | Fault::Drain { lasts, .. }
            | Fault::Slice { lasts, .. }
            | Fault::Bandwidth { lasts, .. }
            | Fault::SlowClose { lasts, .. }
            | Fault::Latency { lasts, .. }
            | Fault::Skew { lasts, .. } => Some(lasts),
            Fault::Reset { .. } => None,
        }
    }

    /// How long it lasts; `None` for a reset.
    pub fn lasts(&self) -> Option<Duration> {
        let mut copy = *self;
        copy.lasts_mut().map(|d| *d)
    }

    /// When it ends: `at` plus how long it lasts.
    pub fn end(&self) -> Duration {
        self.at().saturating_add(self.lasts().unwrap_or_default())
    }

    /// What it acts on.
    pub fn target(&self) -> Target {
        match self {
            Fault::Partition { between, .. }
            | Fault::LossyPartition { between, .. }
            | Fault::Hold { between, .. }
            | Fault::Reset { between, .. }
            | Fault::Slice { between, .. }
            | Fault::Bandwidth { between, .. }
            | Fault::SlowClose { between, .. }
            | Fault::Latency { between, .. } => Target::Link(*between),
            Fault::Crash { host, .. } | Fault::Restart { host, .. } | Fault::Skew { host, .. } => {
                Target::Host(*host)
            }
            Fault::Drain { .. } => Target::Host(Host::Gateway),
        }
    }
}
named_enum! {
    /// What a fault does.
    pub enum FaultKind as "fault kind" {
        /// The network between the two hosts is down for the window, as TCP
        /// sees an outage: segments are retransmitted and arrive late, in
        /// order; only an outage longer than TCP's timeout resets a
        /// connection (turmoil's `Sim::partition_tcp`).
        Partition = "partition",
        /// Packets between the two hosts are dropped for the window and
        /// never retransmitted (turmoil's own partition): connections across
        /// it stall for good, and a connect across it is refused at once.
        LossyPartition = "lossy_partition",
        /// Packets between the two hosts are held, then delivered when it ends.
        Hold = "hold",
        /// The host stops without closing anything, and boots again after `for`.
        Crash = "crash",
        /// The host shuts down in order and boots again; `for` is how long
        /// that takes (none: at once).
        Restart = "restart",
        /// Extension: the gateway drains (closes every connection with 1001,
        /// stops accepting) and is back after `for`. Only `host = "gateway"`.
        Drain = "drain",
        /// `lb` resets every connection it splices at `at` (a RST both ways).
        Reset = "reset",
        /// `lb` forwards spliced bytes in pieces of `bytes`.
        Slice = "slice",
        /// `lb` forwards spliced bytes at `rate`.
        Bandwidth = "bandwidth",
        /// `lb` passes each side's FIN on `delay` late.
        SlowClose = "slow_close",
        /// Spliced bytes from `between[0]` towards `between[1]` arrive
        /// `delay` late.
        Latency = "latency",
        /// The host's wall clock is off by `by` (`auth` or `clients`):
        /// token checks and token minting read it.
        Skew = "skew",
    }
}

impl FaultKind {
    /// Whether the fault is between two hosts (`between`) rather than on one (`host`).
    pub fn is_link(&self) -> bool {
        matches!(shape(*self), Shape::Link(_))
    }

    /// Whether `lb` applies the fault to the bytes it splices
    /// (`services::middlebox`) rather than the network to its packets.
    pub fn is_byte_level(&self) -> bool {
        matches!(
            self,
            FaultKind::Reset
                | FaultKind::Slice
                | FaultKind::Bandwidth
                | FaultKind::SlowClose
                | FaultKind::Latency
        )
    }
}

/// How the file's keys make each kind's variant (`fault_rules::convert`
/// checks them first): between two hosts, or on one.
pub(super) enum Shape {
    Link(LinkKind),
    OnHost(HostKind),
}

pub(super) enum LinkKind {
    Partition,
    LossyPartition,
    Hold,
    Reset,
    Slice,
    Bandwidth,
    SlowClose,
    Latency,
}

pub(super) enum HostKind {
    Crash,
    Restart,
    Drain,
    Skew,
}

pub(super) fn shape(kind: FaultKind) -> Shape {
    match kind {
        FaultKind::Partition => Shape::Link(LinkKind::Partition),
        FaultKind::LossyPartition => Shape::Link(LinkKind::LossyPartition),
        FaultKind::Hold => Shape::Link(LinkKind::Hold),
        FaultKind::Reset => Shape::Link(LinkKind::Reset),
        FaultKind::Slice => Shape::Link(LinkKind::Slice),
        FaultKind::Bandwidth => Shape::Link(LinkKind::Bandwidth),
        FaultKind::SlowClose => Shape::Link(LinkKind::SlowClose),
        FaultKind::Latency => Shape::Link(LinkKind::Latency),
        FaultKind::Crash => Shape::OnHost(HostKind::Crash),
        FaultKind::Restart => Shape::OnHost(HostKind::Restart),
        FaultKind::Drain => Shape::OnHost(HostKind::Drain),
        FaultKind::Skew => Shape::OnHost(HostKind::Skew),
    }
}

/// A checked link fault; `s` holds the key its kind needs.
pub(super) fn link_fault(
    kind: LinkKind,
    between: [Host; 2],
    at: Duration,
    lasts: Duration,
    s: Setting,
) -> Fault {
    match kind {
        LinkKind::Partition => Fault::Partition { between, at, lasts },
        LinkKind::LossyPartition => Fault::LossyPartition { between, at, lasts },
        LinkKind::Hold => Fault::Hold { between, at, lasts },
        LinkKind::Reset => Fault::Reset { between, at },
        LinkKind::Slice => Fault::Slice {
            between,
            at,
            lasts,
            bytes: s.bytes,
        },
        LinkKind::Bandwidth => Fault::Bandwidth {
            between,
            at,
            lasts,
            bytes_per_sec: s.rate,
        },
        LinkKind::SlowClose => Fault::SlowClose {
            between,
            at,
            lasts,
            delay: s.delay,
        },
        LinkKind::Latency => Fault::Latency {
            between,
            at,
            lasts,
            delay: s.delay,
        },
    }
}

/// A checked fault on one host; `s` holds the key its kind needs.
pub(super) fn host_fault(
    kind: HostKind,
    host: Host,
    at: Duration,
    lasts: Duration,
    s: Setting,
) -> Fault {
    match kind {
        HostKind::Crash => Fault::Crash { host, at, lasts },
        HostKind::Restart => Fault::Restart {
            host,
            at,
            takes: lasts,
        },
        HostKind::Drain => Fault::Drain { at, lasts },
        HostKind::Skew => Fault::Skew {
            host,
            at,
            lasts,
            by_ms: s.by_ms,
        },
    }
}

/// The value of the one key a kind takes besides its target and window,
/// once `byte_faults` has checked that the kind has it; a key the kind does
/// not take is 0.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Setting {
    pub bytes: u32,
    pub rate: u64,
    pub delay: Duration,
    pub by_ms: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_the_hosts_a_fault_may_name() {
        assert_eq!(Host::NAMES, HOSTS);
    }
}
