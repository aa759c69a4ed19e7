//! `[bugs]`: known defects of the gateway, re-introduced by name.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: the gateway
//! under test reads these switches; all are off by default, so a scenario runs
//! against the fixed gateway unless it names a bug (or the CLI's `--bug` does).

use serde::{Deserialize, Serialize};

use super::names::quoted_list;

/// One switch per known defect (DESIGN.md section 3). The field names are the
/// names used in scenario files and on the command line.
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
}

impl Bugs {
    /// Every bug name, in the order of DESIGN.md's table.
    pub const NAMES: [&'static str; 10] = [
        "auth_failure_closes_1011",
        "missing_component_at_runtime",
        "orchestrator_singleton",
        "staging_auth_bypass",
        "header_only_token",
        "no_auth_retry",
        "serialization_failure",
        "unknown_type_crash",
        "pool_exhaustion_error",
        "shared_user_context",
    ];

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
}
