//! The seven invariants, one file each (accounting's evidence for
//! refusals in `refusals.rs`). Each reads the per-user view and
//! appends what it finds, one violation per occurrence, each with its
//! cause; none stops at the first. Attribution and collapsing of repeats
//! happen afterwards (`oracle::attribute`).

mod accounting;
mod auth_policy;
mod capacity;
mod grammar;
mod isolation;
mod liveness;
mod no_1011;
mod refusals;

use std::time::Duration;

pub use accounting::accounting;
pub use auth_policy::auth_policy;
pub use capacity::capacity;
pub use grammar::event_grammar;
pub use isolation::isolation;
pub use liveness::{admission, answers, convergence};
pub use no_1011::no_1011;
pub use refusals::refusals;

use super::Violation;
use super::index::UserView;
use crate::scenario::Cause;

/// A violation of `cause` by `user` (whose view is `view`) on its
/// connection `conn`.
fn violation(
    cause: Cause,
    user: &str,
    view: &UserView,
    at: Duration,
    conn: Option<u32>,
    detail: String,
) -> Violation {
    Violation {
        invariant: cause.invariant(),
        cause,
        user: Some(user.to_string()),
        host: view.host.clone(),
        at,
        conn,
        detail,
        component: None,
        reason: None,
        count: 1,
    }
}
