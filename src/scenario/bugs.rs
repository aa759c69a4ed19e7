//! `[bugs]`: known defects of the gateway, re-introduced by name.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: the gateway
//! under test reads these switches; all are off by default, so a scenario runs
//! against the fixed gateway unless it names a bug (or the CLI's `--bug` does).

use serde::{Deserialize, Serialize};

use crate::vocab::quoted_list;

/// One switch per known defect (docs/design.md, "Known defects"). The field
/// names are the names used in scenario files and on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Bugs {
    /// Auth failures close with 1011 instead of 1008.
    pub auth_failure_closes_1011: bool,
    /// A pipeline component is absent at runtime: its first use closes 1011.
    pub missing_component_at_runtime: bool,
    /// A global orchestrator set only when initialisation ends.
    pub orchestrator_singleton: bool,
    /// An auth bypass turned on because the environment looks like staging.
    pub staging_auth_bypass: bool,
    /// The token is read only from the Authorization header.
    pub header_only_token: bool,
    /// Auth is called once; a refused connection becomes 1011.
    pub no_auth_retry: bool,
    /// An unserialisable event payload becomes 1011.
    pub serialization_failure: bool,
    /// An unknown client message type becomes 1011 instead of an `error` event.
    pub unknown_type_crash: bool,
    /// A database acquire that does not wait becomes 1011 under concurrency.
    pub pool_exhaustion_error: bool,
    /// One context shared between connections.
    pub shared_user_context: bool,
    /// A planted mistake outside the catalogue, set from code only (tests);
    /// never read from or written to a scenario file.
    #[serde(skip)]
    pub mutant: Option<crate::vocab::Mutant>,
}

/// The first column of a catalog, at compile time.
const fn names_of(catalog: &[(&'static str, &'static str); 10]) -> [&'static str; 10] {
    let mut names = [""; 10];
    let mut i = 0;
    while i < names.len() {
        names[i] = catalog[i].0;
        i += 1;
    }
    names
}

impl Bugs {
    /// Every bug with one line on its mechanism and its symptom (the component a
    /// 1011 names, or the invariant it breaks), in the order of the table in
    /// docs/design.md, "Known defects".
    /// The one place these words live: `stagesim run --help` prints them, and
    /// [`Bugs::NAMES`] is derived from the first column so the two cannot drift.
    pub const CATALOG: [(&'static str, &'static str); 10] = [
        (
            "auth_failure_closes_1011",
            "the gateway's auth error escapes to the generic handler: users with expired or forged tokens get 1011 instead of 1008 (auth handler)",
        ),
        (
            "missing_component_at_runtime",
            "an import fallback leaves the chart tool None and startup does not check it: the first run that draws a chart closes 1011 (agent pipeline)",
        ),
        (
            "orchestrator_singleton",
            "messages that arrive during the 7 s pipeline start read a global orchestrator that is still None: those users get 1011 (message router)",
        ),
        (
            "staging_auth_bypass",
            "a dev-only auth bypass turns on because the environment name contains \"staging\": expired and forged tokens are let in (auth_policy)",
        ),
        (
            "header_only_token",
            "the gateway reads the token only from Authorization, which the load balancer strips: valid users are refused with 1008 (auth_policy)",
        ),
        (
            "no_auth_retry",
            "the gateway calls auth once and a refused connection raises: users who arrive while auth starts get 1011 (auth client)",
        ),
        (
            "serialization_failure",
            "row counts keyed by (shard, partition) pairs cannot be JSON object keys: serialising tool_completed fails and closes 1011 (event serialiser)",
        ),
        (
            "unknown_type_crash",
            "the router indexes its handler table with an unchecked message type: an unknown type closes 1011, not an unknown_message_type error (message router)",
        ),
        (
            "pool_exhaustion_error",
            "tool calls take a database connection without waiting: when the pool is busy the run fails and its user gets 1011 (agent pipeline)",
        ),
        (
            "shared_user_context",
            "one user context for the whole process: a run's events go to the newest connection, so users see other users' answers (isolation)",
        ),
    ];

    /// Every bug name, in the order of docs/design.md's table ("Known defects").
    pub const NAMES: [&'static str; 10] = names_of(&Self::CATALOG);

    /// Turns the bug `name` on or off; an unknown name is an error listing the
    /// known ones (the CLI's `--bug NAME` override goes through here).
    pub fn set(&mut self, name: &str, on: bool) -> Result<(), String> {
        let switch = match name {
            "auth_failure_closes_1011" => &mut self.auth_failure_closes_1011,
            "missing_component_at_runtime" => &mut self.missing_component_at_runtime,
            "orchestrator_singleton" => &mut self.orchestrator_singleton,
            "staging_auth_bypass" => &mut self.staging_auth_bypass,
            "header_only_token" => &mut self.header_only_token,
            "no_auth_retry" => &mut self.no_auth_retry,
            "serialization_failure" => &mut self.serialization_failure,
            "unknown_type_crash" => &mut self.unknown_type_crash,
            "pool_exhaustion_error" => &mut self.pool_exhaustion_error,
            "shared_user_context" => &mut self.shared_user_context,
            _ => {
                return Err(format!(
                    "unknown bug `{name}`; expected one of {}",
                    quoted_list(&Self::NAMES)
                ));
            }
        };
        *switch = on;
        Ok(())
    }

    /// The names of the bugs that are on, in [`Bugs::NAMES`] order.
    pub fn enabled(&self) -> Vec<&'static str> {
        let switches = [
            self.auth_failure_closes_1011,
            self.missing_component_at_runtime,
            self.orchestrator_singleton,
            self.staging_auth_bypass,
            self.header_only_token,
            self.no_auth_retry,
            self.serialization_failure,
            self.unknown_type_crash,
            self.pool_exhaustion_error,
            self.shared_user_context,
        ];
        Self::NAMES
            .into_iter()
            .zip(switches)
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `set`, `enabled` and the serde field names must agree on every name.
    #[test]
    fn every_name_sets_its_own_switch() {
        for name in Bugs::NAMES {
            let mut bugs = Bugs::default();
            bugs.set(name, true).unwrap();
            assert_eq!(bugs.enabled(), vec![name]);
            let text = toml::to_string(&bugs).unwrap();
            assert!(text.contains(&format!("{name} = true")), "{text}");
            bugs.set(name, false).unwrap();
            assert_eq!(bugs, Bugs::default());
        }
    }

    /// Help text reads best when each description is one short line.
    #[test]
    fn every_description_is_one_short_line() {
        for (name, about) in Bugs::CATALOG {
            assert!(
                !about.contains('\n') && about.len() <= 150,
                "{name}: {about}"
            );
        }
    }
}
