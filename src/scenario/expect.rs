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

pub use crate::vocab::{Cause, Invariant};

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
