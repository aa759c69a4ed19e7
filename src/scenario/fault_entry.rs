//! One `[[faults]]` table as the file writes it: every key any kind takes,
//! each optional. Private to parsing: `fault_rules` turns it into a typed
//! [`Fault`](super::Fault) (or a located error), and `to_toml` writes a
//! `Fault` back through it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::faults::FaultKind;

/// One `[[faults]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FaultEntry {
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
