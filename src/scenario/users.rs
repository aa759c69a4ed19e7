//! `[[users]]`: groups of simulated browsers and what each one does.
//!
//! Part of scenario file -> validated `Scenario` -> simulation: the simulation
//! spreads each group's users over the client hosts and draws their arrival
//! times from `arrive`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::duration;
use super::range::Range;
use crate::vocab::named_enum;
pub use crate::vocab::{Misbehave, TokenKind, TokenVia};

/// One `[[users]]` table: `count` users that behave alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UserGroup {
    /// Users in the group; at least 1.
    pub count: u32,
    /// The kind of token every user of the group presents.
    pub token: TokenKind,
    /// Where the token goes in the upgrade request; empty sends no token at all
    /// (unlike `token = "missing"`, which is about the token's content).
    pub send_token_via: Vec<TokenVia>,
    /// Window in which each user's first connect is drawn, from the start of the run.
    pub arrive: Range<Duration>,
    /// Chat messages each user sends; 0 users only connect and close.
    pub messages: u32,
    /// The agent named in every message.
    pub agent: AgentName,
    /// What a user does when its connection is refused or drops.
    pub reconnect: Reconnect,
    /// Extension: a frame each user sends once, right after
    /// `connection_established`, that is not a valid chat message. `none`
    /// (the default) sends only valid messages.
    #[serde(skip_serializing_if = "Misbehave::is_none")]
    pub misbehave: Misbehave,
    /// Extension: how long a user pauses between an answer and its next
    /// message, drawn per message from the seed. Default `["0s", "0s"]`.
    #[serde(skip_serializing_if = "Range::is_zero")]
    pub think: Range<Duration>,
    /// Extension: how long a freshly minted valid token lives (its `exp`
    /// minus its `iat`). Default `"1h"`.
    #[serde(
        with = "duration::lifetime",
        skip_serializing_if = "is_default_lifetime"
    )]
    pub token_lifetime: Duration,
    /// Extension: whether a user refreshes its token before it reconnects
    /// when the token has expired or will within [`REFRESH_MARGIN`], as a
    /// real frontend does. Default `true`; `false` keeps the first token,
    /// and once it expires the gateway's 1008 is the honest answer.
    #[serde(skip_serializing_if = "is_true")]
    pub refresh_token: bool,
}

/// A valid token's lifetime unless `token_lifetime` says otherwise.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// A token that expires within this margin is refreshed before a
/// reconnect, so that it cannot expire while the gateway checks it.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(60);
/// The shortest `token_lifetime`: it must outlive the refresh margin, or a
/// fresh token would already need refreshing.
pub const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(120);
/// The longest `token_lifetime`: a year, well past any run.
pub const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);

fn is_default_lifetime(d: &Duration) -> bool {
    *d == DEFAULT_TOKEN_LIFETIME
}

fn is_true(b: &bool) -> bool {
    *b
}

impl Default for UserGroup {
    fn default() -> Self {
        UserGroup {
            count: 1,
            token: TokenKind::Valid,
            send_token_via: vec![TokenVia::Header],
            arrive: Range::new(Duration::ZERO, Duration::ZERO),
            messages: 1,
            agent: AgentName::DataHelper,
            reconnect: Reconnect::default(),
            misbehave: Misbehave::None,
            think: Range::new(Duration::ZERO, Duration::ZERO),
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            refresh_token: true,
        }
    }
}

/// `reconnect = { attempts = 6, backoff = "500ms" }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Reconnect {
    /// Reconnects after the first connect; 0 never retries.
    pub attempts: u32,
    /// First reconnect delay (the client doubles it on each attempt).
    #[serde(with = "duration::string")]
    pub backoff: Duration,
}

impl Default for Reconnect {
    fn default() -> Self {
        Reconnect {
            attempts: 6,
            backoff: Duration::from_millis(500),
        }
    }
}

named_enum! {
    /// The agent a message asks for.
    pub enum AgentName as "agent" {
        /// `data_helper`.
        DataHelper = "data_helper",
        /// `uvs_reporting`.
        UvsReporting = "uvs_reporting",
        /// `triage`.
        Triage = "triage",
    }
}
