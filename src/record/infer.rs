//! The scenario a recording suggests: user groups from the arrivals, faults
//! from bursts of closes, the pipeline's startup from when the first run
//! began after each boot. The result loads and runs with no edits.
//!
//! `journal::Entry`s -> per-user [`Seen`] -> groups (same token kind,
//! channels and message count) -> `Scenario`; the `[expect]` block is added
//! by `record` once the recording is judged (`observed`). What can and
//! cannot be inferred from the client's side is in docs/design.md,
//! "What record can infer".

use std::collections::BTreeMap;
use std::time::Duration;

use super::journal::{Entry, What};
use crate::scenario::{
    AgentName, Fault, Host, Range, Scenario, Target, TokenKind, TokenVia, UserGroup,
};
use crate::vocab::{ClientType, ReadType, SentKind, ServerType};

/// Closes within this much of a burst's first one belong to it.
const BURST_WINDOW: Duration = Duration::from_secs(1);

/// One user as the recording saw it.
#[derive(Debug, Clone, Default)]
pub struct Seen {
    pub first_at: Duration,
    pub token: String,
    pub via: Vec<String>,
    /// Distinct `user_message` ids sent.
    pub messages: std::collections::BTreeSet<String>,
    pub agent: Option<String>,
    /// Pauses between an answer and the next message, on one connection.
    pub thinks: Vec<Duration>,
}

/// Every user, by name, in the order first seen.
pub fn users(entries: &[Entry]) -> BTreeMap<String, Seen> {
    let mut users: BTreeMap<String, Seen> = BTreeMap::new();
    // The last answer per (user, connection): where a pause starts.
    let mut answered: BTreeMap<(String, u32), Duration> = BTreeMap::new();
    for e in entries {
        let key = (e.user.clone(), e.conn);
        match &e.what {
            What::Connecting { token_via, token } => {
                users.entry(e.user.clone()).or_insert_with(|| Seen {
                    first_at: e.at(),
                    token: token.clone(),
                    via: token_via.clone(),
                    ..Seen::default()
                });
            }
            What::Frame {
                dir,
                message: Some(m),
                ..
            } => {
                let Some(seen) = users.get_mut(&e.user) else {
                    continue;
                };
                if dir == "down"
                    && ReadType::named(&m.kind)
                        .server()
                        .is_some_and(ServerType::is_terminal)
                {
                    answered.insert(key, e.at());
                } else if dir == "up" && SentKind::named(&m.kind).is(ClientType::UserMessage) {
                    if let Some(at) = answered.remove(&key) {
                        seen.thinks.push(e.at().saturating_sub(at));
                    }
                    let id = m.message_id.clone().unwrap_or_default();
                    seen.messages.insert(id);
                    seen.agent = seen.agent.take().or_else(|| m.agent.clone());
                }
            }
            _ => {}
        }
    }
    users
}

/// What a group is told apart by: what its users' tokens are and how
/// they send them. Not their message counts, which a failure cuts short.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct GroupKey {
    token: String,
    via: Vec<String>,
}

/// The scenario's token kind for what the recording saw: a token it could
/// not check (no `--secret`) or not yet valid (a clock ahead) counts as
/// valid.
fn token_kind(seen: &str) -> TokenKind {
    seen.parse()
        .ok()
        .filter(|k| *k != TokenKind::Missing)
        .unwrap_or(TokenKind::Valid)
}

/// The groups, in the order their first user arrived, and each user's
/// group (from 0).
pub fn groups(users: &BTreeMap<String, Seen>) -> (Vec<UserGroup>, BTreeMap<String, usize>) {
    let mut by_arrival: Vec<(&String, &Seen)> = users.iter().collect();
    by_arrival.sort_by_key(|(name, s)| (s.first_at, *name));
    let mut keys: Vec<GroupKey> = Vec::new();
    let mut members: Vec<Vec<&Seen>> = Vec::new();
    let mut group_of = BTreeMap::new();
    for (name, seen) in by_arrival {
        let key = GroupKey {
            token: seen.token.clone(),
            via: seen.via.clone(),
        };
        let index = keys.iter().position(|k| *k == key).unwrap_or_else(|| {
            keys.push(key);
            members.push(Vec::new());
            keys.len() - 1
        });
        members[index].push(seen);
        group_of.insert(name.clone(), index);
    }
    let groups = keys
        .iter()
        .zip(&members)
        .map(|(k, m)| group(k, m))
        .collect();
    (groups, group_of)
}

fn group(key: &GroupKey, members: &[&Seen]) -> UserGroup {
    let first = members.iter().map(|s| s.first_at).min().unwrap_or_default();
    let last = members.iter().map(|s| s.first_at).max().unwrap_or_default();
    let thinks: Vec<Duration> = members
        .iter()
        .flat_map(|s| s.thinks.iter().copied())
        .collect();
    let think = match (thinks.iter().min(), thinks.iter().max()) {
        (Some(lo), Some(hi)) => Range::new(whole_ms(*lo), whole_ms(*hi)),
        _ => Range::new(Duration::ZERO, Duration::ZERO),
    };
    let agent = members
        .iter()
        .find_map(|s| s.agent.as_deref())
        .and_then(|a| a.parse::<AgentName>().ok())
        .unwrap_or(AgentName::DataHelper);
    let via = key
        .via
        .iter()
        .filter_map(|v| v.parse::<TokenVia>().ok())
        .collect();
    // The median user's count: one cut short by a failure, or a chatty
    // one, does not set the whole group's.
    let mut counts: Vec<u32> = members.iter().map(|s| s.messages.len() as u32).collect();
    counts.sort_unstable();
    UserGroup {
        count: members.len() as u32,
        token: token_kind(&key.token),
        send_token_via: via,
        arrive: Range::new(whole_ms(first), whole_ms(last)),
        messages: counts.get(counts.len() / 2).copied().unwrap_or(0),
        agent,
        think,
        ..UserGroup::default()
    }
}

fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// A burst of closes of one kind.
#[derive(Debug, Clone, PartialEq)]
pub struct Burst {
    pub at: Duration,
    pub code: u16,
    pub closes: usize,
}

/// Bursts of server closes with 1012 or 1001, and of 1006 with no close
/// frame: at least two closes of one code within [`BURST_WINDOW`], or
/// every connection open at that moment.
pub fn bursts(entries: &[Entry]) -> Vec<Burst> {
    let mut bursts = Vec::new();
    for code in [1012, 1001, 1006] {
        let side = if code == 1006 { "none" } else { "server" };
        let times: Vec<Duration> = entries
            .iter()
            .filter(|e| matches!(&e.what, What::Closed { code: c, side: s, .. } if *c == code && s == side))
            .map(Entry::at)
            .collect();
        let mut i = 0;
        while i < times.len() {
            let start = times[i];
            let n = times[i..]
                .iter()
                .take_while(|t| **t <= start + BURST_WINDOW)
                .count();
            if n >= 2 || (n == 1 && open_at(entries, start) <= 1) {
                bursts.push(Burst {
                    at: start,
                    code,
                    closes: n,
                });
            }
            i += n;
        }
    }
    bursts.sort_by_key(|b| b.at);
    bursts
}

/// Connections upgraded and not yet closed just before `at`.
fn open_at(entries: &[Entry], at: Duration) -> usize {
    let mut open = 0usize;
    for e in entries.iter().take_while(|e| e.at() < at) {
        match e.what {
            What::Opened { .. } => open += 1,
            What::Closed { .. } => open = open.saturating_sub(1),
            _ => {}
        }
    }
    open
}

/// The faults the bursts suggest: 1012 a gateway restart, 1001 a drain
/// (down until the backend accepted an upgrade again), 1006 a reset of the
/// connections `lb` splices to the backend.
pub fn faults(entries: &[Entry], bursts: &[Burst]) -> Vec<Fault> {
    bursts
        .iter()
        .map(|b| {
            let down = down_after(entries, b.at).map(whole_ms);
            let at = whole_ms(b.at);
            match b.code {
                1012 => Fault::Restart {
                    host: Host::Gateway,
                    at,
                    takes: down.unwrap_or_default(),
                },
                1001 => Fault::Drain {
                    at,
                    lasts: down.unwrap_or(Duration::from_secs(1)),
                },
                _ => Fault::Reset {
                    between: [Host::Lb, Host::Gateway],
                    at,
                },
            }
        })
        .collect()
}

/// How long after `at` the backend refused upgrades (the last refusal
/// before the next upgrade answered 101); `None` if it refused none.
fn down_after(entries: &[Entry], at: Duration) -> Option<Duration> {
    let after = entries.iter().filter(|e| e.at() >= at);
    let mut last_refusal = None;
    for e in after {
        match e.what {
            What::Opened { .. } => break,
            What::HttpRejected { .. } => last_refusal = Some(e.at() - at),
            _ => {}
        }
    }
    last_refusal.filter(|d| !d.is_zero())
}

/// How long the backend took after each boot (the start of the recording,
/// and each restart or drain once it accepted again) before it could run a
/// message, where someone was waiting: between the last message sent after
/// the boot that started no run (a backend that let it in too early) and
/// the first `agent_started`, halfway; with no such message, the first
/// `agent_started` itself. Of the boots, the estimate with the narrowest
/// bracket; none without a waiting client.
pub fn pipeline_startup(entries: &[Entry], faults: &[Fault]) -> Option<Duration> {
    let boots = std::iter::once(Duration::ZERO).chain(
        faults
            .iter()
            .filter(|f| matches!(f.target(), Target::Host(_)))
            .map(Fault::end),
    );
    boots
        .filter_map(|boot| startup_after(entries, boot))
        .min_by_key(|(bracket, _)| *bracket)
        .map(|(_, startup)| startup)
}

/// `(bracket width, estimate)` for one boot.
fn startup_after(entries: &[Entry], boot: Duration) -> Option<(Duration, Duration)> {
    let after: Vec<&Entry> = entries.iter().filter(|e| e.at() >= boot).collect();
    let is = |e: &Entry, dir: &str, kind: &str| matches!(&e.what, What::Frame { dir: d, message: Some(m), .. } if d == dir && m.kind == kind);
    let first = after.iter().find(|e| is(e, "down", "agent_started"))?;
    let (first_run, its_message) = (first.at(), message_id(first));
    let waiting = after.iter().any(|e| {
        e.at() + Duration::from_secs(1) < first_run && matches!(e.what, What::Connecting { .. })
    });
    if !waiting {
        return None;
    }
    let last_early = after
        .iter()
        .filter(|e| e.at() < first_run && is(e, "up", "user_message"))
        .filter(|e| message_id(e) != its_message)
        .map(|e| e.at())
        .max();
    let (bracket, ready) = match last_early {
        Some(early) => (first_run - early, early + (first_run - early) / 2),
        None => (first_run - boot, first_run),
    };
    let startup = (ready - boot).as_millis() as u64 / 100 * 100;
    Some((bracket, Duration::from_millis(startup)))
}

fn message_id(e: &Entry) -> Option<&str> {
    match &e.what {
        What::Frame {
            message: Some(m), ..
        } => m.message_id.as_deref(),
        _ => None,
    }
}

/// The whole scenario (its `[expect]` left empty).
pub fn scenario(entries: &[Entry], end: Duration) -> (Scenario, BTreeMap<String, usize>) {
    let seen = users(entries);
    let (groups, group_of) = groups(&seen);
    let bursts = bursts(entries);
    let faults = faults(entries, &bursts);
    let mut s = Scenario::with_defaults("scenario");
    s.description = format!(
        "Inferred by stagesim record from {} connection(s) of {} user(s) over {:.1}s",
        entries
            .iter()
            .filter(|e| matches!(e.what, What::Connecting { .. }))
            .count(),
        seen.len(),
        end.as_secs_f64(),
    );
    if let Some(startup) = pipeline_startup(entries, &faults) {
        s.agents.startup = startup;
    }
    let last = entries.last().map_or(Duration::ZERO, Entry::at).max(end);
    s.duration = Duration::from_secs(last.as_secs() + 2);
    s.users = groups;
    s.faults = faults;
    (s, group_of)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::journal::Message;

    fn at(ms: u64, user: &str, conn: u32, what: What) -> Entry {
        Entry {
            at_ms: ms,
            id: 0,
            user: user.into(),
            conn,
            what,
            line: None,
        }
    }

    fn connecting(ms: u64, user: &str, conn: u32, token: &str) -> Entry {
        let what = What::Connecting {
            token_via: vec!["header".into()],
            token: token.into(),
        };
        at(ms, user, conn, what)
    }

    fn closed(ms: u64, user: &str, code: u16, side: &str) -> Entry {
        let what = What::Closed {
            code,
            reason: String::new(),
            side: side.into(),
        };
        at(ms, user, 1, what)
    }

    fn opened(ms: u64, user: &str) -> Entry {
        at(ms, user, 1, What::Opened { protocol: None })
    }

    fn frame(ms: u64, user: &str, dir: &str, kind: &str, id: &str) -> Entry {
        let message = Message {
            kind: kind.into(),
            message_id: Some(id.into()),
            ..Message::default()
        };
        let what = What::Frame {
            dir: dir.into(),
            opcode: "text".into(),
            bytes: 10,
            message: Some(Box::new(message)),
            body: None,
        };
        at(ms, user, 1, what)
    }

    #[test]
    fn two_server_closes_within_a_second_are_a_burst_one_among_many_open_is_not() {
        let mut e = vec![
            opened(0, "a"),
            opened(0, "b"),
            opened(0, "c"),
            opened(0, "d"),
        ];
        e.extend([
            closed(5_000, "a", 1012, "server"),
            closed(5_900, "b", 1012, "server"),
        ]);
        e.push(closed(9_000, "c", 1001, "server"));
        let found = bursts(&e);
        assert_eq!(
            found,
            [Burst {
                at: Duration::from_secs(5),
                code: 1012,
                closes: 2
            }]
        );
        // Alone but the only connection open: a drain all the same.
        let e = vec![opened(0, "a"), closed(3_000, "a", 1001, "server")];
        assert_eq!(bursts(&e)[0].code, 1001);
        // 1006 bursts only without a close frame (side none).
        let e = vec![
            opened(0, "a"),
            opened(0, "b"),
            closed(1_000, "a", 1006, "none"),
            closed(1_200, "b", 1006, "none"),
        ];
        let f = faults(&e, &bursts(&e));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind().to_string(), "reset");
    }

    #[test]
    fn a_restart_lasts_until_the_last_refusal_before_an_upgrade_succeeds() {
        let e = vec![
            opened(0, "a"),
            opened(0, "b"),
            closed(10_000, "a", 1012, "server"),
            closed(10_010, "b", 1012, "server"),
            at(10_500, "a", 2, What::HttpRejected { status: 503 }),
            at(11_200, "b", 2, What::HttpRejected { status: 503 }),
            at(12_000, "a", 3, What::Opened { protocol: None }),
            at(13_000, "b", 3, What::HttpRejected { status: 503 }),
        ];
        let f = faults(&e, &bursts(&e));
        assert_eq!(f[0].kind().to_string(), "restart");
        assert_eq!(f[0].at(), Duration::from_secs(10));
        assert_eq!(f[0].lasts(), Some(Duration::from_millis(1_200)));
    }

    #[test]
    fn groups_split_by_token_and_count_the_median_user_s_messages() {
        let mut e = vec![
            connecting(100, "u1", 1, "valid"),
            connecting(900, "u2", 1, "valid"),
            connecting(500, "x1", 1, "expired"),
            connecting(2_000, "u3", 1, "valid"),
        ];
        for (user, n) in [("u1", 1), ("u2", 3), ("u3", 1)] {
            for m in 0..n {
                e.push(frame(
                    3_000,
                    user,
                    "up",
                    "user_message",
                    &format!("{user}-m{m}"),
                ));
            }
        }
        let (groups, of) = groups(&users(&e));
        assert_eq!(groups.len(), 2);
        assert_eq!((groups[0].count, groups[0].messages), (3, 1));
        assert_eq!(
            groups[0].arrive,
            Range::new(Duration::from_millis(100), Duration::from_secs(2))
        );
        assert_eq!(groups[1].token, TokenKind::Expired);
        assert_eq!((of["u2"], of["x1"]), (0, 1));
    }

    #[test]
    fn the_startup_is_halfway_between_the_last_message_too_early_and_the_first_run() {
        let e = vec![
            connecting(500, "a", 1, "valid"),
            frame(700, "a", "up", "user_message", "a-m1"),
            closed(710, "a", 1011, "server"),
            connecting(4_000, "b", 1, "valid"),
            frame(4_300, "b", "up", "user_message", "b-m1"),
            frame(4_700, "b", "down", "agent_started", "b-m1"),
        ];
        // Halfway between 0.7 s and 4.7 s.
        assert_eq!(
            pipeline_startup(&e, &[]),
            Some(Duration::from_millis(2_700))
        );
        // Nobody waiting before the first run: nothing to say.
        assert_eq!(pipeline_startup(&e[3..], &[]), None);
    }
}
