//! The simulated world end to end: close codes, the gateway's state
//! machine, token delivery, auth retries, pipeline readiness, and
//! determinism. Every test names its scenario and seed; every failure
//! prints the command that replays it.

#[path = "../support/mod.rs"]
mod support;

mod close_codes;
mod determinism;
mod diagnose;
mod diff;
mod faults;
mod gateway;
mod heal;
mod middlebox;
mod mutants;
mod partitions;
mod ports;
mod scale;
mod scenarios;
mod skew;
mod verdict;
