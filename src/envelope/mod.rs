//! The valid envelope: scenarios under which the fixed backend owes every
//! user a clean run (no 1011, every message answered, nobody locked out),
//! generated as values so that proptest shrinks a failure to the fewest
//! groups, users, messages and faults.
//!
//! `proptest strategy -> Case (Scenario + seed) -> run -> oracle`. Used by
//! the property tests (`tests/properties.rs`, `tests/stepping.rs`), by
//! `stagesim explore` (which switches whole [`Families`] off at random, as
//! swarm testing does) and by `stagesim bench`, which times how many cases
//! a second the simulation gets through.
//!
//! The conditions: slow startups, header stripping, latency, auth retry
//! settings, database pool pressure, a connection limit, short-lived tokens,
//! partitions and holds between gateway and auth, gateway restarts and
//! drains; users with valid tokens, users the gateway must refuse (every
//! invalid token kind and delivery), and users who send one invalid frame.
//!
//! A draft (`WorldDraft`, `GroupDraft`, `FaultDraft`) holds only what is
//! drawn; [`build`] derives everything that must follow from it so the
//! scenario stays valid however the draft shrinks:
//! - each group's reconnect budget covers the longest time a user can be
//!   kept out (startups, restarts, link faults) with jitter at its minimum;
//! - a partition or hold between gateway and auth lasts a fraction of the
//!   least time the gateway's auth retries can span, so the last retry
//!   always comes after it (a `partition` is TCP-faithful: a call across it
//!   is delayed, not failed at once, so it fails no earlier than the
//!   partition's start and takes at most `CALL_TIMEOUT` per step, which
//!   `AUTH_CALL_MAX_MS` already allows for);
//! - faults follow each other on a timeline without overlapping;
//! - under a connection limit, a user may wait for every wave of users
//!   ahead of it to finish, and its reconnect budget covers that too;
//! - `duration` leaves time for the last arrival or fault, the startups,
//!   every backoff, and every message at its slowest (re-sent once per
//!   restart), plus a minute.
//!
//! The system's own timeouts that bound the envelope are read from where
//! they are defined, so the envelope follows when they change.
//!
//! Files: `families` (the swarm's families and a case's shape), `draw` (the
//! drafts and their strategies), `build` (a draft -> a valid scenario: every
//! budget that must follow from it), and here the cases the tests, explore
//! and bench ask for.

use std::time::Duration;

use crate::scenario::{
    AgentName, DEFAULT_TOKEN_LIFETIME, Fault, Host, MIN_TOKEN_LIFETIME, Misbehave, Range,
    Reconnect, Scenario, TokenKind, TokenVia, UserGroup,
};
use proptest::prelude::*;

/// Longest startup of auth, gateway or pipeline (the envelope).
pub const STARTUP_MAX_MS: u64 = 20_000;
/// Longest one-way link latency.
pub const LATENCY_MAX_MS: u64 = 200;
/// Most faults in one scenario.
pub const FAULTS_MAX: usize = 6;
/// Arrival windows end at most this late.
pub const ARRIVE_MAX_MS: u64 = 20_000;
/// Longest gap between one fault's end and the next fault's start.
pub const FAULT_GAP_MAX_MS: u64 = 20_000;
/// Longest time a gateway restart takes (`for`).
pub const RESTART_FOR_MAX_MS: u64 = 5_000;

/// A user's reconnect delay never grows past it.
const CLIENT_MAX_BACKOFF_MS: u64 = crate::client::MAX_BACKOFF.as_millis() as u64;
/// How long a restarting gateway may take to stop: its drain grace, then
/// the wait for the client's close reply.
const DRAIN_MS: u64 = (crate::services::gateway::DRAIN_GRACE.as_millis()
    + crate::services::gateway::CLOSE_TIMEOUT.as_millis()) as u64;
/// One auth call at its slowest: the call timeout twice (connect, then
/// request).
const AUTH_CALL_MAX_MS: u64 = 2 * crate::services::gateway::AUTH_CALL_TIMEOUT.as_millis() as u64;
/// The longest a tool works.
const TOOL_WORK_MAX_MS: u64 = crate::services::pipeline::TOOL_WORK.1.as_millis() as u64;

mod build;
mod draw;
mod families;

pub use build::{auth_retry_budget_min_ms, build};
use draw::*;
pub use draw::{
    BANDWIDTH_MIN, BYTE_DELAY_MAX_MS, BYTE_FOR_MAX_MS, ByteDraft, FaultDraft, GroupDraft,
    WorldDraft,
};
pub use families::{Families, Shape};

/// A scenario and the seed to run it with. `Debug` prints the seed and the
/// scenario file, which is what proptest shows for a failing input.
#[derive(Clone)]
pub struct Case {
    pub scenario: Scenario,
    pub seed: u64,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "seed {}, scenario:\n{}",
            self.seed,
            crate::scenario::to_toml(&self.scenario)
        )
    }
}

/// A valid scenario of `shape` (valid users only), with a seed that does
/// not shrink.
pub fn valid_case(shape: Shape) -> impl Strategy<Value = Case> {
    case_of(Families::VALID_USERS, shape)
}

/// A valid scenario (1-3 groups of valid users) plus 1-5 groups that must
/// be refused with 1008, in random order.
pub fn mixed_case() -> impl Strategy<Value = Case> {
    let families = Families {
        invalid_tokens: true,
        ..Families::VALID_USERS
    };
    let shape = Shape {
        groups: 1..=3,
        users_per_group: 1..=10,
    };
    case_of(families, shape)
}

/// What `stagesim explore` draws: the families by swarm, then a case of
/// those families, then its `[world] schedule`.
pub fn explore_case() -> impl Strategy<Value = (Families, Case)> {
    Families::swarm()
        .prop_flat_map(|f| (Just(f), case_of(f, Shape::any())))
        .prop_map(|(f, mut case)| {
            case.scenario.world.schedule = explore_schedule(case.seed);
            (f, case)
        })
}

/// A run's schedule, each with even odds, from the case's seed rather than
/// from proptest's stream: every other draw stays what it was. Explore's
/// fresh and mutated runs alike (`explore::mutate`) take it from their seed.
pub fn explore_schedule(seed: u64) -> crate::scenario::Schedule {
    let all = crate::scenario::Schedule::ALL;
    all[(crate::seed::derive(seed, "explore-schedule") % all.len() as u64) as usize]
}

/// A case of the families that are on: groups of valid users as `shape`
/// says, plus 1-5 refused groups (`invalid_tokens`) and 1-3 misbehaving
/// groups (`misbehaving_users`), in an order drawn from the seed.
pub fn case_of(f: Families, shape: Shape) -> impl Strategy<Value = Case> {
    drafts_of(f, shape).prop_map(|draft| draft.case())
}

/// What a case is built from, as drawn: `explore`'s guided mode keeps it
/// and mutates it (src/explore/mutate.rs), and [`build`] keeps every
/// mutation inside the envelope.
#[derive(Debug, Clone)]
pub struct Draft {
    pub world: WorldDraft,
    /// In the order the scenario lists them (already shuffled).
    pub groups: Vec<GroupDraft>,
    pub faults: Vec<FaultDraft>,
    pub seed: u64,
}

impl Draft {
    pub fn case(&self) -> Case {
        Case {
            scenario: build(&self.world, &self.groups, &self.faults),
            seed: self.seed,
        }
    }
}

/// The drafts [`case_of`] builds its case from (the same draws).
pub fn drafts_of(f: Families, shape: Shape) -> impl Strategy<Value = Draft> {
    let some = |on: bool, most: usize| if on { 1..=most } else { 0..=0 };
    let valid = proptest::collection::vec(valid_group(shape.users_per_group, f), shape.groups);
    let invalid = proptest::collection::vec(invalid_group(f), some(f.invalid_tokens, 5));
    let misbehaving = proptest::collection::vec(misbehaving_group(f), some(f.misbehaving_users, 3));
    (
        world_draft(f),
        (valid, invalid, misbehaving),
        fault_drafts(f),
        any::<u64>().no_shrink(),
        any::<u64>().no_shrink(),
    )
        .prop_map(
            |(world, (valid, invalid, misbehaving), faults, seed, order)| {
                let mut groups: Vec<GroupDraft> = valid
                    .into_iter()
                    .chain(invalid)
                    .chain(misbehaving)
                    .collect();
                shuffle(&mut groups, order);
                Draft {
                    world,
                    groups,
                    faults,
                    seed,
                }
            },
        )
}

/// A fixed shuffle from `order`: refused and misbehaving users are not
/// always last.
fn shuffle(groups: &mut [GroupDraft], order: u64) {
    let mut state = order;
    for i in (1..groups.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        groups.swap(i, (state >> 33) as usize % (i + 1));
    }
}
