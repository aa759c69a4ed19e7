//! The token a user holds: minted when the user arrives, and refreshed
//! before a reconnect when it has expired or is about to, as a real
//! frontend does (unless the scenario turns refresh off).
//!
//! Every token the user starts to hold is recorded (`Kind::TokenIssued`),
//! so the oracle judges each connection attempt by the token actually
//! presented at that simulated time.

use std::rc::Rc;
use std::time::Duration;

use super::UserPlan;
use crate::net::HostClock;
use crate::scenario::{REFRESH_MARGIN, TokenKind};
use crate::tokens;
use crate::trace::Kind;

pub struct HeldToken {
    kind: TokenKind,
    lifetime: Duration,
    refresh: bool,
    /// The token's text; `None` for `missing`.
    pub text: Option<String>,
    /// Simulated time from which auth refuses it, for a valid token.
    valid_until: Option<Duration>,
    /// The host's wall clock, which `iat` and `exp` are minted by.
    clock: Rc<HostClock>,
}

impl HeldToken {
    /// Simulated time since the run's start, and since the Unix epoch by
    /// the host's clock.
    fn clocks(&self) -> (Duration, Duration) {
        (crate::net::elapsed(), self.clock.since_epoch())
    }
}

impl HeldToken {
    /// The token of `plan`'s kind, minted now, and its trace event.
    pub fn mint(plan: &UserPlan, clock: Rc<HostClock>) -> (HeldToken, Kind) {
        let mut held = HeldToken {
            kind: plan.token,
            lifetime: plan.token_lifetime,
            refresh: plan.refresh_token,
            text: None,
            valid_until: None,
            clock,
        };
        let event = held.issue(&plan.name, false);
        (held, event)
    }

    /// Before a reconnect: a fresh token if this valid one has expired or
    /// expires within [`REFRESH_MARGIN`], with its trace event. Tokens of
    /// other kinds are what the scenario says the user presents, and stay.
    pub fn refresh_if_due(&mut self, user: &str) -> Option<Kind> {
        let until = self.valid_until.filter(|_| self.refresh)?;
        let (now, _) = self.clocks();
        (until <= now + REFRESH_MARGIN).then(|| self.issue(user, true))
    }

    /// Whether this valid token's `exp` has passed (never, for the other
    /// kinds: they are refused from the start).
    pub fn expired(&self) -> bool {
        let (now, _) = self.clocks();
        self.valid_until.is_some_and(|until| until <= now)
    }

    fn issue(&mut self, user: &str, refreshed: bool) -> Kind {
        let (now, epoch_now) = self.clocks();
        self.text = tokens::mint(self.kind, user, epoch_now, self.lifetime);
        self.valid_until = (self.kind == TokenKind::Valid)
            .then(|| now + (tokens::expiry(epoch_now, self.lifetime) - epoch_now));
        Kind::TokenIssued {
            token: self.kind,
            valid_until: self.valid_until,
            refreshed,
        }
    }
}
