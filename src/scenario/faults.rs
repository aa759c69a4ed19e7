//! `[[faults]]`: scheduled partitions, holds, crashes and restarts.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: the one place
//! in the simulation that applies faults reads this list; the rules for which
//! keys each kind needs are checked in `validate`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use crate::vocab::named_enum;

/// Host names a fault may name. `clients` means every client host at once:
/// users are spread over several, and a scenario should not depend on how many.
pub const HOSTS: [&str; 4] = ["lb", "gateway", "auth", "clients"];

/// One `[[faults]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What the fault does.
    pub kind: FaultKind,
    /// The two hosts of a `partition`, `lossy_partition` or `hold`; `None`
    /// for `crash`/`restart`/`drain`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub between: Option<[String; 2]>,
    /// The host of a `crash`, `restart` or `drain`; `None` for link faults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Simulated time the fault starts; before the scenario's `duration`.
    #[serde(with = "duration::string")]
    pub at: Duration,
    /// TOML key `for`: how long the fault lasts (a crashed host comes back
    /// after it). Required except for `restart`, where `None` means an
    /// instant restart (0s).
    #[serde(
        rename = "for",
        default,
        with = "duration::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub duration: Option<Duration>,
    /// `slice`: the largest piece, in bytes, `lb` forwards at a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u32>,
    /// `bandwidth`: bytes a second, written `"8KiB/s"`.
    #[serde(
        default,
        with = "super::rate::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub rate: Option<u64>,
    /// `slow_close`: how long a FIN is held back; `latency`: how much later
    /// bytes arrive.
    #[serde(
        default,
        with = "duration::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub delay: Option<Duration>,
    /// `skew`: how far the host's clock is off, in milliseconds (written
    /// `"-90s"`: negative is behind).
    #[serde(
        default,
        with = "duration::signed",
        skip_serializing_if = "Option::is_none"
    )]
    pub by: Option<i64>,
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
        matches!(
            self,
            FaultKind::Partition | FaultKind::LossyPartition | FaultKind::Hold
        ) || self.is_byte_level()
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
