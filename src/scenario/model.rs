//! The `Scenario` value: one scenario file as plain data.
//!
//! The hinge of scenario file -> validated `Scenario` -> simulation: the
//! parser produces it, the simulation consumes it, and nothing else in the
//! chain sees TOML. The section types live in their own files.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::bugs::Bugs;
use super::duration;
use super::expect::Expect;
use super::faults::Fault;
use super::users::UserGroup;
use super::world::{AgentsConfig, AuthConfig, GatewayConfig, LbConfig, NetworkConfig, WorldConfig};

/// A scenario file, deserialised and validated (see `parse`). `F` is the
/// form of a fault: a typed [`Fault`] once validated (the only form
/// outside parsing); the file's `FaultEntry` while `parse` reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound(deserialize = "F: Deserialize<'de>"))]
pub struct Scenario<F = Fault> {
    /// Equals the file stem, so a name in a report leads to its file.
    pub name: String,
    /// One line shown by `stagesim list`.
    #[serde(default)]
    pub description: String,
    /// Simulated time limit of one run.
    #[serde(with = "duration::string", default = "default_duration")]
    pub duration: Duration,
    /// `[world]`: how hosts run their tasks; left out when at its default.
    #[serde(default, skip_serializing_if = "WorldConfig::is_default")]
    pub world: WorldConfig,
    /// `[network]`: link latency.
    #[serde(default)]
    pub network: NetworkConfig,
    /// `[load_balancer]`: header stripping at `lb`.
    #[serde(default)]
    pub load_balancer: LbConfig,
    /// `[auth]`: the token validation service.
    #[serde(default)]
    pub auth: AuthConfig,
    /// `[gateway]`: the WebSocket endpoint.
    #[serde(default)]
    pub gateway: GatewayConfig,
    /// `[agents]`: the agent pipeline inside the gateway.
    #[serde(default)]
    pub agents: AgentsConfig,
    /// `[[users]]`: groups of simulated users; none by default.
    #[serde(default)]
    pub users: Vec<UserGroup>,
    /// `[[faults]]`: scheduled faults, in file order; none by default.
    #[serde(default)]
    pub faults: Vec<F>,
    /// `[bugs]`: known defects re-introduced; all off by default.
    #[serde(default)]
    pub bugs: Bugs,
    /// `[expect]`: the verdict this scenario is meant to give.
    #[serde(default)]
    pub expect: Expect,
}

fn default_duration() -> Duration {
    Duration::from_secs(120)
}

impl Scenario {
    /// A scenario named `name` with every key at its default, as a file
    /// holding only `name = "..."` would give (for generated scenarios).
    pub fn with_defaults(name: impl Into<String>) -> Self {
        Scenario {
            name: name.into(),
            description: String::new(),
            duration: default_duration(),
            world: WorldConfig::default(),
            network: NetworkConfig::default(),
            load_balancer: LbConfig::default(),
            auth: AuthConfig::default(),
            gateway: GatewayConfig::default(),
            agents: AgentsConfig::default(),
            users: Vec::new(),
            faults: Vec::new(),
            bugs: Bugs::default(),
            expect: Expect::default(),
        }
    }
}

impl<F> Scenario<F> {
    /// The same scenario with `faults` in place of its own.
    pub(super) fn with_faults<G>(self, faults: Vec<G>) -> Scenario<G> {
        Scenario {
            name: self.name,
            description: self.description,
            duration: self.duration,
            world: self.world,
            network: self.network,
            load_balancer: self.load_balancer,
            auth: self.auth,
            gateway: self.gateway,
            agents: self.agents,
            users: self.users,
            faults,
            bugs: self.bugs,
            expect: self.expect,
        }
    }
}
