//! Scenario files: TOML text -> validated [`Scenario`].
//!
//! The first arrow of the data flow
//! `scenario file -> validated Scenario -> simulation -> trace -> oracle`.
//! Everything after this module works on a [`Scenario`] value and never sees
//! TOML; everything wrong with a file is reported here, as a [`ScenarioError`]
//! with the file, line, column and one sentence (docs/design.md, "The scenario
//! contract").
//!
//! Reading a file goes in three steps, each of which can fail with a position:
//! 1. TOML syntax (`toml::de::DeTable::parse`, which keeps every span);
//! 2. shape: serde, with `deny_unknown_fields` on every table and custom
//!    readers for durations, ranges and names (`serde_errors` words their errors);
//! 3. rules serde cannot express (`validate`), located through `locate`.
//!
//! Files: `model` (the `Scenario`), `world`, `users`, `faults` (typed, converted
//! from the file's `fault_entry` by `fault_rules` and `byte_faults`), `bugs`,
//! `expect` (one per group of tables), `duration`, `range`, `names` (value
//! formats), `error`, `serde_errors`, `locate`, `validate` (reporting);
//! `shipped` (the files of `scenarios/`, built into the binary).

mod bugs;
mod byte_faults;
mod duration;
mod error;
mod expect;
mod fault_entry;
mod fault_rules;
mod faults;
mod locate;
mod model;
pub(crate) mod range;
mod rate;
mod serde_errors;
mod shape;
pub mod shipped;
mod users;
mod validate;

pub use validate::{MAX_FAULTS, MAX_STEPS, MAX_USERS};
mod world;

use std::path::Path;

use serde::Deserialize;

pub use std::time::Duration;

pub use bugs::Bugs;
pub use duration::{
    format_duration, format_signed_ms, parse_duration, parse_duration_up_to, parse_signed_ms,
};
pub use error::ScenarioError;
pub use expect::{Cause, Expect, Expected, Invariant};
pub use faults::{Fault, FaultKind, HOSTS, Host, Target};
pub use model::Scenario;
pub use range::Range;
pub use rate::{MAX_RATE, format_rate, parse_rate};
pub use users::{
    AgentName, DEFAULT_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, Misbehave,
    REFRESH_MARGIN, Reconnect, TokenKind, TokenVia, UserGroup,
};
pub use world::{
    AgentsConfig, AuthConfig, GatewayConfig, LbConfig, NetworkConfig, PCT_DEPTH, PCT_POLLS,
    Schedule, WorldConfig,
};

/// Reads, parses and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let bytes = read_bounded(path)?;
    let text = String::from_utf8(bytes).map_err(|error| {
        // Point at the first byte that is not UTF-8, on its line.
        let valid = error.utf8_error().valid_up_to();
        let bytes = error.into_bytes();
        let before = String::from_utf8_lossy(&bytes[..valid]).into_owned();
        let message = format!(
            "the scenario file is not UTF-8: byte 0x{:02x} at offset {valid} is not valid UTF-8; expected a UTF-8 TOML file",
            bytes[valid]
        );
        ScenarioError::at(path, &before, valid..valid, message).with_label("not UTF-8")
    })?;
    parse(&text, path)
}

/// The largest scenario file read: hand-written files are a few KiB, and a
/// bound keeps a mistaken path (a log, a binary) from filling memory.
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// The file's bytes, refusing one over [`MAX_FILE_BYTES`].
fn read_bounded(path: &Path) -> Result<Vec<u8>, ScenarioError> {
    use std::io::Read;
    let unreadable = |error: std::io::Error| {
        ScenarioError::without_position(
            path,
            format!("cannot read the scenario file: {error}; expected a readable UTF-8 TOML file"),
        )
    };
    // Only a regular file: opening a FIFO would wait for a writer forever,
    // and a device like /dev/zero never ends.
    let meta = std::fs::metadata(path).map_err(unreadable)?;
    if !meta.is_file() {
        return Err(ScenarioError::without_position(
            path,
            "cannot read the scenario file: it is not a regular file; expected a TOML file".into(),
        ));
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ScenarioError::without_position(
            path,
            format!(
                "the scenario file is larger than {MAX_FILE_BYTES} bytes (1 MiB); expected a hand-written TOML file of a few KiB"
            ),
        ));
    }
    Ok(bytes)
}

pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc =
        toml::de::DeTable::parse(text).map_err(|error| serde_errors::syntax(path, text, &error))?;
    shape::check(&doc).map_err(|(span, message, label)| {
        ScenarioError::at(path, text, span, message).with_label(label)
    })?;
    let file =
        Scenario::<fault_entry::FaultEntry>::deserialize(toml::Deserializer::from(doc.clone()))
            .map_err(|error| serde_errors::deserialize(path, text, &doc, &error, &stem))?;
    let mut scenario = validate::check(file, &stem).map_err(|problem| {
        let span = locate::span_of(&doc, &problem.path, problem.part);
        ScenarioError::at(path, text, span, problem.message).with_label(problem.label)
    })?;
    // Header names are case-insensitive; the load balancer compares lowercase.
    for header in &mut scenario.load_balancer.strip_headers {
        header.make_ascii_lowercase();
    }
    Ok(scenario)
}

/// Writes `scenario` in the scenario-file format: durations as strings, the
/// fault key `for`, ranges as arrays (`reconnect` comes out as a
/// `[users.reconnect]` table rather than inline, which reads back the same).
///
/// For a scenario as `parse` returns it (durations in whole milliseconds,
/// header names lowercase), `parse(&to_toml(s), path)` gives back `s`, given
/// a `path` whose stem is `s.name`.
pub fn to_toml(scenario: &Scenario) -> String {
    // Every value has a TOML form (no maps with non-string keys, no bare
    // `None`s), so serialisation cannot fail; say so rather than panic.
    toml::to_string(scenario)
        .unwrap_or_else(|error| format!("# stagesim could not write this scenario: {error}\n"))
}
