//! `[expect]`: what the oracle's verdict should be for this scenario.
//!
//! Part of scenario file -> validated `Scenario` ... -> oracle -> verdict: the
//! oracle checks every invariant on every run; `expect` only says which
//! failures are the point of the scenario (a regression scenario reproduces
//! a known bug) and whether every message must be answered.
//!
//! An expected failure is either an invariant's name (`"no_1011"`, the form
//! of the first version: any violation of that invariant matches) or a table
//! naming the cause precisely enough that a different defect breaking the
//! same invariant does not match:
//! `{ invariant = "no_1011", component = "message_router", reason = "global orchestrator" }`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::names::named_enum;

/// The `[expect]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// Whether every message of every entitled user must be answered.
    /// `false` relaxes answers only: admission and entitlement are still
    /// checked.
    pub all_answered: bool,
    /// Failures that make the verdict `reproduced` rather than `fail`.
    pub violations: Vec<Expected>,
    /// How long the heal phase after `duration` may take: every fault is
    /// lifted, users send no new messages, and every user must be idle
    /// with every sent message answered within this much simulated time.
    #[serde(
        with = "super::duration::string",
        skip_serializing_if = "is_default_converge_within"
    )]
    pub converge_within: Duration,
}

/// The heal phase's default bound.
pub const DEFAULT_CONVERGE_WITHIN: Duration = Duration::from_secs(60);

fn is_default_converge_within(d: &Duration) -> bool {
    *d == DEFAULT_CONVERGE_WITHIN
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            all_answered: true,
            violations: Vec::new(),
            converge_within: DEFAULT_CONVERGE_WITHIN,
        }
    }
}

/// One expected failure. Every field but `invariant` narrows it; a
/// violation matches when all the given fields match.
#[derive(Debug, Clone, PartialEq)]
pub struct Expected {
    pub invariant: Invariant,
    /// What broke the invariant (a [`Cause`] of that invariant).
    pub cause: Option<Cause>,
    /// For `no_1011`: the part of the backend the gateway's 1011 blames
    /// (`auth_handler`, `auth_client`, `message_router`, `agent_pipeline`,
    /// `event_serialiser`).
    pub component: Option<String>,
    /// For `no_1011`: words the close reason the user received contains.
    pub reason: Option<String>,
}

/// The precise form as written in a file: a table.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedTable {
    invariant: Invariant,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cause: Option<Cause>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Expected {
    /// The plain form: any violation of `invariant`.
    pub fn invariant(invariant: Invariant) -> Expected {
        Expected {
            invariant,
            cause: None,
            component: None,
            reason: None,
        }
    }

    /// Whether only the invariant is named.
    pub fn is_plain(&self) -> bool {
        self.cause.is_none() && self.component.is_none() && self.reason.is_none()
    }
}

/// `no_1011`, or `no_1011 (component message_router, reason "...")`.
impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.invariant)?;
        let mut narrowed = Vec::new();
        if let Some(c) = self.cause {
            narrowed.push(format!("cause {c}"));
        }
        if let Some(c) = &self.component {
            narrowed.push(format!("component {c}"));
        }
        if let Some(r) = &self.reason {
            narrowed.push(format!("reason {r:?}"));
        }
        if !narrowed.is_empty() {
            write!(f, " ({})", narrowed.join(", "))?;
        }
        Ok(())
    }
}

/// The plain form is written as the invariant's name, as files of the
/// first version have it; the precise form as a table.
impl Serialize for Expected {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.is_plain() {
            return self.invariant.serialize(serializer);
        }
        ExpectedTable {
            invariant: self.invariant,
            cause: self.cause,
            component: self.component.clone(),
            reason: self.reason.clone(),
        }
        .serialize(serializer)
    }
}

/// Either form deserialises: a string is the plain form, a table the
/// precise one (with its own unknown-key errors).
impl<'de> Deserialize<'de> for Expected {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntryVisitor;

        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = Expected;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "an invariant name like \"no_1011\", or a table like { invariant = \"no_1011\", component = \"message_router\" }",
                )
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Expected, E> {
                text.parse().map(Expected::invariant).map_err(E::custom)
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Expected, A::Error> {
                let t = ExpectedTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Expected {
                    invariant: t.invariant,
                    cause: t.cause,
                    component: t.component,
                    reason: t.reason,
                })
            }
        }

        deserializer.deserialize_any(EntryVisitor)
    }
}

named_enum! {
    /// An invariant the oracle checks (docs/design.md, the oracle).
    pub enum Invariant as "invariant" {
        /// No client receives close code 1011.
        No1011 = "no_1011",
        /// Invalid tokens are closed 1008; no one gets in without a valid token.
        AuthPolicy = "auth_policy",
        /// Every entitled user gets in; every message of theirs is answered.
        Liveness = "liveness",
        /// Every event reaches only the user whose run it belongs to.
        Isolation = "isolation",
        /// Runs follow the event grammar; `seq` strictly increases.
        EventGrammar = "event_grammar",
        /// Messages sent = answered + rejected with an explicit error that
        /// the trace shows a cause for.
        Accounting = "accounting",
        /// The backend keeps within its own limits: connections, pool.
        Capacity = "capacity",
    }
}

named_enum! {
    /// Why an invariant broke: each cause belongs to one invariant.
    pub enum Cause as "cause" {
        /// no_1011: the server closed a connection with 1011.
        Closed1011 = "closed_1011",
        /// auth_policy: the gateway admitted a connection (accepted an
        /// identity, or the user saw it established) without a valid token.
        AdmittedWithoutValidToken = "admitted_without_valid_token",
        /// auth_policy: an invalid token was refused with a code other than 1008.
        RefusedWithWrongCode = "refused_with_wrong_code",
        /// auth_policy: a token valid for the whole attempt was refused 1008.
        ValidTokenRefused = "valid_token_refused",
        /// auth_policy, caused by the environment: a valid token was refused
        /// 1008 while a host's clock was off by more than auth's leeway (an
        /// honest refusal; a scenario that sets the skew can expect it).
        RefusedUnderClockSkew = "refused_under_clock_skew",
        /// liveness: an entitled user never received connection_established.
        NeverAdmitted = "never_admitted",
        /// liveness: messages of an admitted user were never answered.
        Unanswered = "unanswered",
        /// liveness: the heal phase ran out (`[expect] converge_within`)
        /// with this user still busy: not yet admitted, waiting for an
        /// answer, or backing off to reconnect.
        DidNotConverge = "did_not_converge",
        /// isolation: a user received an event that is not its own.
        ForeignEvent = "foreign_event",
        /// isolation: events of a user's run were delivered to someone else.
        EventsMisdelivered = "events_misdelivered",
        /// isolation: events of a user's run were handed to a connection
        /// that had already closed.
        EventsLost = "events_lost",
        /// event_grammar: `seq` missing, or not exactly 1, 2, 3, ... on a
        /// connection.
        BadSeq = "bad_seq",
        /// event_grammar: an event out of its run's or connection's order.
        OutOfOrder = "out_of_order",
        /// event_grammar: the server closed a connection with 1000, which
        /// only a client that is done sends (a shutdown or a failure that
        /// does not name its cause).
        ServerClosed1000 = "server_closed_1000",
        /// event_grammar: the server closed with a code the protocol does
        /// not have, or a 1013 whose reason names no dependency or budget.
        CloseOutsideProtocol = "close_outside_protocol",
        /// accounting: an answer on a connection the message was not sent on.
        AnsweredElsewhere = "answered_elsewhere",
        /// accounting: a message answered more than once.
        AnsweredTwice = "answered_twice",
        /// accounting: a message dropped without an answer on a live connection.
        SilentlyDropped = "silently_dropped",
        /// accounting: an `error` answer whose condition the trace does not
        /// show (`overloaded` with a pool that was not full, `unknown_agent`
        /// for a known agent, a code the protocol does not have).
        RefusedWithoutCause = "refused_without_cause",
        /// capacity: a gateway boot held more admitted connections open
        /// than its `max_connections`.
        OverConnectionLimit = "over_connection_limit",
        /// capacity: the database pool lent more connections than it has.
        PoolOverCapacity = "pool_over_capacity",
        /// capacity: a run still held a database connection after its
        /// WebSocket connection closed (it was not cancelled, or its
        /// connection was never returned).
        PoolSlotLeaked = "pool_slot_leaked",
    }
}

impl Cause {
    /// The invariant this cause breaks.
    pub fn invariant(self) -> Invariant {
        match self {
            Cause::Closed1011 => Invariant::No1011,
            Cause::AdmittedWithoutValidToken
            | Cause::RefusedWithWrongCode
            | Cause::ValidTokenRefused
            | Cause::RefusedUnderClockSkew => Invariant::AuthPolicy,
            Cause::NeverAdmitted | Cause::Unanswered | Cause::DidNotConverge => Invariant::Liveness,
            Cause::ForeignEvent | Cause::EventsMisdelivered | Cause::EventsLost => {
                Invariant::Isolation
            }
            Cause::BadSeq
            | Cause::OutOfOrder
            | Cause::ServerClosed1000
            | Cause::CloseOutsideProtocol => Invariant::EventGrammar,
            Cause::AnsweredElsewhere
            | Cause::AnsweredTwice
            | Cause::SilentlyDropped
            | Cause::RefusedWithoutCause => Invariant::Accounting,
            Cause::OverConnectionLimit | Cause::PoolOverCapacity | Cause::PoolSlotLeaked => {
                Invariant::Capacity
            }
        }
    }

    /// The causes of `invariant`, in declaration order.
    pub fn of(invariant: Invariant) -> Vec<Cause> {
        Cause::ALL
            .iter()
            .copied()
            .filter(|c| c.invariant() == invariant)
            .collect()
    }
}
