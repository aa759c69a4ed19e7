//! Rules a scenario must follow beyond its shape: the checks serde cannot do.
//!
//! Part of scenario file -> validated `Scenario`: runs on the deserialised
//! value, before anything downstream sees it, so the simulation can trust
//! every `Scenario` it is given. A broken rule is reported as a key path; the
//! caller turns that into a file position.

use std::time::Duration;

use super::duration::format_duration;
use super::expect::{Cause, Expected, Invariant};
use super::fault_entry::FaultEntry;
use super::fault_rules::convert;
use super::faults::Fault;
use super::locate::{KeyPath, Part};
use super::model::Scenario;
use super::users::{MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, UserGroup};
use crate::vocab::Component;
use crate::vocab::quoted_list;

/// A broken rule: where (a key path and which part of the entry) and why.
#[derive(Debug)]
pub(super) struct Problem {
    pub path: KeyPath,
    pub part: Part,
    /// One sentence: what is wrong and what is expected.
    pub message: String,
    /// Short text under the carets.
    pub label: String,
}

pub(super) fn problem(path: KeyPath, part: Part, message: String, label: &str) -> Problem {
    Problem {
        path,
        part,
        message,
        label: label.to_owned(),
    }
}

fn root() -> KeyPath {
    KeyPath::default()
}

/// Checks every rule, stopping at the first broken one, and converts each
/// fault to its typed form. `stem` is the file name without extension,
/// which `name` must equal.
pub(super) fn check(scenario: Scenario<FaultEntry>, stem: &str) -> Result<Scenario, Problem> {
    if scenario.name != stem {
        return Err(problem(
            root().key("name"),
            Part::Value,
            format!(
                "the scenario is named \"{}\" but its file is named \"{stem}\"; expected `name = \"{stem}\"`, matching the file stem",
                scenario.name
            ),
            "does not match the file name",
        ));
    }
    if scenario.duration.is_zero() {
        return Err(problem(
            root().key("duration"),
            Part::Value,
            "`duration` is 0s; expected a simulated time limit greater than 0s, like \"120s\""
                .to_owned(),
            "must be greater than 0s",
        ));
    }
    let tick = scenario.network.tick;
    if tick < Duration::from_millis(1)
        || tick > Duration::from_millis(100)
        || !tick.subsec_nanos().is_multiple_of(1_000_000)
    {
        return Err(problem(
            root().key("network").key("tick"),
            Part::Value,
            format!(
                "`tick` is {}; expected whole milliseconds from \"1ms\" to \"100ms\"",
                format_duration(tick)
            ),
            "between 1ms and 100ms",
        ));
    }
    if scenario.network.tcp_user_timeout == Some(Duration::ZERO) {
        return Err(problem(
            root().key("network").key("tcp_user_timeout"),
            Part::Value,
            "`tcp_user_timeout` is 0s; expected how long a TCP segment may go unacknowledged, \
             greater than 0s, like \"20s\""
                .to_owned(),
            "must be greater than 0s",
        ));
    }
    check_converge_within(scenario.expect.converge_within)?;
    check_steps(&scenario)?;
    check_headers(&scenario.load_balancer.strip_headers)?;
    at_least_one(
        scenario.gateway.max_connections,
        root().key("gateway").key("max_connections"),
    )?;
    at_least_one(scenario.agents.db_pool, root().key("agents").key("db_pool"))?;
    check_groups(&scenario.users)?;
    let faults = check_faults(&scenario)?;
    for (i, expected) in scenario.expect.violations.iter().enumerate() {
        check_expected(expected, root().key("expect").key("violations").index(i))?;
    }
    Ok(scenario.with_faults(faults))
}

/// Each `[[users]]` group, and the total over all groups.
fn check_groups(groups: &[UserGroup]) -> Result<(), Problem> {
    let mut users = 0u64;
    for (i, group) in groups.iter().enumerate() {
        let path = root().key("users").index(i);
        check_users(group, path.clone())?;
        users += u64::from(group.count);
        if users > MAX_USERS {
            return Err(problem(
                path.key("count"),
                Part::Value,
                format!(
                    "this group brings the scenario to {users} users; expected at most {MAX_USERS} in all (the most measured to run in one process, in about 3 GiB: docs/performance.md)"
                ),
                "too many users",
            ));
        }
    }
    Ok(())
}

/// How many faults there are, and each one, typed.
fn check_faults(scenario: &Scenario<FaultEntry>) -> Result<Vec<Fault>, Problem> {
    let faults = &scenario.faults;
    if faults.len() > MAX_FAULTS {
        return Err(problem(
            root().key("faults").index(MAX_FAULTS),
            Part::Value,
            format!(
                "the scenario has {} faults; expected at most {MAX_FAULTS}",
                faults.len()
            ),
            "one fault too many",
        ));
    }
    let path = |i| root().key("faults").index(i);
    faults
        .iter()
        .enumerate()
        .map(|(i, fault)| convert(fault, scenario.duration, path(i)))
        .collect()
}

/// A precise expectation names a cause of its own invariant, and a
/// component or reason only for `no_1011`, whose 1011 close has them.
fn check_expected(expected: &Expected, path: KeyPath) -> Result<(), Problem> {
    let invariant = expected.invariant;
    if let Some(cause) = expected.cause
        && cause.invariant() != invariant
    {
        let names: Vec<&str> = Cause::of(invariant).iter().map(|c| c.as_str()).collect();
        return Err(problem(
            path.key("cause"),
            Part::Value,
            format!(
                "cause \"{cause}\" breaks `{}`, not `{invariant}`; expected one of {}",
                cause.invariant(),
                quoted_list(&names)
            ),
            "not a cause of this invariant",
        ));
    }
    for (key, value) in [
        ("component", &expected.component),
        ("reason", &expected.reason),
    ] {
        if value.is_some() && invariant != Invariant::No1011 {
            return Err(problem(
                path.clone().key(key),
                Part::Key,
                format!(
                    "`{key}` narrows a `no_1011` expectation (the 1011's component or reason); `{invariant}` has none"
                ),
                "only with invariant = \"no_1011\"",
            ));
        }
    }
    if let Some(component) = &expected.component
        && Component::from_key(component).is_none()
    {
        let names: Vec<&str> = Component::ALL.iter().map(|c| c.key()).collect();
        return Err(problem(
            path.key("component"),
            Part::Value,
            format!(
                "unknown component \"{component}\"; expected one of {}",
                quoted_list(&names)
            ),
            "unknown component",
        ));
    }
    if expected.reason.as_deref() == Some("") {
        return Err(problem(
            path.key("reason"),
            Part::Value,
            "`reason` is empty; expected words the 1011's close reason contains".to_owned(),
            "empty",
        ));
    }
    Ok(())
}

/// The most users a scenario may declare, over all groups: what was
/// measured to run (`bench/users_100k.toml`, docs/performance.md).
pub const MAX_USERS: u64 = 100_000;
/// The most `[[faults]]` entries.
pub const MAX_FAULTS: usize = 1_000;
/// The most simulation steps (`duration / tick`): about 28 hours at a 1 ms
/// tick, and past what any run finishes in reasonable time.
pub const MAX_STEPS: u128 = 100_000_000;

/// A run is `duration / tick` steps of the simulation; too many is a run
/// that never finishes in practice.
fn check_steps(scenario: &Scenario<FaultEntry>) -> Result<(), Problem> {
    let steps = scenario.duration.as_millis() / scenario.network.tick.as_millis().max(1);
    if steps <= MAX_STEPS {
        return Ok(());
    }
    let tick_ms = scenario.network.tick.as_millis();
    let longest = Duration::from_millis((MAX_STEPS * tick_ms) as u64);
    Err(problem(
        root().key("duration"),
        Part::Value,
        format!(
            "`duration` is {} at a {tick_ms}ms tick, {steps} simulation steps; expected at most {MAX_STEPS} steps (at most {} at this tick; a larger `[network] tick` allows longer runs)",
            format_duration(scenario.duration),
            format_duration(longest)
        ),
        "too many steps",
    ))
}

/// The longest heal phase: a backend that needs more than an hour to
/// settle once every fault has healed is not converging.
pub const MAX_CONVERGE_WITHIN: Duration = Duration::from_secs(3600);

/// `[expect] converge_within`: some time, and at most an hour.
fn check_converge_within(within: Duration) -> Result<(), Problem> {
    if !within.is_zero() && within <= MAX_CONVERGE_WITHIN {
        return Ok(());
    }
    Err(problem(
        root().key("expect").key("converge_within"),
        Part::Value,
        format!(
            "`converge_within` is {}; expected how long the heal phase may take, from 1ms to 1h, like \"60s\"",
            format_duration(within)
        ),
        "between 1ms and 1h",
    ))
}

fn at_least_one(value: u32, path: KeyPath) -> Result<(), Problem> {
    if value >= 1 {
        return Ok(());
    }
    let key = path.last_key().unwrap_or_default().to_owned();
    Err(problem(
        path,
        Part::Value,
        format!("`{key}` is 0; expected at least 1"),
        "must be at least 1",
    ))
}

/// Header names are HTTP tokens (RFC 9110 section 5.1); anything else could
/// never match a header, so it is a typo rather than a fault.
fn check_headers(headers: &[String]) -> Result<(), Problem> {
    let is_token_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
    for (i, header) in headers.iter().enumerate() {
        if header.is_empty() || !header.chars().all(is_token_char) {
            return Err(problem(
                root().key("load_balancer").key("strip_headers").index(i),
                Part::Value,
                format!(
                    "\"{header}\" is not a header name; expected a name like \"authorization\", with no spaces or colons"
                ),
                "not a header name",
            ));
        }
    }
    Ok(())
}

fn check_users(group: &UserGroup, path: KeyPath) -> Result<(), Problem> {
    if group.count == 0 {
        return Err(problem(
            path.key("count"),
            Part::Value,
            "`count` is 0; expected at least 1 user in each [[users]] group (remove the group instead)".to_owned(),
            "must be at least 1",
        ));
    }
    for (i, via) in group.send_token_via.iter().enumerate() {
        if group.send_token_via[..i].contains(via) {
            return Err(problem(
                path.key("send_token_via").index(i),
                Part::Value,
                format!(
                    "\"{via}\" is listed twice in `send_token_via`; expected each way at most once"
                ),
                "listed twice",
            ));
        }
    }
    let life = group.token_lifetime;
    if !(MIN_TOKEN_LIFETIME..=MAX_TOKEN_LIFETIME).contains(&life) {
        return Err(problem(
            path.key("token_lifetime"),
            Part::Value,
            format!(
                "`token_lifetime` is {}; expected from {} to {} (a token must outlive the 60s refresh margin)",
                format_duration(life),
                format_duration(MIN_TOKEN_LIFETIME),
                format_duration(MAX_TOKEN_LIFETIME)
            ),
            "between 2m and 8760h",
        ));
    }
    Ok(())
}
