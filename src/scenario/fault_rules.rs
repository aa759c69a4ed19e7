//! The rules of one `[[faults]]` table: which keys each kind takes (a
//! link fault is `between` two hosts, the others are on one `host`), the
//! byte-level faults' own keys (`byte_faults`), and the window (`for`,
//! `at` before the scenario ends).
//!
//! Part of scenario file -> validated `Scenario`: called by `validate` for
//! each fault, with the fault's key path for the error's location.

use std::time::Duration;

use super::duration::format_duration;
use super::faults::{Fault, FaultKind, HOSTS};
use super::locate::{KeyPath, Part};
use super::validate::{Problem, problem};
use crate::vocab::quoted_list;

/// Which keys each fault kind takes: a partition or hold is between two
/// hosts for a window; a crash is on one host and lasts `for`; a restart is
/// on one host and `for` (how long it takes) may be left out.
pub(super) fn check_fault(
    fault: &Fault,
    scenario_duration: Duration,
    path: KeyPath,
) -> Result<(), Problem> {
    if fault.kind.is_link() {
        check_link(fault, &path)?;
    } else {
        check_on_host(fault, &path)?;
    }
    super::byte_faults::check(fault, &path)?;
    check_window(fault, scenario_duration, &path)
}

/// A link fault names two different known hosts in `between`, and no `host`.
fn check_link(fault: &Fault, path: &KeyPath) -> Result<(), Problem> {
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
    for (i, host) in between.iter().enumerate() {
        known_host(host, path.clone().key("between").index(i))?;
    }
    if between[0] == between[1] {
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
    Ok(())
}

/// A fault on one host names a known one in `host`, and no `between`;
/// only the gateway drains, and only a skew may target the clients.
fn check_on_host(fault: &Fault, path: &KeyPath) -> Result<(), Problem> {
    let kind = fault.kind;
    let Some(host) = &fault.host else {
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
    known_host(host, path.clone().key("host"))?;
    if kind == FaultKind::Drain && host != "gateway" {
        return Err(problem(
            path.clone().key("host"),
            Part::Value,
            format!(
                "a drain fault drains the gateway; expected `host = \"gateway\"`, not \"{host}\""
            ),
            "only the gateway drains",
        ));
    }
    // The client hosts are the users' browsers: turmoil cannot crash or
    // restart them, and a crashed browser is not a server fault.
    if host == "clients" && kind != FaultKind::Skew {
        return Err(problem(
            path.clone().key("host"),
            Part::Value,
            format!(
                "a {kind} fault cannot target \"clients\"; expected one of \"lb\", \"gateway\" or \"auth\""
            ),
            "not a server host",
        ));
    }
    Ok(())
}

/// `for` where the kind needs it (never 0s), and a start before the end.
fn check_window(fault: &Fault, scenario_duration: Duration, path: &KeyPath) -> Result<(), Problem> {
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
    Ok(())
}

fn known_host(host: &str, path: KeyPath) -> Result<(), Problem> {
    if HOSTS.contains(&host) {
        return Ok(());
    }
    Err(problem(
        path,
        Part::Value,
        format!(
            "unknown host \"{host}\"; expected one of {}",
            quoted_list(&HOSTS)
        ),
        "unknown host",
    ))
}
