//! What a run reports: the summary counts, the human text and the JSON
//! object of `stagesim run` (DESIGN.md section 6). Derived from the trace
//! and the oracle's verdict only.

pub mod chrome;
pub mod html;
mod json;
pub mod snapshot;
mod summary;
mod text;

pub use json::{to_json, violation as violation_json};
pub use summary::{GroupSummary, Messages, Summary, format_counts};
pub use text::to_text;
