//! The oracle's violations, each placed on the lane it concerns: its
//! user's, else its host's, else the fault row. Only the fields every
//! violation has are read, so a new invariant needs nothing here.

use super::builder::Builder;
use super::{Flag, Lane};
use crate::oracle::Violation;

impl Builder {
    /// One flag per violation; the users they name are marked violated.
    pub(super) fn flags(&mut self, violations: &[Violation]) -> Vec<Flag> {
        violations
            .iter()
            .map(|v| {
                let user = v
                    .user
                    .as_deref()
                    .and_then(|n| self.user_index.get(n))
                    .copied();
                if let Some(u) = user {
                    self.users[u].violated = true;
                }
                let lane = match user {
                    Some(u) => Lane::User(u),
                    None => match self.hosts.iter().position(|h| h.name == v.host) {
                        Some(h) => Lane::Host(h),
                        None => Lane::Sim,
                    },
                };
                Flag {
                    at: v.at,
                    lane,
                    invariant: v.invariant.as_str().to_string(),
                    user: v.user.clone(),
                    host: v.host.clone(),
                    detail: v.detail.clone(),
                }
            })
            .collect()
    }
}
