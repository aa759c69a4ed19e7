//! The simulated world's knobs: network, load balancer, auth, gateway, agents.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: these tables
//! are plain data (one struct per TOML table); the simulation reads them when
//! it builds hosts. Each field is named with its unit where it has one, and
//! `Default` gives the value a file gets when it leaves the key out.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::range::Range;

/// `[world]`: how the simulation runs the hosts' software.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorldConfig {
    /// Which ready task each host polls next (docs/schedule.md).
    pub schedule: Schedule,
}

impl WorldConfig {
    /// All defaults: the table is then left out of a written scenario, so
    /// files and generated scenarios without it read as before.
    pub fn is_default(&self) -> bool {
        *self == WorldConfig::default()
    }
}

/// `[world] schedule`: the order in which a host polls its ready tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// First woken, first polled: tokio's own order, and every run before
    /// the option existed.
    #[default]
    Fifo,
    /// A ready task chosen uniformly at random from the seed, before each poll.
    Random,
    /// Probabilistic concurrency testing (Burckhardt et al. 2010) of depth
    /// [`PCT_DEPTH`], from the seed.
    Pct,
}

/// The bug depth `pct` targets: up to three ordering constraints (two
/// changes of priority). Most concurrency bugs have depth 1 or 2
/// (Burckhardt et al.); a deeper target costs shallow bugs little.
pub const PCT_DEPTH: u32 = 3;

/// The polls a host makes in a run, about, over which `pct` draws its change
/// points: the busiest host of a shipped scenario polls 700 to 2,700 times
/// on seed 1 (`many_users`, 35,000); docs/schedule.md has the measurement.
pub const PCT_POLLS: u64 = 2_000;

impl Schedule {
    /// Every schedule, in the order the docs list them.
    pub const ALL: [Schedule; 3] = [Schedule::Fifo, Schedule::Random, Schedule::Pct];

    /// The name a scenario file uses.
    pub fn name(self) -> &'static str {
        match self {
            Schedule::Fifo => "fifo",
            Schedule::Random => "random",
            Schedule::Pct => "pct",
        }
    }
}

/// `[network]`: every link of the simulated network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// One-way latency of every link, drawn per message from the seed.
    pub latency: Range<Duration>,
    /// Extension: simulated time per turmoil step, whole milliseconds from
    /// 1ms to 100ms; timers and latencies are rounded up to it. Ticks in
    /// which nothing is due cost nothing (event-driven time), so a coarser
    /// tick only speeds up busy runs. Default 1ms.
    #[serde(with = "duration::string", skip_serializing_if = "is_one_ms")]
    pub tick: Duration,
    /// Extension: how long a TCP segment may go unacknowledged before its
    /// sender gives up and the connection is reset (Linux's
    /// `TCP_USER_TIMEOUT`, on every socket). It matters only during a
    /// `partition`. `None`: Linux's default retries, 924.6 s for data and
    /// 127 s for a connect.
    #[serde(
        default,
        with = "duration::optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub tcp_user_timeout: Option<Duration>,
}

fn is_one_ms(d: &Duration) -> bool {
    *d == Duration::from_millis(1)
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig {
            latency: Range::new(Duration::from_millis(1), Duration::from_millis(10)),
            tick: Duration::from_millis(1),
            tcp_user_timeout: None,
        }
    }
}

/// `[load_balancer]`: the `lb` host, where header faults happen.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LbConfig {
    /// Request headers `lb` drops before forwarding, lowercased (HTTP header
    /// names are case-insensitive, so comparisons downstream are on lowercase).
    pub strip_headers: Vec<String>,
}

/// `[auth]`: the token validation service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Time from boot until `auth` accepts connections and reports ready.
    #[serde(with = "duration::string")]
    pub startup: Duration,
    /// Time `auth` takes to answer one validation request.
    pub latency: Range<Duration>,
    /// How far a token's `exp` may lie in the past, and its `iat` in the
    /// future, by auth's clock, before auth refuses it (clock skew between
    /// hosts). Default 0s: exact.
    #[serde(with = "duration::string", skip_serializing_if = "Duration::is_zero")]
    pub leeway: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            startup: Duration::ZERO,
            latency: Range::new(Duration::from_millis(2), Duration::from_millis(10)),
            leeway: Duration::ZERO,
        }
    }
}

/// `[gateway]`: the WebSocket endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GatewayConfig {
    /// Time from boot until the gateway listens.
    #[serde(with = "duration::string")]
    pub startup: Duration,
    /// Retries of a failed auth call before the connection is closed 1013.
    pub auth_retries: u32,
    /// First retry delay; doubled on each retry and jittered from the seed.
    #[serde(with = "duration::string")]
    pub auth_backoff: Duration,
    /// How long a connection waits for the agent pipeline before closing 1013.
    #[serde(with = "duration::string")]
    pub ready_timeout: Duration,
    /// Open connections past which new ones are closed 1013.
    pub max_connections: u32,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            startup: Duration::ZERO,
            auth_retries: 3,
            auth_backoff: Duration::from_secs(1),
            ready_timeout: Duration::from_secs(30),
            max_connections: 1000,
        }
    }
}

/// `[agents]`: the agent pipeline inside the gateway.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentsConfig {
    /// Time the pipeline takes to initialise after the gateway starts.
    #[serde(with = "duration::string")]
    pub startup: Duration,
    /// Database connections shared by all tool calls.
    pub db_pool: u32,
    /// How long a tool call waits for a pool connection before it fails.
    #[serde(with = "duration::string")]
    pub db_acquire_timeout: Duration,
    /// Latency of one simulated LLM step.
    pub llm_latency: Range<Duration>,
    /// Tool calls in one agent run; 0 means a run may answer without tools.
    pub tools_per_run: Range<u32>,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        AgentsConfig {
            startup: Duration::ZERO,
            db_pool: 10,
            db_acquire_timeout: Duration::from_secs(5),
            llm_latency: Range::new(Duration::from_millis(100), Duration::from_millis(900)),
            tools_per_run: Range::new(1, 3),
        }
    }
}
