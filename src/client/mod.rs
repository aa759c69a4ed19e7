//! Simulated users: browsers, as tasks on a few client hosts.
//!
//! A user opens a WebSocket through `lb`, authenticates with its token,
//! sends its messages one at a time, reads events, reconnects with backoff
//! on 503 / 1001 / 1006 / 1012 / 1013, and closes with 1000 when done.
//! Everything a user observes is recorded: that is what the oracle judges.

mod incoming;
pub mod plan;
mod session;
mod token;
mod user;

use std::rc::Rc;
use std::time::Duration;

pub use incoming::parse as parse_incoming;
pub use user::{MAX_BACKOFF, run_user};

use crate::scenario::{AgentName, Misbehave, Range, Reconnect, TokenKind, TokenVia};
use crate::trace::Recorder;

/// One user's part in the scenario, fixed before the run starts.
#[derive(Debug, Clone)]
pub struct UserPlan {
    pub name: Rc<str>,
    pub group: usize,
    pub host: Rc<str>,
    pub token: TokenKind,
    pub via: Vec<TokenVia>,
    pub arrive: Duration,
    pub messages: u32,
    pub agent: AgentName,
    pub reconnect: Reconnect,
    pub misbehave: Misbehave,
    /// Pause between an answer and the next message.
    pub think: Range<Duration>,
    /// How long a freshly minted valid token lives.
    pub token_lifetime: Duration,
    /// Whether an expired or expiring valid token is refreshed before a
    /// reconnect.
    pub refresh_token: bool,
}

/// What every user on a host shares: the run's seed and the recorder.
#[derive(Clone)]
pub struct ClientEnv {
    pub seed: u64,
    pub recorder: Recorder,
    /// The client host's wall clock, which its users mint tokens by (a
    /// `skew` fault sets it off).
    pub clock: std::rc::Rc<crate::net::HostClock>,
    /// Raised when the heal phase begins.
    pub heal: HealSignal,
}

/// The heal phase's signal to users (docs/design.md, "The heal phase"):
/// once raised, a user sends no new message; it still gets in if it never
/// has, and waits for the answer to a message it already sent, then stops.
#[derive(Clone)]
pub struct HealSignal(tokio::sync::watch::Receiver<bool>);

/// The world's end of the signal.
pub struct HealSwitch(tokio::sync::watch::Sender<bool>);

impl HealSwitch {
    /// A new switch, off, and the signal users watch.
    pub fn new() -> (HealSwitch, HealSignal) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        (HealSwitch(tx), HealSignal(rx))
    }

    pub fn raise(&self) {
        self.0.send_replace(true);
    }
}

impl HealSignal {
    pub fn raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Wait until the heal begins (forever if it never does).
    pub async fn begun(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|h| *h).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The client host's software: run every user on it to the end.
pub async fn run_host(users: Vec<UserPlan>, env: ClientEnv) -> turmoil::Result {
    let mut set = tokio::task::JoinSet::new();
    for plan in users {
        set.spawn_local(run_user(plan, env.clone()));
    }
    while set.join_next().await.is_some() {}
    Ok(())
}
