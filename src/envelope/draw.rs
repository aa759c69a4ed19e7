//! The drafts: what a case draws (world settings, user groups, faults),
//! each from its own strategy, holding only what is drawn. `build` derives
//! the rest.

use super::*;

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
pub(super) fn drawn<T: Clone + std::fmt::Debug + 'static>(
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

pub(super) fn world_draft(f: Families) -> impl Strategy<Value = WorldDraft> {
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

pub(super) fn agent() -> impl Strategy<Value = AgentName> {
    prop_oneof![
        Just(AgentName::DataHelper),
        Just(AgentName::UvsReporting),
        Just(AgentName::Triage),
    ]
}

pub(super) fn group_draft(
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
pub(super) fn valid_group(
    count: std::ops::RangeInclusive<u32>,
    f: Families,
) -> impl Strategy<Value = GroupDraft> {
    group_draft(false, Just(TokenKind::Valid), 0..=2u8, count, f)
}

/// A group of valid users who each send one invalid frame: the gateway
/// closes them (1007, 1009) or answers with an `error` event (an unknown
/// type), and owes the others around them a clean run.
pub(super) fn misbehaving_group(f: Families) -> impl Strategy<Value = GroupDraft> {
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
pub(super) fn invalid_group(f: Families) -> impl Strategy<Value = GroupDraft> {
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

pub(super) fn byte_draft() -> impl Strategy<Value = ByteDraft> {
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
pub(super) fn fault_drafts(f: Families) -> BoxedStrategy<Vec<FaultDraft>> {
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
