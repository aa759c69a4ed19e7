//! What a run reports: the human text and the JSON object of `stagesim
//! run` (docs/design.md, "The command line"), snapshot text, the HTML page
//! and the Chrome trace. Derived from a
//! [`run::Outcome`](crate::run::Outcome) (the trace, the oracle's verdict
//! and the summary counts `run` computed) only: `report` depends on `run`,
//! never the other way round.
//!
//! The page and the Chrome trace are two drawings of one timeline:
//! `Trace + violations + Scenario -> timeline::Timeline -> html (page
//! data) | chrome (trace events)`.

pub mod chrome;
pub mod html;
mod json;
pub mod snapshot;
mod text;
pub mod timeline;

pub use json::{RunJson, ViolationJson, to_json, violation as violation_json};
pub use text::to_text;
