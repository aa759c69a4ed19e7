//! `[expect]`: what the oracle's verdict should be for this scenario.
//!
//! Part of scenario file -> validated `Scenario` ... -> oracle -> verdict: the
//! oracle checks every invariant on every run; `expect` only says which
//! violations are the point of the scenario (a regression scenario reproduces
//! a known bug) and whether every message must be answered.

use serde::{Deserialize, Serialize};

use super::names::named_enum;

/// The `[expect]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Expect {
    /// Whether `liveness` requires every message of every valid user answered.
    pub all_answered: bool,
    /// Violations that make the verdict `reproduced` rather than `fail`.
    pub violations: Vec<Invariant>,
}

impl Default for Expect {
    fn default() -> Self {
        Expect {
            all_answered: true,
            violations: Vec::new(),
        }
    }
}

named_enum! {
    /// An invariant the oracle checks (DESIGN.md section 4).
    pub enum Invariant as "invariant" {
        /// No client receives close code 1011.
        No1011 = "no_1011",
        /// Invalid tokens are closed 1008; no one gets in without a valid token.
        AuthPolicy = "auth_policy",
        /// Every message of every valid user is answered before the end.
        Liveness = "liveness",
        /// Every event reaches only the user whose run it belongs to.
        Isolation = "isolation",
        /// Runs follow the event grammar; `seq` strictly increases.
        EventGrammar = "event_grammar",
        /// Messages sent = answered + rejected with an explicit error.
        Accounting = "accounting",
    }
}
