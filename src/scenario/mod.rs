//! Scenario files: TOML text -> validated [`Scenario`].
//!
//! The first arrow of the data flow
//! `scenario file -> validated Scenario -> simulation -> trace -> oracle`.
//! Everything after this module works on a [`Scenario`] value and never sees
//! TOML; everything wrong with a file is reported here, as a [`ScenarioError`]
//! with the file, line, column and one sentence (DESIGN.md section 5).
//!
//! Reading a file goes in three steps, each of which can fail with a position:
//! 1. TOML syntax (`toml::de::DeTable::parse`, which keeps every span);
//! 2. shape: serde, with `deny_unknown_fields` on every table and custom
//!    readers for durations, ranges and names (`messages` words the errors);
//! 3. rules serde cannot express (`validate`), located through `locate`.
//!
//! Files: `model` (the `Scenario`), `world`, `users`, `faults`, `bugs`,
//! `expect` (one per group of tables), `duration`, `range`, `names` (value
//! formats), `error`, `messages`, `locate`, `validate` (reporting).

mod bugs;
mod duration;
mod error;
mod expect;
mod faults;
mod locate;
mod messages;
mod model;
mod names;
mod range;
mod users;
mod validate;
mod world;

use std::path::Path;

use serde::Deserialize;

pub use std::time::Duration;

pub use bugs::Bugs;
pub use duration::{format_duration, parse_duration};
pub use error::ScenarioError;
pub use expect::{Cause, Expect, Expected, Invariant};
pub use faults::{Fault, FaultKind, HOSTS};
pub use model::Scenario;
pub use range::Range;
pub use users::{
    AgentName, DEFAULT_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME, Misbehave, REFRESH_MARGIN, Reconnect,
    TokenKind, TokenVia, UserGroup,
};
pub use world::{Agents, Auth, Gateway, LoadBalancer, Network};

/// Reads, parses and validates the scenario file at `path`.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    let text = std::fs::read_to_string(path).map_err(|error| {
        ScenarioError::without_position(
            path,
            format!("cannot read the scenario file: {error}; expected a readable UTF-8 TOML file"),
        )
    })?;
    parse(&text, path)
}

/// Parses and validates scenario `text`. `path` names the file in messages,
/// and its stem is the name the scenario must have.
pub fn parse(text: &str, path: &Path) -> Result<Scenario, ScenarioError> {
    let stem = path
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc =
        toml::de::DeTable::parse(text).map_err(|error| messages::syntax(path, text, &error))?;
    let mut scenario = Scenario::deserialize(toml::Deserializer::from(doc.clone()))
        .map_err(|error| messages::deserialize(path, text, &doc, &error, &stem))?;
    validate::check(&scenario, &stem).map_err(|problem| {
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
