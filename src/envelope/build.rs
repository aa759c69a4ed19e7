//! A draft -> a valid scenario: everything that must follow from what was
//! drawn (reconnect budgets covering the longest time a user can be kept
//! out, faults laid on a timeline, a duration that leaves room for all of
//! it), so the scenario stays valid however the draft shrinks or mutates.

use super::*;

pub(super) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// The least total time the gateway's auth retries span: the jittered
/// sleeps at their minimum (half of `backoff * 2^i` each).
pub fn auth_retry_budget_min_ms(retries: u32, backoff_ms: u64) -> u64 {
    backoff_ms * ((1u64 << retries) - 1) / 2
}

/// The longest time one connection can spend being authenticated: every
/// call timing out and every sleep at its maximum.
pub(super) fn auth_retry_budget_max_ms(retries: u32, backoff_ms: u64) -> u64 {
    backoff_ms * ((1u64 << retries) - 1) + u64::from(retries + 1) * AUTH_CALL_MAX_MS
}

/// Reconnect delays of attempts 1..=n: `backoff * 2^(f-1)`, capped.
pub(super) fn backoff_steps(backoff_ms: u64, n: u32) -> impl Iterator<Item = u64> {
    (0..n).map(move |f| {
        backoff_ms
            .saturating_mul(1u64 << f.min(40))
            .min(CLIENT_MAX_BACKOFF_MS)
    })
}

/// The fewest reconnect attempts whose delays, each at its jittered
/// minimum (half), add up to at least `need_ms`.
pub(super) fn attempts_covering(backoff_ms: u64, need_ms: u64) -> u32 {
    let mut total = 0;
    let mut n = 0;
    while total < need_ms {
        total += backoff_steps(backoff_ms, n + 1).last().unwrap_or(0) / 2;
        n += 1;
    }
    n
}

/// The faults of a draft laid on a timeline, and what they cost users.
pub(super) struct Laid {
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
pub(super) fn lay_faults(world: &WorldDraft, faults: &[FaultDraft]) -> Laid {
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
        laid.end_ms = fault.at().as_millis() as u64 + length;
        laid.outage_ms += outage;
        laid.faults.push(fault);
    }
    laid
}

/// A partition or hold between gateway and auth lasting `permille`
/// thousandths of the least time the auth retries span: the fault, its
/// length and the outage it costs.
pub(super) fn lay_link(
    world: &WorldDraft,
    at_ms: u64,
    hold: bool,
    permille: u64,
) -> (Fault, u64, u64) {
    let retry_min = auth_retry_budget_min_ms(world.auth_retries, world.auth_backoff_ms);
    let length = (retry_min * permille / 1000).max(100);
    let (between, at, lasts) = ([Host::Gateway, Host::Auth], ms(at_ms), ms(length));
    let fault = if hold {
        Fault::Hold { between, at, lasts }
    } else {
        Fault::Partition { between, at, lasts }
    };
    (fault, length, length)
}

/// A gateway restart or drain taking `for_ms`.
pub(super) fn lay_stop(
    world: &WorldDraft,
    at_ms: u64,
    for_ms: u64,
    drain: bool,
) -> (Fault, u64, u64) {
    // A drain's `for` is required (the time until the gateway is back); a
    // restart's may be 0 (at once).
    let at = ms(at_ms);
    let (fault, for_ms) = if drain {
        let for_ms = for_ms.max(100);
        let lasts = ms(for_ms);
        (Fault::Drain { at, lasts }, for_ms)
    } else {
        let (host, takes) = (Host::Gateway, ms(for_ms));
        (Fault::Restart { host, at, takes }, for_ms)
    };
    let outage = DRAIN_MS + for_ms + world.gateway_startup_ms + world.agents_startup_ms;
    (fault, for_ms, outage)
}

/// Auth's clock (or every client's) off by `permille` thousandths of the
/// leeway less a second, for `for_ms`.
pub(super) fn lay_skew(
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
    let fault = Fault::Skew {
        host: if clients { Host::Clients } else { Host::Auth },
        at: ms(at_ms),
        lasts: ms(for_ms),
        by_ms: if ahead { by_ms } else { -by_ms },
    };
    (fault, for_ms, 0)
}

/// A byte-level fault on the clients' link at `at_ms`: the fault, how long
/// it lasts and what it keeps users out; its costs go into `laid`.
pub(super) fn lay_byte_fault(
    laid: &mut Laid,
    at_ms: u64,
    for_ms: u64,
    byte: ByteDraft,
) -> (Fault, u64, u64) {
    let between = [Host::Clients, Host::Lb];
    let (at, lasts) = (ms(at_ms), ms(for_ms));
    let extra = &mut laid.per_message_extra_ms;
    let fault = match byte {
        ByteDraft::Reset => {
            // Every open connection ends; its user reconnects at once and
            // re-sends what was unanswered.
            laid.stops += 1;
            return (Fault::Reset { between, at }, 0, 1_000);
        }
        ByteDraft::Slice { bytes } => Fault::Slice {
            between,
            at,
            lasts,
            bytes,
        },
        ByteDraft::Bandwidth { rate } => {
            // A message's agent events are about 4 KiB at most.
            *extra = (*extra).max(4 * 1024 * 1000 / rate);
            let bytes_per_sec = rate;
            Fault::Bandwidth {
                between,
                at,
                lasts,
                bytes_per_sec,
            }
        }
        ByteDraft::SlowClose { delay_ms } => {
            laid.close_extra_ms = laid.close_extra_ms.max(delay_ms);
            let delay = ms(delay_ms);
            Fault::SlowClose {
                between,
                at,
                lasts,
                delay,
            }
        }
        ByteDraft::Latency { delay_ms, up } => {
            *extra = (*extra).max(2 * delay_ms);
            let between = if up {
                between
            } else {
                [Host::Lb, Host::Clients]
            };
            let delay = ms(delay_ms);
            Fault::Latency {
                between,
                at,
                lasts,
                delay,
            }
        }
    };
    (fault, for_ms, 0)
}

/// The longest one message can take to be answered: every LLM step and
/// tool at its slowest, every database acquire timing out.
pub(super) fn per_message_ms(world: &WorldDraft) -> u64 {
    let llm_max = world.llm_latency_ms.1;
    let tools_max = u64::from(world.tools_per_run.1);
    (tools_max + 1) * llm_max + tools_max * (world.db_acquire_timeout_ms + TOOL_WORK_MAX_MS) + 2_000
}

/// The gateway's connection limit for `users`, if the draft sets one.
pub(super) fn connection_limit(world: &WorldDraft, users: u64) -> Option<u32> {
    let permille = world.connection_limit_permille?;
    Some((users * permille / 1000).max(1) as u32)
}

/// How long a user may wait for a free connection under the limit: every
/// other user ahead of it, in waves of `limit`, each chatting its longest.
pub(super) fn queue_ms(limit: Option<u32>, users: u64, session_ms: u64) -> u64 {
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
pub(super) fn user_group(g: &GroupDraft, strip_authorization: bool, need_ms: u64) -> UserGroup {
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
pub(super) fn world_scenario(world: &WorldDraft) -> Scenario {
    let mut scenario = crate::scenario::parse(
        "name = \"generated\"\n",
        std::path::Path::new("generated.toml"),
    )
    .expect("a scenario file with only a name is valid");
    scenario.description = "generated from the valid envelope (src/envelope/)".to_string();
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
pub(super) fn via(g: &GroupDraft, strip_authorization: bool) -> Vec<TokenVia> {
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
