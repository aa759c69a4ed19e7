//! Counts over a trace: close codes (overall and per user group), HTTP
//! rejections, messages sent / answered / rejected.
//!
//! Data flow: `trace + oracle's per-user index -> Summary`, computed once
//! per run into the [`Outcome`](super::Outcome); the text, JSON, snapshot
//! and HTML reports only read it.

use std::collections::{BTreeMap, BTreeSet};

use crate::oracle;
use crate::trace::{Kind, Trace, UserEnd};
use crate::vocab::ServerType;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Messages {
    /// Distinct messages users sent.
    pub sent: u64,
    /// Of those, answered with `agent_completed`.
    pub answered: u64,
    /// Of those, answered with an `error` event instead.
    pub rejected: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupSummary {
    pub users: u64,
    /// How each group member's token was declared, e.g. `valid via header`.
    pub token: String,
    pub close_codes: BTreeMap<u16, u64>,
    pub http_rejections: BTreeMap<u16, u64>,
    /// Users that finished with every message answered.
    pub done: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub sim_ms: u64,
    pub events: usize,
    pub users: u64,
    pub close_codes: BTreeMap<u16, u64>,
    pub groups: BTreeMap<usize, GroupSummary>,
    pub messages: Messages,
}

/// `1000x20 1011x1`, or `none`.
pub fn format_counts(m: &BTreeMap<u16, u64>) -> String {
    if m.is_empty() {
        return "none".into();
    }
    m.iter()
        .map(|(c, n)| format!("{c}x{n}"))
        .collect::<Vec<_>>()
        .join(" ")
}

impl GroupSummary {
    /// `6 users, valid via header: close codes 1000x6, http 503x2, 6 done`.
    pub fn describe(&self) -> String {
        let mut line = format!(
            "{} users, {}: close codes {}",
            self.users,
            self.token,
            format_counts(&self.close_codes)
        );
        if !self.http_rejections.is_empty() {
            line.push_str(&format!(", http {}", format_counts(&self.http_rejections)));
        }
        line.push_str(&format!(", {} done", self.done));
        line
    }
}

impl Summary {
    /// Counts over `trace`, whose per-user index the caller already built.
    pub fn of(trace: &Trace, users: &oracle::Users) -> Self {
        let mut s = Summary {
            sim_ms: trace.end.as_millis() as u64,
            events: trace.events.len(),
            ..Summary::default()
        };
        s.count_declared(trace);
        for view in users.values() {
            s.count_user(view);
        }
        s.count_http_rejections(trace, users);
        s
    }

    /// Users per group, and each group's token and how it is carried.
    fn count_declared(&mut self, trace: &Trace) {
        for e in &trace.events {
            let Kind::UserDeclared {
                group, token, via, ..
            } = &e.kind
            else {
                continue;
            };
            self.users += 1;
            let g = self.groups.entry(*group).or_default();
            g.users += 1;
            let via: Vec<&str> = via.iter().map(|v| v.as_str()).collect();
            let via = if via.is_empty() {
                "nothing".into()
            } else {
                via.join("+")
            };
            g.token = format!("{} via {via}", token.as_str());
        }
    }

    /// One user's close codes, whether it finished `done`, and its
    /// messages sent, answered and rejected.
    fn count_user(&mut self, view: &oracle::UserView) {
        let g = self.groups.entry(view.group).or_default();
        if matches!(&view.finished, Some((_, UserEnd::Done))) {
            g.done += 1;
        }
        let mut answered = BTreeSet::new();
        let mut rejected = BTreeSet::new();
        let mut sent = BTreeSet::new();
        for conn in view.conns.values() {
            if let Some((_, code, _, _)) = &conn.closed {
                *self.close_codes.entry(*code).or_default() += 1;
                *g.close_codes.entry(*code).or_default() += 1;
            }
            sent.extend(conn.sent.iter().map(|(_, m)| m.as_str()));
            for (_, ev) in &conn.received {
                match (ev.kind.server(), ev.message_id.as_deref()) {
                    (Some(ServerType::AgentCompleted), Some(m)) => answered.insert(m),
                    (Some(ServerType::Error), Some(m)) => rejected.insert(m),
                    _ => false,
                };
            }
        }
        // Only the user's own messages count: an answer delivered to the
        // wrong user (an isolation failure) answers nothing.
        let answered: BTreeSet<&str> = answered.intersection(&sent).copied().collect();
        let rejected_only = rejected
            .intersection(&sent)
            .filter(|m| !answered.contains(*m))
            .count();
        self.messages.sent += sent.len() as u64;
        self.messages.answered += answered.len() as u64;
        self.messages.rejected += rejected_only as u64;
    }

    /// HTTP refusals of the upgrade, per group.
    fn count_http_rejections(&mut self, trace: &Trace, users: &oracle::Users) {
        for e in &trace.events {
            if let Kind::HttpRejected { status, .. } = &e.kind
                && let Some(user) = &e.user
                && let Some(view) = users.get(user)
            {
                let g = self.groups.entry(view.group).or_default();
                *g.http_rejections.entry(*status).or_default() += 1;
            }
        }
    }
}
