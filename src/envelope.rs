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
//! The constants mirror timeouts inside the system (named where they live);
//! if those change, the envelope must follow.

use std::time::Duration;

use crate::scenario::{
    AgentName, DEFAULT_TOKEN_LIFETIME, Fault, FaultKind, MIN_TOKEN_LIFETIME, Misbehave, Range,
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

/// `client/user.rs` MAX_BACKOFF: a user's reconnect delay never grows past it.
const CLIENT_MAX_BACKOFF_MS: u64 = 30_000;
/// `gateway/mod.rs` DRAIN_GRACE plus `gateway/conn/mod.rs` CLOSE_TIMEOUT: how
/// long a restarting gateway may take to stop.
const DRAIN_MS: u64 = 3_000;
/// `gateway/auth_client.rs` CALL_TIMEOUT, twice (connect, then request).
const AUTH_CALL_MAX_MS: u64 = 4_000;
/// `orchestrator.rs` TOOL_WORK upper bound.
const TOOL_WORK_MAX_MS: u64 = 200;

/// The families of conditions a case may draw from. Swarm testing
/// (Groce et al., 2012): a run that switches whole families off explores
/// corners that a run drawing a little of everything never reaches, such as
/// a restart with nothing else going on. A family that is off keeps the
/// scenario file's default for what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    /// Partitions and holds between gateway and auth.
    pub link_faults: bool,
    /// Gateway restarts (1012).
    pub restarts: bool,
    /// Gateway drains (1001).
    pub drains: bool,
    /// Auth, gateway and pipeline startups of up to 20 s.
    pub slow_startups: bool,
    /// `lb` stripping `Authorization`.
    pub header_stripping: bool,
    /// A database pool of 1-20 connections with a short acquire timeout.
    pub pool_pressure: bool,
    /// A gateway connection limit below the number of users.
    pub connection_limit: bool,
    /// Tokens that live 2 minutes, so that users refresh them.
    pub short_tokens: bool,
    /// Groups the gateway must refuse with 1008.
    pub invalid_tokens: bool,
    /// Groups that send one invalid frame.
    pub misbehaving_users: bool,
    /// Byte-level faults at the load balancer: resets, slices, narrow
    /// bandwidth, held-back FINs, one-way latency.
    pub middlebox: bool,
    /// Auth's or the users' clocks off, within auth's leeway.
    pub clock_skew: bool,
}

impl Families {
    /// Every family of the valid-user envelope (no refused or misbehaving
    /// groups): what `valid_case` draws from.
    pub const VALID_USERS: Families = Families {
        link_faults: true,
        restarts: true,
        drains: true,
        slow_startups: true,
        header_stripping: true,
        pool_pressure: true,
        connection_limit: true,
        short_tokens: true,
        invalid_tokens: false,
        misbehaving_users: false,
        middlebox: true,
        clock_skew: true,
    };

    /// Every family off: what a run drawn around a given scenario
    /// (`explore --from`) reports, since it draws none.
    pub const NONE: Families = Families {
        link_faults: false,
        restarts: false,
        drains: false,
        slow_startups: false,
        header_stripping: false,
        pool_pressure: false,
        connection_limit: false,
        short_tokens: false,
        invalid_tokens: false,
        misbehaving_users: false,
        middlebox: false,
        clock_skew: false,
    };

    /// Every family on.
    pub const ALL: Families = Families {
        invalid_tokens: true,
        misbehaving_users: true,
        ..Families::VALID_USERS
    };

    /// `(name, on)` for each family, in declaration order.
    pub fn each(&self) -> [(&'static str, bool); 12] {
        [
            ("link_faults", self.link_faults),
            ("restarts", self.restarts),
            ("drains", self.drains),
            ("slow_startups", self.slow_startups),
            ("header_stripping", self.header_stripping),
            ("pool_pressure", self.pool_pressure),
            ("connection_limit", self.connection_limit),
            ("short_tokens", self.short_tokens),
            ("invalid_tokens", self.invalid_tokens),
            ("misbehaving_users", self.misbehaving_users),
            ("middlebox", self.middlebox),
            ("clock_skew", self.clock_skew),
        ]
    }

    /// The names of the families that are on.
    pub fn on(&self) -> Vec<&'static str> {
        self.each()
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }

    /// Each family on or off with even odds (the swarm draw).
    pub fn swarm() -> impl Strategy<Value = Families> {
        proptest::array::uniform12(any::<bool>()).prop_map(|b| Families {
            link_faults: b[0],
            restarts: b[1],
            drains: b[2],
            slow_startups: b[3],
            header_stripping: b[4],
            pool_pressure: b[5],
            connection_limit: b[6],
            short_tokens: b[7],
            invalid_tokens: b[8],
            misbehaving_users: b[9],
            middlebox: b[10],
            clock_skew: b[11],
        })
    }
}

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
    /// The gateway's connection limit, in thousandths of the users; `None`
    /// keeps the default limit (1000), which no generated case reaches.
    pub connection_limit_permille: Option<u64>,
    /// `[auth] leeway`, whole seconds: 2 to 59 when clocks may be off (a
    /// skew stays within it, and both together under the 2 minutes an
    /// expired token has been dead).
    pub leeway_s: u64,
    /// `[gateway] ready_timeout` when drawn (with slow startups, 1-10 s, so
    /// often below the pipeline's startup: connections are then closed 1013
    /// `agent pipeline not ready` and users come back); `None` keeps 30 s,
    /// longer than any drawn startup.
    pub ready_timeout_ms: Option<u64>,
}

/// A value of `on`, or `Just(off)` when its family is switched off.
fn drawn<T: Clone + std::fmt::Debug + 'static>(
    family: bool,
    on: impl Strategy<Value = T> + 'static,
    off: T,
) -> BoxedStrategy<T> {
    if family {
        on.boxed()
    } else {
        Just(off).boxed()
    }
}

fn world_draft(f: Families) -> impl Strategy<Value = WorldDraft> {
    let latency = (1..=LATENCY_MAX_MS).prop_flat_map(|max| (1..=max, Just(max)));
    let startup = || drawn(f.slow_startups, 0..=STARTUP_MAX_MS, 0);
    let ready = prop_oneof![2 => Just(None), 1 => (1_000..=10_000u64).prop_map(Some)];
    let startups = (
        startup(),
        startup(),
        startup(),
        drawn(f.slow_startups, ready, None),
    );
    let auth = (2..=4u32, 500..=1_500u64);
    let pool = drawn(f.pool_pressure, (1..=20u32, 1_000..=10_000u64), (10, 5_000));
    let llm = (100..=900u64).prop_flat_map(|max| (50..=max, Just(max)));
    let tools = (1..=3u32).prop_flat_map(|max| (0..=max, Just(max)));
    let strip = drawn(f.header_stripping, any::<bool>(), false);
    let limit = drawn(f.connection_limit, (100..=900u64).prop_map(Some), None);
    // An expired token died its lifetime (2 minutes at least) ago: leeway
    // plus skew must stay under that, or auth honestly lets it in.
    let limits = (limit, drawn(f.clock_skew, 2..=59u64, 0));
    (strip, latency, startups, auth, pool, llm, tools, limits).prop_map(
        |(
            strip,
            latency_ms,
            (a, g, p, ready_timeout_ms),
            (retries, backoff),
            (pool, acquire),
            llm,
            tools,
            (limit, leeway_s),
        )| {
            WorldDraft {
                connection_limit_permille: limit,
                leeway_s,
                ready_timeout_ms,
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
    /// The longest pause between an answer and the next message, 0 for
    /// none; drawn with the short tokens (20-70 s), so that users fall
    /// silent long enough for keepalive pings and chat past their token's
    /// expiry on an open connection.
    pub think_max_ms: u64,
    /// The invalid frame the group's users send once.
    pub misbehave: Misbehave,
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
    f: Families,
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
        drawn(
            f.short_tokens,
            (any::<bool>(), prop_oneof![Just(0u64), 20_000..=70_000u64]),
            (false, 0),
        ),
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
                (short_tokens, think_max_ms),
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
                    think_max_ms,
                    misbehave: Misbehave::None,
                }
            },
        )
}

/// A group of valid users whose token survives the load balancer.
fn valid_group(
    count: std::ops::RangeInclusive<u32>,
    f: Families,
) -> impl Strategy<Value = GroupDraft> {
    group_draft(false, Just(TokenKind::Valid), 0..=2u8, count, f)
}

/// A group of valid users who each send one invalid frame: the gateway
/// closes them (1007, 1009) or answers with an `error` event (an unknown
/// type), and owes the others around them a clean run.
fn misbehaving_group(f: Families) -> impl Strategy<Value = GroupDraft> {
    let misbehave = prop_oneof![
        Just(Misbehave::BadJson),
        Just(Misbehave::WrongShape),
        Just(Misbehave::Oversized),
        Just(Misbehave::UnknownType),
    ];
    (valid_group(1..=5, f), misbehave).prop_map(|(mut g, misbehave)| {
        g.misbehave = misbehave;
        g
    })
}

/// A group that must be refused with 1008: an invalid token of any kind by
/// any delivery, or a valid token that never reaches the gateway (sent by
/// nothing, or only in a header the load balancer strips).
fn invalid_group(f: Families) -> impl Strategy<Value = GroupDraft> {
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
    invalid_token
        .prop_flat_map(move |(token, via)| group_draft(true, Just(token), Just(via), 1..=5, f))
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
    /// A gateway restart (1012) or drain (1001) taking `for_ms` (0: at
    /// once).
    Restart {
        gap_ms: u64,
        for_ms: u64,
        drain: bool,
    },
    /// Auth's clock (or every client's) off by `permille` thousandths of
    /// the leeway, less a second, behind or `ahead`, for `for_ms`.
    Skew {
        gap_ms: u64,
        for_ms: u64,
        clients: bool,
        ahead: bool,
        permille: u64,
    },
    /// A byte-level fault at the load balancer, on the clients' link, for
    /// `for_ms` (a reset has no window).
    Middlebox {
        gap_ms: u64,
        for_ms: u64,
        byte: ByteDraft,
    },
}

/// Which byte-level fault, with its setting.
#[derive(Debug, Clone, Copy)]
pub enum ByteDraft {
    Reset,
    Slice {
        bytes: u32,
    },
    /// Bytes a second, at least [`BANDWIDTH_MIN`].
    Bandwidth {
        rate: u64,
    },
    SlowClose {
        delay_ms: u64,
    },
    /// Towards the gateway (`up`) or towards the users.
    Latency {
        delay_ms: u64,
        up: bool,
    },
}

/// The narrowest link the envelope draws: a message's 13 agent events,
/// about 3 KiB, in at most 3 s.
pub const BANDWIDTH_MIN: u64 = 1024;
/// The longest a FIN is held back, or one direction delayed.
pub const BYTE_DELAY_MAX_MS: u64 = 2_000;
/// The longest window of a byte-level fault.
pub const BYTE_FOR_MAX_MS: u64 = 20_000;

fn byte_draft() -> impl Strategy<Value = ByteDraft> {
    prop_oneof![
        Just(ByteDraft::Reset),
        // At least 8: a 100 KiB frame of a misbehaving user in 1-byte
        // pieces would be 100,000 segments.
        (8..=64u32).prop_map(|bytes| ByteDraft::Slice { bytes }),
        (BANDWIDTH_MIN..=64 * 1024).prop_map(|rate| ByteDraft::Bandwidth { rate }),
        (1..=BYTE_DELAY_MAX_MS).prop_map(|delay_ms| ByteDraft::SlowClose { delay_ms }),
        (1..=BYTE_DELAY_MAX_MS, any::<bool>())
            .prop_map(|(delay_ms, up)| ByteDraft::Latency { delay_ms, up }),
    ]
}

/// The faults of the families that are on: at most [`FAULTS_MAX`].
fn fault_drafts(f: Families) -> BoxedStrategy<Vec<FaultDraft>> {
    let link =
        (any::<bool>(), 0..=FAULT_GAP_MAX_MS, 100..=900u64).prop_map(|(hold, gap_ms, permille)| {
            FaultDraft::Link {
                hold,
                gap_ms,
                permille,
            }
        });
    let stop = |drain: bool| {
        (0..=FAULT_GAP_MAX_MS, 0..=RESTART_FOR_MAX_MS).prop_map(move |(gap_ms, for_ms)| {
            FaultDraft::Restart {
                gap_ms,
                for_ms,
                drain,
            }
        })
    };
    let mut kinds: Vec<BoxedStrategy<FaultDraft>> = Vec::new();
    if f.link_faults {
        kinds.push(link.boxed());
    }
    if f.restarts {
        kinds.push(stop(false).boxed());
    }
    if f.drains {
        kinds.push(stop(true).boxed());
    }
    if f.clock_skew {
        let skew = (
            0..=FAULT_GAP_MAX_MS,
            1..=BYTE_FOR_MAX_MS,
            any::<bool>(),
            any::<bool>(),
            1..=1000u64,
        )
            .prop_map(
                |(gap_ms, for_ms, clients, ahead, permille)| FaultDraft::Skew {
                    gap_ms,
                    for_ms,
                    clients,
                    ahead,
                    permille,
                },
            );
        kinds.push(skew.boxed());
    }
    if f.middlebox {
        let byte = (0..=FAULT_GAP_MAX_MS, 1..=BYTE_FOR_MAX_MS, byte_draft()).prop_map(
            |(gap_ms, for_ms, byte)| FaultDraft::Middlebox {
                gap_ms,
                for_ms,
                byte,
            },
        );
        kinds.push(byte.boxed());
    }
    if kinds.is_empty() {
        return Just(Vec::new()).boxed();
    }
    proptest::collection::vec(proptest::strategy::Union::new(kinds), 0..=FAULTS_MAX).boxed()
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

/// The faults of a draft laid on a timeline, and what they cost users.
struct Laid {
    faults: Vec<Fault>,
    /// When the last fault ends.
    end_ms: u64,
    /// The longest all the faults can keep a user out, back to back.
    outage_ms: u64,
    /// Restarts, drains and resets: each may cost a message its answer
    /// once.
    stops: u64,
    /// What the slowest byte-level fault adds to one message's answer.
    per_message_extra_ms: u64,
    /// What a held-back FIN adds to the end of a user's last session.
    close_extra_ms: u64,
}

/// Lays the faults one after another (see the module documentation).
fn lay_faults(world: &WorldDraft, faults: &[FaultDraft]) -> Laid {
    let mut laid = Laid {
        faults: Vec::new(),
        end_ms: 0,
        outage_ms: 0,
        stops: 0,
        per_message_extra_ms: 0,
        close_extra_ms: 0,
    };
    for draft in faults {
        let (fault, length, outage) = match *draft {
            FaultDraft::Link {
                hold,
                gap_ms,
                permille,
            } => lay_link(world, laid.end_ms + gap_ms, hold, permille),
            FaultDraft::Restart {
                gap_ms,
                for_ms,
                drain,
            } => {
                laid.stops += 1;
                lay_stop(world, laid.end_ms + gap_ms, for_ms, drain)
            }
            FaultDraft::Skew {
                gap_ms,
                for_ms,
                clients,
                ahead,
                permille,
            } => {
                let at_ms = laid.end_ms + gap_ms;
                lay_skew(world, at_ms, for_ms, clients, ahead, permille)
            }
            FaultDraft::Middlebox {
                gap_ms,
                for_ms,
                byte,
            } => {
                let at_ms = laid.end_ms + gap_ms;
                lay_byte_fault(&mut laid, at_ms, for_ms, byte)
            }
        };
        laid.end_ms = fault.at.as_millis() as u64 + length;
        laid.outage_ms += outage;
        laid.faults.push(fault);
    }
    laid
}

/// A fault of `kind` at `at_ms` lasting `for_ms`, with no link, host or
/// setting yet.
fn bare(kind: FaultKind, at_ms: u64, for_ms: Option<u64>) -> Fault {
    Fault {
        kind,
        between: None,
        host: None,
        at: ms(at_ms),
        duration: for_ms.map(ms),
        bytes: None,
        rate: None,
        delay: None,
        by: None,
    }
}

/// A partition or hold between gateway and auth lasting `permille`
/// thousandths of the least time the auth retries span: the fault, its
/// length and the outage it costs.
fn lay_link(world: &WorldDraft, at_ms: u64, hold: bool, permille: u64) -> (Fault, u64, u64) {
    let retry_min = auth_retry_budget_min_ms(world.auth_retries, world.auth_backoff_ms);
    let length = (retry_min * permille / 1000).max(100);
    let kind = if hold {
        FaultKind::Hold
    } else {
        FaultKind::Partition
    };
    let mut fault = bare(kind, at_ms, Some(length));
    fault.between = Some(["gateway".to_string(), "auth".to_string()]);
    (fault, length, length)
}

/// A gateway restart or drain taking `for_ms`.
fn lay_stop(world: &WorldDraft, at_ms: u64, for_ms: u64, drain: bool) -> (Fault, u64, u64) {
    // A drain's `for` is required (the time until the gateway is back); a
    // restart's may be left out (at once).
    let (kind, for_ms) = if drain {
        (FaultKind::Drain, for_ms.max(100))
    } else {
        (FaultKind::Restart, for_ms)
    };
    let mut fault = bare(kind, at_ms, (for_ms > 0).then_some(for_ms));
    fault.host = Some("gateway".to_string());
    let outage = DRAIN_MS + for_ms + world.gateway_startup_ms + world.agents_startup_ms;
    (fault, for_ms, outage)
}

/// Auth's clock (or every client's) off by `permille` thousandths of the
/// leeway less a second, for `for_ms`.
fn lay_skew(
    world: &WorldDraft,
    at_ms: u64,
    for_ms: u64,
    clients: bool,
    ahead: bool,
    permille: u64,
) -> (Fault, u64, u64) {
    // Within the leeway by a second at least: `iat` and `exp` are whole
    // seconds.
    let most = world.leeway_s.saturating_sub(1) * 1000;
    let by_ms = (most * permille / 1000).max(1) as i64;
    let mut fault = bare(FaultKind::Skew, at_ms, Some(for_ms));
    fault.host = Some(if clients { "clients" } else { "auth" }.to_string());
    fault.by = Some(if ahead { by_ms } else { -by_ms });
    (fault, for_ms, 0)
}

/// A byte-level fault on the clients' link at `at_ms`: the fault, how long
/// it lasts and what it keeps users out; its costs go into `laid`.
fn lay_byte_fault(laid: &mut Laid, at_ms: u64, for_ms: u64, byte: ByteDraft) -> (Fault, u64, u64) {
    let mut fault = bare(FaultKind::Reset, at_ms, Some(for_ms));
    fault.between = Some(["clients".to_string(), "lb".to_string()]);
    let extra = &mut laid.per_message_extra_ms;
    match byte {
        ByteDraft::Reset => {
            // Every open connection ends; its user reconnects at once and
            // re-sends what was unanswered.
            laid.stops += 1;
            fault.duration = None;
            return (fault, 0, 1_000);
        }
        ByteDraft::Slice { bytes } => {
            fault.kind = FaultKind::Slice;
            fault.bytes = Some(bytes);
        }
        ByteDraft::Bandwidth { rate } => {
            fault.kind = FaultKind::Bandwidth;
            fault.rate = Some(rate);
            // A message's agent events are about 4 KiB at most.
            *extra = (*extra).max(4 * 1024 * 1000 / rate);
        }
        ByteDraft::SlowClose { delay_ms } => {
            fault.kind = FaultKind::SlowClose;
            fault.delay = Some(ms(delay_ms));
            laid.close_extra_ms = laid.close_extra_ms.max(delay_ms);
        }
        ByteDraft::Latency { delay_ms, up } => {
            fault.kind = FaultKind::Latency;
            fault.delay = Some(ms(delay_ms));
            if !up {
                fault.between = Some(["lb".to_string(), "clients".to_string()]);
            }
            *extra = (*extra).max(2 * delay_ms);
        }
    }
    (fault, for_ms, 0)
}

/// The longest one message can take to be answered: every LLM step and
/// tool at its slowest, every database acquire timing out.
fn per_message_ms(world: &WorldDraft) -> u64 {
    let llm_max = world.llm_latency_ms.1;
    let tools_max = u64::from(world.tools_per_run.1);
    (tools_max + 1) * llm_max + tools_max * (world.db_acquire_timeout_ms + TOOL_WORK_MAX_MS) + 2_000
}

/// The gateway's connection limit for `users`, if the draft sets one.
fn connection_limit(world: &WorldDraft, users: u64) -> Option<u32> {
    let permille = world.connection_limit_permille?;
    Some((users * permille / 1000).max(1) as u32)
}

/// How long a user may wait for a free connection under the limit: every
/// other user ahead of it, in waves of `limit`, each chatting its longest.
fn queue_ms(limit: Option<u32>, users: u64, session_ms: u64) -> u64 {
    match limit {
        Some(limit) => users.div_ceil(u64::from(limit)) * session_ms,
        None => 0,
    }
}

/// The scenario a draft describes, with everything derived as the module
/// documentation says.
pub fn build(world: &WorldDraft, groups: &[GroupDraft], faults: &[FaultDraft]) -> Scenario {
    let retry_max = auth_retry_budget_max_ms(world.auth_retries, world.auth_backoff_ms);
    let laid = lay_faults(world, faults);
    let per_message_ms = per_message_ms(world) + laid.per_message_extra_ms;
    let messages_max = groups
        .iter()
        .map(|g| u64::from(g.messages))
        .max()
        .unwrap_or(0);
    let total_users: u64 = groups.iter().map(|g| u64::from(g.count)).sum();
    let limit = connection_limit(world, total_users);
    // Every pause between messages at its longest.
    let think_ms = groups
        .iter()
        .map(|g| u64::from(g.messages) * g.think_max_ms)
        .max()
        .unwrap_or(0);
    let session_ms = (messages_max + laid.stops + 1) * per_message_ms + think_ms + retry_max;

    // The longest a user may be kept from an established connection, all
    // outages back to back and every wave ahead of it, plus a margin.
    // Under a short ready timeout, users are refused 1013 until the
    // pipeline is ready, not kept waiting on an open connection.
    let pipeline_ms = match world.ready_timeout_ms {
        Some(_) => world.agents_startup_ms,
        None => 0,
    };
    let startup_ms = world
        .auth_startup_ms
        .max(world.gateway_startup_ms + pipeline_ms);
    let need_ms =
        startup_ms + laid.outage_ms + retry_max + queue_ms(limit, total_users, session_ms) + 10_000;

    let users: Vec<UserGroup> = groups
        .iter()
        .map(|g| user_group(g, world.strip_authorization, need_ms))
        .collect();
    let backoff_total_ms = users
        .iter()
        .map(|u| {
            let backoff = u.reconnect.backoff.as_millis() as u64;
            backoff_steps(backoff, u.reconnect.attempts).sum::<u64>()
        })
        .max()
        .unwrap_or(0);
    let arrive_end_ms = groups.iter().map(|g| g.arrive_max_ms).max().unwrap_or(0);
    let duration_ms = arrive_end_ms.max(laid.end_ms)
        + startup_ms
        + world.agents_startup_ms
        + retry_max
        + backoff_total_ms
        + (messages_max + laid.stops) * per_message_ms
        + think_ms
        + laid.close_extra_ms
        + 60_000;

    let mut scenario = world_scenario(world);
    scenario.duration = ms(duration_ms.div_ceil(1000) * 1000);
    if let Some(limit) = limit {
        scenario.gateway.max_connections = limit;
    }
    scenario.users = users;
    scenario.faults = laid.faults;
    scenario
}

/// One `[[users]]` group, with a reconnect budget whose delays, each at its
/// least, cover `need_ms`.
fn user_group(g: &GroupDraft, strip_authorization: bool, need_ms: u64) -> UserGroup {
    UserGroup {
        count: g.count,
        token: g.token,
        send_token_via: via(g, strip_authorization),
        arrive: Range::new(Duration::ZERO, ms(g.arrive_max_ms)),
        messages: g.messages,
        agent: g.agent,
        reconnect: Reconnect {
            attempts: attempts_covering(g.backoff_ms, need_ms) + g.extra_attempts,
            backoff: ms(g.backoff_ms),
        },
        token_lifetime: if g.short_tokens {
            MIN_TOKEN_LIFETIME
        } else {
            DEFAULT_TOKEN_LIFETIME
        },
        misbehave: g.misbehave,
        think: Range::new(ms(g.think_max_ms / 2), ms(g.think_max_ms)),
        ..UserGroup::default()
    }
}

/// A scenario with the world's knobs as drawn and no users or faults yet.
/// Every key the envelope does not draw keeps its default, as a file holding
/// only `name` would give it (so new keys need no change here).
fn world_scenario(world: &WorldDraft) -> Scenario {
    let mut scenario = crate::scenario::parse(
        "name = \"generated\"\n",
        std::path::Path::new("generated.toml"),
    )
    .expect("a scenario file with only a name is valid");
    scenario.description = "generated from the valid envelope (src/envelope.rs)".to_string();
    scenario.network.latency = Range::new(ms(world.latency_ms.0), ms(world.latency_ms.1));
    if world.strip_authorization {
        scenario.load_balancer.strip_headers = vec!["authorization".to_string()];
    }
    scenario.auth.startup = ms(world.auth_startup_ms);
    scenario.auth.leeway = Duration::from_secs(world.leeway_s);
    let gateway = &mut scenario.gateway;
    gateway.startup = ms(world.gateway_startup_ms);
    gateway.auth_retries = world.auth_retries;
    gateway.auth_backoff = ms(world.auth_backoff_ms);
    if let Some(ready) = world.ready_timeout_ms {
        gateway.ready_timeout = ms(ready);
    }
    let agents = &mut scenario.agents;
    agents.startup = ms(world.agents_startup_ms);
    agents.db_pool = world.db_pool;
    agents.db_acquire_timeout = ms(world.db_acquire_timeout_ms);
    agents.llm_latency = Range::new(ms(world.llm_latency_ms.0), ms(world.llm_latency_ms.1));
    agents.tools_per_run = Range::new(world.tools_per_run.0, world.tools_per_run.1);
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
