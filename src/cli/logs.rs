//! Logs on stderr, with `RUST_LOG` (default: warnings). Every command sets
//! this up first; nothing a log says enters a simulated trace or changes a
//! hash (the trace is built by the `Recorder`, which only mirrors its lines
//! here when asked to).
//!
//! Targets: `stagesim::trace` at info is every trace event as it happens,
//! in the trace's own line format (`RUST_LOG=stagesim::trace=info stagesim
//! serve` shows admissions, closes and faults of a live backend);
//! `stagesim::serve` at info says where each service listens.

use std::str::FromStr;

use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::prelude::*;

/// Install the stderr subscriber, filtered by `RUST_LOG`. A filter that
/// does not parse is said once and replaced by the default.
pub fn init() {
    let spec = std::env::var("RUST_LOG").unwrap_or_default();
    let filter = if spec.trim().is_empty() {
        Targets::new().with_default(LevelFilter::WARN)
    } else {
        Targets::from_str(&spec).unwrap_or_else(|e| {
            eprintln!("warning: RUST_LOG={spec:?} is not a filter ({e}); logging warnings only");
            Targets::new().with_default(LevelFilter::WARN)
        })
    };
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time();
    let _ = tracing_subscriber::registry()
        .with(fmt.with_filter(filter))
        .try_init();
}
