//! stagesim: a deterministic simulation of a WebSocket chat backend.
//!
//! Data flow, one module per arrow:
//! `scenario file -> scenario::Scenario -> world (turmoil hosts: lb,
//! gateway + pipeline, auth, client hosts of users; faults) -> trace ->
//! oracle -> verdict, report`.
//!
//! The services under test (`services`) and the users (`client`) only write
//! to the trace; the oracle only reads it.

// The determinism guard (build.rs fails faster; `determinism` checks the
// effect at run time): without this cfg tokio's `select!` is unseeded and
// the same scenario and seed stop giving the same trace.
#[cfg(not(tokio_unstable))]
compile_error!(
    "stagesim must be built with `--cfg tokio_unstable`: a RUSTFLAGS in the environment \
     replaces .cargo/config.toml's flags; build with RUSTFLAGS=\"$RUSTFLAGS --cfg tokio_unstable\""
);

pub mod atomic_file;
pub mod bench;
pub mod cli;
pub mod client;
pub mod coverage;
pub mod determinism;
pub mod diagnose;
pub mod diff;
pub mod envelope;
pub mod explore;
pub mod faults;
#[cfg(test)]
mod layering;
pub mod live;
pub mod net;
pub mod oracle;
pub mod record;
pub mod report;
pub mod run;
pub mod scenario;
pub mod seed;
pub mod services;
pub mod shrink;
pub mod sweep;
pub mod tokens;
pub mod trace;
pub mod vocab;
pub mod workers;
pub mod world;
