//! A per-user view of a trace, built once and read by every invariant.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::trace::{Event, Incoming, Kind, Trace};

/// What one user declared and observed.
#[derive(Debug, Default)]
pub struct UserView {
    pub host: String,
    pub group: usize,
    pub entitled: bool,
    pub messages: u32,
    /// Sends a frame that rightly gets it closed: owed no answers.
    pub forfeits: bool,
    /// Connections in order, by their per-user number.
    pub conns: BTreeMap<u32, ConnView>,
    /// `(at, outcome)` of the user's `finished` event, if it finished.
    pub finished: Option<(Duration, String)>,
}

/// One connection as its user saw it.
#[derive(Debug, Default)]
pub struct ConnView {
    pub opened: bool,
    /// `(at, message_id)` of each user_message sent.
    pub sent: Vec<(Duration, String)>,
    pub received: Vec<(Duration, Incoming)>,
    /// `(at, code, reason, by_client)` when it closed.
    pub closed: Option<(Duration, u16, String, bool)>,
}

impl UserView {
    /// Every message id this user ever sent, on any connection.
    pub fn sent_ids(&self) -> impl Iterator<Item = &str> {
        self.conns
            .values()
            .flat_map(|c| c.sent.iter().map(|(_, m)| m.as_str()))
    }
}

/// Users by name (ordered, so violations come out in a fixed order).
pub type Users = BTreeMap<Rc<str>, UserView>;

/// The per-user view of `trace`.
pub fn build(trace: &Trace) -> Users {
    let mut users: BTreeMap<Rc<str>, UserView> = BTreeMap::new();
    for Event {
        at,
        host,
        user,
        kind,
    } in &trace.events
    {
        let Some(user) = user else { continue };
        // Server notes carry a user column too; only client hosts observe.
        if !host.starts_with("clients-") {
            continue;
        }
        let view = users.entry(user.clone()).or_default();
        match kind {
            Kind::UserDeclared {
                group,
                messages,
                entitled,
                misbehave,
                ..
            } => {
                view.forfeits = misbehave.forfeits_answers();
                view.host = host.to_string();
                view.group = *group;
                view.messages = *messages;
                view.entitled = *entitled;
            }
            Kind::Opened { conn, .. } => view.conns.entry(*conn).or_default().opened = true,
            Kind::Sent { conn, frame } => {
                let c = view.conns.entry(*conn).or_default();
                if frame.kind == "user_message"
                    && let Some(m) = &frame.message_id
                {
                    c.sent.push((*at, m.clone()));
                }
            }
            Kind::Received { conn, event } => {
                view.conns
                    .entry(*conn)
                    .or_default()
                    .received
                    .push((*at, event.clone()));
            }
            Kind::Closed {
                conn,
                code,
                reason,
                by_client,
            } => {
                view.conns.entry(*conn).or_default().closed =
                    Some((*at, *code, reason.clone(), *by_client));
            }
            Kind::Finished { outcome } => view.finished = Some((*at, outcome.clone())),
            _ => {}
        }
    }
    users
}
