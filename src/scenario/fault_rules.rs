//! One `[[faults]]` table, converted: the file's keys (`FaultEntry`) into a
//! typed [`Fault`], or the first rule it breaks. Which keys each kind takes
//! (a link fault is `between` two hosts, the others are on one `host`), the
//! byte-level faults' and the skew's own keys (`byte_faults`), and the
//! window (`for`, `at` before the scenario ends), checked in that order.
//!
//! Part of scenario file -> validated `Scenario`: called by `validate` for
//! each fault, with the fault's key path for the error's location.

use std::time::Duration;

use super::byte_faults;
use super::duration::format_duration;
use super::fault_entry::FaultEntry;
use super::faults::{Fault, FaultKind, HOSTS, Host, Shape, Target, host_fault, link_fault, shape};
use super::locate::{KeyPath, Part};
use super::validate::{Problem, problem};
use crate::vocab::quoted_list;

/// The typed fault of one `[[faults]]` table. A partition or hold is
/// between two hosts for a window; a crash is on one host and lasts `for`;
/// a restart is on one host and `for` (how long it takes) may be left out.
pub(super) fn convert(
    entry: &FaultEntry,
    scenario_duration: Duration,
    path: KeyPath,
) -> Result<Fault, Problem> {
    match shape(entry.kind) {
        Shape::Link(kind) => {
            let between = check_link(entry, &path)?;
            let setting = byte_faults::check(entry, &path)?;
            let lasts = check_window(entry, scenario_duration, &path)?;
            Ok(link_fault(kind, between, entry.at, lasts, setting))
        }
        Shape::OnHost(kind) => {
            let host = check_on_host(entry, &path)?;
            let setting = byte_faults::check(entry, &path)?;
            let lasts = check_window(entry, scenario_duration, &path)?;
            Ok(host_fault(kind, host, entry.at, lasts, setting))
        }
    }
}

/// A link fault names two different known hosts in `between`, and no `host`.
fn check_link(fault: &FaultEntry, path: &KeyPath) -> Result<[Host; 2], Problem> {
    let kind = fault.kind;
    let Some(between) = &fault.between else {
        return Err(problem(
            path.clone().key("between"),
            Part::Value,
            format!(
                "a {kind} fault needs `between`; expected two hosts, like `between = [\"gateway\", \"auth\"]`"
            ),
            "`between` missing here",
        ));
    };
    if fault.host.is_some() {
        return Err(problem(
            path.clone().key("host"),
            Part::Key,
            format!(
                "a {kind} fault takes `between`, not `host`; expected `host` only on crash and restart faults"
            ),
            "not allowed here",
        ));
    }
    let a = known_host(&between[0], path.clone().key("between").index(0))?;
    let b = known_host(&between[1], path.clone().key("between").index(1))?;
    if a == b {
        return Err(problem(
            path.clone().key("between"),
            Part::Value,
            format!(
                "a {kind} fault is between \"{}\" and itself; expected two different hosts",
                between[0]
            ),
            "two different hosts expected",
        ));
    }
    Ok([a, b])
}

/// A fault on one host names a known one in `host`, and no `between`;
/// only the gateway drains, and only a skew may target the clients.
fn check_on_host(fault: &FaultEntry, path: &KeyPath) -> Result<Host, Problem> {
    let kind = fault.kind;
    let Some(name) = &fault.host else {
        return Err(problem(
            path.clone().key("host"),
            Part::Value,
            format!(
                "a {kind} fault needs `host`; expected one of {}, like `host = \"gateway\"`",
                quoted_list(&HOSTS)
            ),
            "`host` missing here",
        ));
    };
    if fault.between.is_some() {
        return Err(problem(
            path.clone().key("between"),
            Part::Key,
            format!(
                "a {kind} fault takes `host`, not `between`; expected `between` only on partition, lossy_partition and hold faults"
            ),
            "not allowed here",
        ));
    }
    let host = known_host(name, path.clone().key("host"))?;
    if kind == FaultKind::Drain && host != Host::Gateway {
        return Err(problem(
            path.clone().key("host"),
            Part::Value,
            format!(
                "a drain fault drains the gateway; expected `host = \"gateway\"`, not \"{name}\""
            ),
            "only the gateway drains",
        ));
    }
    // The client hosts are the users' browsers: turmoil cannot crash or
    // restart them, and a crashed browser is not a server fault.
    if host == Host::Clients && kind != FaultKind::Skew {
        return Err(problem(
            path.clone().key("host"),
            Part::Value,
            format!(
                "a {kind} fault cannot target \"clients\"; expected one of \"lb\", \"gateway\" or \"auth\""
            ),
            "not a server host",
        ));
    }
    Ok(host)
}

/// `for` where the kind needs it (never 0s), and a start before the end.
/// How long the fault lasts: `for`, or 0s where it may be left out.
fn check_window(
    fault: &FaultEntry,
    scenario_duration: Duration,
    path: &KeyPath,
) -> Result<Duration, Problem> {
    let kind = fault.kind;
    let needs_for = !matches!(kind, FaultKind::Restart | FaultKind::Reset);
    match fault.duration {
        None if needs_for => {
            return Err(problem(
                path.clone().key("for"),
                Part::Value,
                format!(
                    "a {kind} fault needs `for`, how long it lasts; expected a duration like `for = \"4s\"`"
                ),
                "`for` missing here",
            ));
        }
        Some(length) if length.is_zero() && needs_for => {
            return Err(problem(
                path.clone().key("for"),
                Part::Value,
                format!("a {kind} fault lasting 0s does nothing; expected `for` greater than 0s"),
                "must be greater than 0s",
            ));
        }
        _ => {}
    }
    if fault.at >= scenario_duration {
        return Err(problem(
            path.clone().key("at"),
            Part::Value,
            format!(
                "the fault starts at {} but the scenario ends at {}; expected `at` less than `duration`",
                format_duration(fault.at),
                format_duration(scenario_duration)
            ),
            "after the end of the scenario",
        ));
    }
    Ok(fault.duration.unwrap_or_default())
}

fn known_host(host: &str, path: KeyPath) -> Result<Host, Problem> {
    host.parse().map_err(|_| {
        problem(
            path,
            Part::Value,
            format!(
                "unknown host \"{host}\"; expected one of {}",
                quoted_list(&HOSTS)
            ),
            "unknown host",
        )
    })
}

/// The file's form of a typed fault, for `to_toml`.
impl From<&Fault> for FaultEntry {
    fn from(fault: &Fault) -> Self {
        let names = |[a, b]: [Host; 2]| Some([a.to_string(), b.to_string()]);
        let (between, host) = match fault.target() {
            Target::Link(link) => (names(link), None),
            Target::Host(host) => (None, Some(host.to_string())),
        };
        let mut entry = FaultEntry {
            kind: fault.kind(),
            between,
            host,
            at: fault.at(),
            duration: fault.lasts(),
            bytes: None,
            rate: None,
            delay: None,
            by: None,
        };
        match *fault {
            // An instant restart is written without `for`.
            Fault::Restart { takes, .. } if takes.is_zero() => entry.duration = None,
            Fault::Slice { bytes, .. } => entry.bytes = Some(bytes),
            Fault::Bandwidth { bytes_per_sec, .. } => entry.rate = Some(bytes_per_sec),
            Fault::SlowClose { delay, .. } | Fault::Latency { delay, .. } => {
                entry.delay = Some(delay)
            }
            Fault::Skew { by_ms, .. } => entry.by = Some(by_ms),
            _ => {}
        }
        entry
    }
}

impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        FaultEntry::from(self).serialize(serializer)
    }
}
