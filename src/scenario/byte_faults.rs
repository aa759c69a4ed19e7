//! The rules of the byte-level faults `lb` applies (`reset`, `slice`,
//! `bandwidth`, `slow_close`, `latency`), beyond those every link fault
//! follows: which link, and which of `bytes`, `rate`, `delay` and `for`.
//!
//! Part of scenario file -> validated `Scenario`, called from `validate`.

use super::fault_entry::FaultEntry;
use super::faults::FaultKind;
use super::faults::Setting;
use super::locate::{KeyPath, Part};
use super::validate::{Problem, problem};

/// The key each byte-level kind needs besides `between` and `at`.
fn needs(kind: FaultKind) -> Option<&'static str> {
    match kind {
        FaultKind::Slice => Some("bytes"),
        FaultKind::Bandwidth => Some("rate"),
        FaultKind::SlowClose | FaultKind::Latency => Some("delay"),
        FaultKind::Skew => Some("by"),
        _ => None,
    }
}

/// Check one fault's `bytes`, `rate`, `delay` and `by`, and for a
/// byte-level fault its link and `for`; the value of the key it needs.
pub(super) fn check(fault: &FaultEntry, path: &KeyPath) -> Result<Setting, Problem> {
    let kind = fault.kind;
    let given = [
        ("bytes", fault.bytes.is_some()),
        ("rate", fault.rate.is_some()),
        ("delay", fault.delay.is_some()),
        ("by", fault.by.is_some()),
    ];
    for (key, present) in given {
        if present && needs(kind) != Some(key) {
            return Err(problem(
                path.clone().key(key),
                Part::Key,
                format!("a {kind} fault takes no `{key}`; {}", what_takes(key)),
                "not allowed here",
            ));
        }
    }
    let setting = Setting {
        bytes: fault.bytes.unwrap_or_default(),
        rate: fault.rate.unwrap_or_default(),
        delay: fault.delay.unwrap_or_default(),
        by_ms: fault.by.unwrap_or_default(),
    };
    if kind == FaultKind::Skew {
        return check_skew(fault, path).map(|()| setting);
    }
    if !kind.is_byte_level() {
        return Ok(setting);
    }
    if let Some(key) = needs(kind)
        && !given.iter().any(|(k, present)| *k == key && *present)
    {
        return Err(problem(
            path.clone().key(key),
            Part::Value,
            format!("a {kind} fault needs `{key}`; {}", what_takes(key)),
            &format!("`{key}` missing here"),
        ));
    }
    if fault.bytes == Some(0) {
        return Err(problem(
            path.clone().key("bytes"),
            Part::Value,
            "`bytes` is 0; expected pieces of at least 1 byte".to_owned(),
            "must be at least 1",
        ));
    }
    check_link(fault, path).map(|()| setting)
}

/// A skew is on `auth` or `clients` (the hosts that read wall time), by a
/// nonzero amount.
fn check_skew(fault: &FaultEntry, path: &KeyPath) -> Result<(), Problem> {
    match fault.by {
        None => Err(problem(
            path.clone().key("by"),
            Part::Value,
            format!("a skew fault needs `by`; {}", what_takes("by")),
            "`by` missing here",
        )),
        Some(0) => Err(problem(
            path.clone().key("by"),
            Part::Value,
            "`by` is 0s: the clock would be right; expected a signed duration like \"-90s\"".into(),
            "must not be 0s",
        )),
        Some(_) => match fault.host.as_deref() {
            Some("auth" | "clients") | None => Ok(()),
            Some(other) => Err(problem(
                path.clone().key("host"),
                Part::Value,
                format!(
                    "a skew fault sets a clock that is read: `host = \"auth\"` (token checks) or `host = \"clients\"` (token minting), not \"{other}\""
                ),
                "no wall clock read here",
            )),
        },
    }
}

fn what_takes(key: &str) -> &'static str {
    match key {
        "by" => {
            "`by` is how far a skew fault sets the host's clock off, like `by = \"-90s\"` (negative: behind)"
        }
        "bytes" => "`bytes` is the piece size of a slice fault, like `bytes = 3`",
        "rate" => "`rate` is the speed of a bandwidth fault, like `rate = \"8KiB/s\"`",
        _ => {
            "`delay` is how late a slow_close fault passes a FIN on, or a latency fault delivers bytes, like `delay = \"300ms\"`"
        }
    }
}

/// A byte-level fault is on one of `lb`'s links: clients-lb or lb-gateway.
/// A reset happens at an instant and takes no `for`.
fn check_link(fault: &FaultEntry, path: &KeyPath) -> Result<(), Problem> {
    let kind = fault.kind;
    let Some([a, b]) = &fault.between else {
        return Ok(()); // `validate` reports a missing `between`.
    };
    let other = if a == "lb" { b } else { a };
    let on_lb = (a == "lb" || b == "lb") && (other == "clients" || other == "gateway");
    if !on_lb {
        return Err(problem(
            path.clone().key("between"),
            Part::Value,
            format!(
                "a {kind} fault acts on the bytes the load balancer forwards; expected `between` to be a link of \"lb\": [\"clients\", \"lb\"] or [\"lb\", \"gateway\"] (either order)"
            ),
            "not a link of lb",
        ));
    }
    if kind == FaultKind::Reset && fault.duration.is_some() {
        return Err(problem(
            path.clone().key("for"),
            Part::Key,
            "a reset fault happens at `at` and takes no `for`".to_owned(),
            "not allowed here",
        ));
    }
    Ok(())
}
