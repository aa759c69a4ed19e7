//! The valid envelope: scenarios under which the fixed backend owes every
//! user a clean run (no 1011, every message answered, nobody locked out),
//! generated as values so that proptest shrinks a failure to the fewest
//! groups, users, messages and faults.
//!
//! `proptest strategy -> Case (Scenario + seed) -> run -> oracle`. Used by
//! the property tests (`tests/properties.rs`, `tests/stepping.rs`) and by
//! `stagesim bench`, which times how many cases a second the simulation
//! gets through.
//!
//! A draft (`WorldDraft`, `GroupDraft`, `FaultDraft`) holds only what is
//! drawn; [`build`] derives everything that must follow from it so the
//! scenario stays valid however the draft shrinks:
//! - each group's reconnect budget covers the longest time a user can be
//!   kept out (startups, restarts, link faults) with jitter at its minimum;
//! - a partition or hold between gateway and auth lasts a fraction of the
//!   least time the gateway's auth retries can span, so the last retry
//!   always comes after it;
//! - faults follow each other on a timeline without overlapping;
//! - `duration` leaves time for the last arrival or fault, the startups,
//!   every backoff, and every message at its slowest (re-sent once per
//!   restart), plus a minute.
//!
//! The constants mirror timeouts inside the system (named where they live);
//! if those change, the envelope must follow.

use std::time::Duration;

use crate::scenario::{
    AgentName, DEFAULT_TOKEN_LIFETIME, Fault, FaultKind, MIN_TOKEN_LIFETIME, Range, Reconnect,
    Scenario, TokenKind, TokenVia, UserGroup,
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

/// `client/user.rs` MAX_BACKOFF: a user's reconnect delay never grows past it.
const CLIENT_MAX_BACKOFF_MS: u64 = 30_000;
/// `gateway/mod.rs` DRAIN_GRACE plus `gateway/conn.rs` CLOSE_TIMEOUT: how
/// long a restarting gateway may take to stop.
const DRAIN_MS: u64 = 3_000;
/// `gateway/auth_client.rs` CALL_TIMEOUT, twice (connect, then request).
const AUTH_CALL_MAX_MS: u64 = 4_000;
/// `orchestrator.rs` TOOL_WORK upper bound.
const TOOL_WORK_MAX_MS: u64 = 200;

/// How many groups and how many users per group.
#[derive(Debug, Clone)]
pub struct Shape {
    pub groups: std::ops::RangeInclusive<usize>,
    pub users_per_group: std::ops::RangeInclusive<u32>,
}

impl Shape {
    /// 1-60 users in 1-4 groups.
    pub fn any() -> Self {
        Shape {
            groups: 1..=4,
            users_per_group: 1..=15,
        }
    }

    /// 16-60 users in 2-4 groups: for isolation, where many connections
    /// must each keep to their own user.
    pub fn many() -> Self {
        Shape {
            groups: 2..=4,
            users_per_group: 8..=15,
        }
    }
}

/// The world's knobs as drawn.
#[derive(Debug, Clone)]
pub struct WorldDraft {
    /// `lb` strips `Authorization`; every group then sends the subprotocol.
    pub strip_authorization: bool,
    pub latency_ms: (u64, u64),
    pub auth_startup_ms: u64,
    pub gateway_startup_ms: u64,
    pub agents_startup_ms: u64,
    pub auth_retries: u32,
    pub auth_backoff_ms: u64,
    pub db_pool: u32,
    pub db_acquire_timeout_ms: u64,
    pub llm_latency_ms: (u64, u64),
    pub tools_per_run: (u32, u32),
}

fn world_draft() -> impl Strategy<Value = WorldDraft> {
    let latency = (1..=LATENCY_MAX_MS).prop_flat_map(|max| (1..=max, Just(max)));
    let startups = (0..=STARTUP_MAX_MS, 0..=STARTUP_MAX_MS, 0..=STARTUP_MAX_MS);
    let auth = (2..=4u32, 500..=1_500u64);
    let pool = (1..=20u32, 1_000..=10_000u64);
    let llm = (100..=900u64).prop_flat_map(|max| (50..=max, Just(max)));
    let tools = (1..=3u32).prop_flat_map(|max| (0..=max, Just(max)));
    (any::<bool>(), latency, startups, auth, pool, llm, tools).prop_map(
        |(strip, latency_ms, (a, g, p), (retries, backoff), (pool, acquire), llm, tools)| {
            WorldDraft {
                strip_authorization: strip,
                latency_ms,
                auth_startup_ms: a,
                gateway_startup_ms: g,
                agents_startup_ms: p,
                auth_retries: retries,
                auth_backoff_ms: backoff,
                db_pool: pool,
                db_acquire_timeout_ms: acquire,
                llm_latency_ms: llm,
                tools_per_run: tools,
            }
        },
    )
}

/// One `[[users]]` group as drawn; the reconnect budget is derived.
#[derive(Debug, Clone)]
pub struct GroupDraft {
    pub count: u32,
    pub token: TokenKind,
    /// 0: header, 1: subprotocol, 2: both, 3: nothing. With `Authorization`
    /// stripped, a valid group's header-only choice sends both instead.
    pub via: u8,
    pub arrive_max_ms: u64,
    pub messages: u32,
    pub agent: AgentName,
    pub backoff_ms: u64,
    /// Reconnect attempts beyond the least that cover every outage.
    pub extra_attempts: u32,
    /// Drawn as a group the gateway must refuse with 1008.
    pub refused: bool,
    /// Tokens that live the shortest allowed time (2 minutes), so that runs
    /// longer than that need the users' token refresh.
    pub short_tokens: bool,
}

fn agent() -> impl Strategy<Value = AgentName> {
    prop_oneof![
        Just(AgentName::DataHelper),
        Just(AgentName::UvsReporting),
        Just(AgentName::Triage),
    ]
}

fn group_draft(
    refused: bool,
    token: impl Strategy<Value = TokenKind>,
    via: impl Strategy<Value = u8>,
    count: std::ops::RangeInclusive<u32>,
) -> impl Strategy<Value = GroupDraft> {
    (
        token,
        via,
        count,
        0..=ARRIVE_MAX_MS,
        0..=3u32,
        agent(),
        200..=2_000u64,
        0..=3u32,
        any::<bool>(),
    )
        .prop_map(
            move |(
                token,
                via,
                count,
                arrive_max_ms,
                messages,
                agent,
                backoff_ms,
                extra_attempts,
                short_tokens,
            )| {
                GroupDraft {
                    count,
                    token,
                    via,
                    arrive_max_ms,
                    messages,
                    agent,
                    backoff_ms,
                    extra_attempts,
                    refused,
                    short_tokens,
                }
            },
        )
}

/// A group of valid users whose token survives the load balancer.
fn valid_group(count: std::ops::RangeInclusive<u32>) -> impl Strategy<Value = GroupDraft> {
    group_draft(false, Just(TokenKind::Valid), 0..=2u8, count)
}

/// A group that must be refused with 1008: an invalid token of any kind by
/// any delivery, or a valid token that never reaches the gateway (sent by
/// nothing, or only in a header the load balancer strips).
fn invalid_group() -> impl Strategy<Value = GroupDraft> {
    let invalid_token = prop_oneof![
        (
            prop_oneof![
                Just(TokenKind::Expired),
                Just(TokenKind::BadSignature),
                Just(TokenKind::Malformed),
                Just(TokenKind::Missing),
            ],
            0..=3u8
        ),
        (Just(TokenKind::Valid), Just(3u8)),
        // Header only: refused only when the header is stripped (see `via`).
        (Just(TokenKind::Valid), Just(0u8)),
    ];
    invalid_token.prop_flat_map(|(token, via)| group_draft(true, Just(token), Just(via), 1..=5))
}

/// One fault as drawn; its times are laid out by [`build`].
#[derive(Debug, Clone)]
pub enum FaultDraft {
    /// A partition (or a hold) between gateway and auth, lasting `permille`
    /// thousandths of the auth retry budget.
    Link {
        hold: bool,
        gap_ms: u64,
        permille: u64,
    },
    /// A gateway restart taking `for_ms` (0: at once).
    Restart { gap_ms: u64, for_ms: u64 },
}

fn fault_draft() -> impl Strategy<Value = FaultDraft> {
    prop_oneof![
        (any::<bool>(), 0..=FAULT_GAP_MAX_MS, 100..=900u64).prop_map(|(hold, gap_ms, permille)| {
            FaultDraft::Link {
                hold,
                gap_ms,
                permille,
            }
        }),
        (0..=FAULT_GAP_MAX_MS, 0..=RESTART_FOR_MAX_MS)
            .prop_map(|(gap_ms, for_ms)| FaultDraft::Restart { gap_ms, for_ms }),
    ]
}

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

/// A valid scenario of `shape`, with a seed that does not shrink.
pub fn valid_case(shape: Shape) -> impl Strategy<Value = Case> {
    let groups = proptest::collection::vec(valid_group(shape.users_per_group), shape.groups);
    (
        world_draft(),
        groups,
        proptest::collection::vec(fault_draft(), 0..=FAULTS_MAX),
        any::<u64>().no_shrink(),
    )
        .prop_map(|(world, groups, faults, seed)| Case {
            scenario: build(&world, &groups, &faults),
            seed,
        })
}

/// A valid scenario (1-3 groups of valid users) plus 1-5 groups that must
/// be refused with 1008, in random order.
pub fn mixed_case() -> impl Strategy<Value = Case> {
    let valid = proptest::collection::vec(valid_group(1..=10), 1..=3);
    let invalid = proptest::collection::vec(invalid_group(), 1..=5);
    (
        world_draft(),
        valid,
        invalid,
        proptest::collection::vec(fault_draft(), 0..=FAULTS_MAX),
        any::<u64>().no_shrink(),
        any::<u64>().no_shrink(),
    )
        .prop_map(|(world, valid, invalid, faults, seed, order)| {
            let mut groups: Vec<GroupDraft> = valid.into_iter().chain(invalid).collect();
            // A fixed shuffle from `order`: invalid users are not always last.
            let mut state = order;
            for i in (1..groups.len()).rev() {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                groups.swap(i, (state >> 33) as usize % (i + 1));
            }
            Case {
                scenario: build(&world, &groups, &faults),
                seed,
            }
        })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The least total time the gateway's auth retries span: the jittered
/// sleeps at their minimum (half of `backoff * 2^i` each).
pub fn auth_retry_budget_min_ms(retries: u32, backoff_ms: u64) -> u64 {
    backoff_ms * ((1u64 << retries) - 1) / 2
}

/// The longest time one connection can spend being authenticated: every
/// call timing out and every sleep at its maximum.
fn auth_retry_budget_max_ms(retries: u32, backoff_ms: u64) -> u64 {
    backoff_ms * ((1u64 << retries) - 1) + u64::from(retries + 1) * AUTH_CALL_MAX_MS
}

/// Reconnect delays of attempts 1..=n: `backoff * 2^(f-1)`, capped.
fn backoff_steps(backoff_ms: u64, n: u32) -> impl Iterator<Item = u64> {
    (0..n).map(move |f| {
        backoff_ms
            .saturating_mul(1u64 << f.min(40))
            .min(CLIENT_MAX_BACKOFF_MS)
    })
}

/// The fewest reconnect attempts whose delays, each at its jittered
/// minimum (half), add up to at least `need_ms`.
fn attempts_covering(backoff_ms: u64, need_ms: u64) -> u32 {
    let mut total = 0;
    let mut n = 0;
    while total < need_ms {
        total += backoff_steps(backoff_ms, n + 1).last().unwrap_or(0) / 2;
        n += 1;
    }
    n
}

/// The scenario a draft describes, with everything derived as the module
/// documentation says.
pub fn build(world: &WorldDraft, groups: &[GroupDraft], faults: &[FaultDraft]) -> Scenario {
    let retry_min = auth_retry_budget_min_ms(world.auth_retries, world.auth_backoff_ms);
    let retry_max = auth_retry_budget_max_ms(world.auth_retries, world.auth_backoff_ms);

    // Lay the faults out one after another.
    let mut laid = Vec::new();
    let mut t = 0u64;
    let mut outage_ms = 0u64;
    let mut restarts = 0u64;
    for draft in faults {
        match *draft {
            FaultDraft::Link {
                hold,
                gap_ms,
                permille,
            } => {
                let at = t + gap_ms;
                let length = (retry_min * permille / 1000).max(100);
                laid.push(Fault {
                    kind: if hold {
                        FaultKind::Hold
                    } else {
                        FaultKind::Partition
                    },
                    between: Some(["gateway".to_string(), "auth".to_string()]),
                    host: None,
                    at: ms(at),
                    duration: Some(ms(length)),
                });
                t = at + length;
                outage_ms += length;
            }
            FaultDraft::Restart { gap_ms, for_ms } => {
                let at = t + gap_ms;
                laid.push(Fault {
                    kind: FaultKind::Restart,
                    between: None,
                    host: Some("gateway".to_string()),
                    at: ms(at),
                    duration: (for_ms > 0).then(|| ms(for_ms)),
                });
                t = at + for_ms;
                outage_ms += DRAIN_MS + for_ms + world.gateway_startup_ms + world.agents_startup_ms;
                restarts += 1;
            }
        }
    }
    let faults_end_ms = t;

    // The longest a user may be kept from an established connection, all
    // outages back to back, plus a margin.
    let startup_ms = world.auth_startup_ms.max(world.gateway_startup_ms);
    let need_ms = startup_ms + outage_ms + retry_max + 10_000;

    let llm_max = world.llm_latency_ms.1;
    let tools_max = u64::from(world.tools_per_run.1);
    let per_message_ms = (tools_max + 1) * llm_max
        + tools_max * (world.db_acquire_timeout_ms + TOOL_WORK_MAX_MS)
        + 2_000;

    let mut users = Vec::new();
    let mut arrive_end_ms = 0u64;
    let mut backoff_total_ms = 0u64;
    let mut messages_max = 0u64;
    for g in groups {
        let attempts = attempts_covering(g.backoff_ms, need_ms) + g.extra_attempts;
        backoff_total_ms = backoff_total_ms.max(backoff_steps(g.backoff_ms, attempts).sum());
        arrive_end_ms = arrive_end_ms.max(g.arrive_max_ms);
        messages_max = messages_max.max(u64::from(g.messages));
        users.push(UserGroup {
            count: g.count,
            token: g.token,
            send_token_via: via(g, world.strip_authorization),
            arrive: Range::new(Duration::ZERO, ms(g.arrive_max_ms)),
            messages: g.messages,
            agent: g.agent,
            reconnect: Reconnect {
                attempts,
                backoff: ms(g.backoff_ms),
            },
            token_lifetime: if g.short_tokens {
                MIN_TOKEN_LIFETIME
            } else {
                DEFAULT_TOKEN_LIFETIME
            },
            ..UserGroup::default()
        });
    }

    let duration_ms = arrive_end_ms.max(faults_end_ms)
        + startup_ms
        + world.agents_startup_ms
        + retry_max
        + backoff_total_ms
        + (messages_max + restarts) * per_message_ms
        + 60_000;

    // Every key the envelope does not draw keeps its default, as a file
    // holding only `name` would give it (so new keys need no change here).
    let mut scenario = crate::scenario::parse(
        "name = \"generated\"\n",
        std::path::Path::new("generated.toml"),
    )
    .expect("a scenario file with only a name is valid");
    scenario.description = "generated by tests/properties.rs".to_string();
    scenario.duration = ms(duration_ms.div_ceil(1000) * 1000);
    scenario.network.latency = Range::new(ms(world.latency_ms.0), ms(world.latency_ms.1));
    if world.strip_authorization {
        scenario.load_balancer.strip_headers = vec!["authorization".to_string()];
    }
    scenario.auth.startup = ms(world.auth_startup_ms);
    let gateway = &mut scenario.gateway;
    gateway.startup = ms(world.gateway_startup_ms);
    gateway.auth_retries = world.auth_retries;
    gateway.auth_backoff = ms(world.auth_backoff_ms);
    let agents = &mut scenario.agents;
    agents.startup = ms(world.agents_startup_ms);
    agents.db_pool = world.db_pool;
    agents.db_acquire_timeout = ms(world.db_acquire_timeout_ms);
    agents.llm_latency = Range::new(ms(world.llm_latency_ms.0), ms(world.llm_latency_ms.1));
    agents.tools_per_run = Range::new(world.tools_per_run.0, world.tools_per_run.1);
    scenario.users = users;
    scenario.faults = laid;
    scenario
}

/// The token deliveries of a group. A group of valid users always gets its
/// token through (header-only becomes header and subprotocol when the header
/// is stripped); a refused group keeps what was drawn, except that a valid
/// token drawn as header-only reaches nobody only if the header is stripped,
/// so without stripping it is sent by nothing instead.
fn via(g: &GroupDraft, strip_authorization: bool) -> Vec<TokenVia> {
    let drawn = match g.via {
        0 => vec![TokenVia::Header],
        1 => vec![TokenVia::Subprotocol],
        2 => vec![TokenVia::Header, TokenVia::Subprotocol],
        _ => Vec::new(),
    };
    match (g.refused, g.token, g.via, strip_authorization) {
        (false, _, 0, true) => vec![TokenVia::Header, TokenVia::Subprotocol],
        (true, TokenKind::Valid, 0, false) => Vec::new(),
        _ => drawn,
    }
}
