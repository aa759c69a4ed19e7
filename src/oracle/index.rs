//! A per-user view of a trace, built once and read by every invariant.
//!
//! Both sides of each connection are here: what the user's browser saw
//! (client events), the token it presented, and what the gateway did with
//! the connection it accepted for it. The two are linked by the request id
//! the gateway records on ACCEPTED (`user-0001/c2`), never by reading text.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use crate::scenario::{TokenKind, TokenVia};
use crate::trace::{
    AuthEvent, Component, ConnEvent, ConnId, ConnState, Event, FaultEvent, GatewayEvent, Incoming,
    Kind, PipelineEvent, RunId, Trace, UserEnd,
};
use crate::vocab::ClientType;

/// What one user declared and observed.
#[derive(Debug, Default)]
pub struct UserView {
    pub host: String,
    pub group: usize,
    /// Declared with a valid token sent by a channel that survives the load
    /// balancer: owed admission.
    pub entitled: bool,
    pub messages: u32,
    /// Sends a frame that rightly gets it closed: owed no answers.
    pub forfeits: bool,
    /// How the user sends its token.
    pub via: Vec<TokenVia>,
    /// Connections in order, by their per-user number.
    pub conns: BTreeMap<u32, ConnView>,
    /// `(at, outcome)` of the user's `finished` event, if it finished.
    pub finished: Option<(Duration, UserEnd)>,
    /// The messages answered when the user stopped at the heal, if it did:
    /// all it is owed, since it sent nothing more.
    pub stopped_at_heal: Option<u32>,
    /// Outputs of this user's runs that the gateway handed to a connection
    /// that had already closed: `(at, run, closed connection)`.
    pub lost: Vec<(Duration, RunId, ConnId)>,
}

/// The token a user held when it started a connection attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Presented {
    pub kind: TokenKind,
    /// When auth starts refusing it (valid tokens only).
    pub valid_until: Option<Duration>,
}

/// One connection as its user saw it, and as the gateway handled it.
#[derive(Debug, Default)]
pub struct ConnView {
    /// When the user started the attempt, and the token it held then.
    pub connecting: Option<(Duration, Presented)>,
    pub opened: bool,
    /// `(at, message_id)` of each user_message sent.
    pub sent: Vec<(Duration, String)>,
    /// `(message_id, agent)` of each user_message sent: the evidence an
    /// `unknown_agent` answer needs.
    pub sent_agents: Vec<(String, Option<String>)>,
    /// When the user sent a frame of a type the protocol does not have:
    /// the evidence an `unknown_message_type` answer needs.
    pub unknown_types_sent: Vec<Duration>,
    pub received: Vec<(Duration, Incoming)>,
    /// `(at, code, reason, by_client)` when it closed.
    pub closed: Option<(Duration, u16, String, bool)>,
    /// The gateway's side, when the gateway accepted the connection.
    pub server: Option<ServerConn>,
}

/// What the gateway did with one connection.
#[derive(Debug, Clone)]
pub struct ServerConn {
    pub id: ConnId,
    /// When the gateway first treated the connection as a user's: it
    /// accepted an identity (AUTHENTICATED) or went further.
    pub admitted: Option<Duration>,
    /// The gateway's close: `(at, code, component)`.
    pub close: Option<(Duration, u16, Option<Component>)>,
    /// The messages the gateway refused at its run limit: the evidence an
    /// `overloaded` without a run needs.
    pub run_limited: Vec<String>,
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

/// Headers the load balancer strips for the whole run.
pub fn stripped_headers(trace: &Trace) -> BTreeSet<&str> {
    trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Fault(FaultEvent::StripHeader { header }) => Some(header.as_str()),
            _ => None,
        })
        .collect()
}

/// The leeway auth allows past a token's `exp` (the largest any boot
/// recorded): a token that expired less than this ago may be admitted.
pub fn auth_leeway(trace: &Trace) -> Duration {
    trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Auth(AuthEvent::Booting { leeway, .. }) => Some(*leeway),
            _ => None,
        })
        .max()
        .unwrap_or_default()
}

/// When the heal phase began, if the run reached it.
pub fn heal_at(trace: &Trace) -> Option<Duration> {
    trace.events.iter().find_map(|e| match &e.kind {
        Kind::Fault(FaultEvent::Heal { .. }) => Some(e.at),
        _ => None,
    })
}

/// The clock skews of a run: when a host's clock went off by more than
/// auth's leeway, and when it came right, from the trace's skew events.
#[derive(Debug, Default)]
pub struct Skews(Vec<(Duration, String, bool)>);

impl Skews {
    pub fn of(trace: &Trace) -> Self {
        Skews(
            trace
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    Kind::Fault(FaultEvent::Skew {
                        host,
                        beyond_leeway,
                        ..
                    }) => Some((e.at, host.clone(), *beyond_leeway)),
                    _ => None,
                })
                .collect(),
        )
    }

    /// Whether some host's clock was off by more than the leeway at `at`.
    pub fn beyond_leeway_at(&self, at: Duration) -> bool {
        let mut state: BTreeMap<&str, bool> = BTreeMap::new();
        for (_, host, beyond) in self.0.iter().filter(|(when, ..)| *when <= at) {
            state.insert(host.as_str(), *beyond);
        }
        state.values().any(|b| *b)
    }
}

/// The per-user view of `trace`.
pub fn build(trace: &Trace) -> Users {
    let mut users = Users::new();
    let mut held: BTreeMap<Rc<str>, Presented> = BTreeMap::new();
    let mut links = Links::default();
    for e in &trace.events {
        match &e.kind {
            Kind::Gateway(GatewayEvent::Conn { conn, event }) => {
                links.gateway(&mut users, e.at, *conn, event)
            }
            Kind::Pipeline(PipelineEvent::OutputLost { run, to, .. }) => {
                links.lost(&mut users, e.at, *run, *to)
            }
            _ => client_event(&mut users, &mut held, e),
        }
    }
    users
}

/// What a client host recorded, into its user's view.
fn client_event(users: &mut Users, held: &mut BTreeMap<Rc<str>, Presented>, e: &Event) {
    let Some(user) = &e.user else { return };
    if !e.host.starts_with("clients-") {
        return;
    }
    let view = users.entry(user.clone()).or_default();
    let at = e.at;
    match &e.kind {
        Kind::UserDeclared {
            group,
            messages,
            entitled,
            misbehave,
            via,
            ..
        } => {
            view.forfeits = misbehave.forfeits_answers();
            view.host = e.host.to_string();
            view.group = *group;
            view.messages = *messages;
            view.entitled = *entitled;
            view.via = via.clone();
        }
        Kind::TokenIssued {
            token, valid_until, ..
        } => {
            let presented = Presented {
                kind: *token,
                valid_until: *valid_until,
            };
            held.insert(user.clone(), presented);
        }
        Kind::Connecting { conn, .. } => {
            let token = held.get(user).copied().unwrap_or(Presented {
                kind: TokenKind::Missing,
                valid_until: None,
            });
            view.conns.entry(*conn).or_default().connecting = Some((at, token));
        }
        Kind::Opened { conn, .. } => view.conns.entry(*conn).or_default().opened = true,
        Kind::Sent { conn, frame } => {
            let c = view.conns.entry(*conn).or_default();
            if frame.kind.is(ClientType::UserMessage)
                && let Some(m) = &frame.message_id
            {
                c.sent.push((at, m.clone()));
                c.sent_agents.push((m.clone(), frame.agent.clone()));
            }
            if frame.is_unknown_type() {
                c.unknown_types_sent.push(at);
            }
        }
        Kind::Received { conn, event } => {
            let c = view.conns.entry(*conn).or_default();
            c.received.push((at, event.clone()));
        }
        Kind::Closed {
            conn,
            code,
            reason,
            by_client,
        } => {
            view.conns.entry(*conn).or_default().closed =
                Some((at, *code, reason.clone(), *by_client));
        }
        Kind::Finished { outcome } => view.finished = Some((at, outcome.clone())),
        Kind::StoppedAtHeal { answered } => view.stopped_at_heal = Some(*answered),
        _ => {}
    }
}

/// Gateway connections, linked to the user's connection that asked for
/// them.
#[derive(Default)]
struct Links {
    /// Gateway connection -> (user, the user's connection number).
    owner: BTreeMap<ConnId, (Rc<str>, u32)>,
}

impl Links {
    fn gateway(&mut self, users: &mut Users, at: Duration, id: ConnId, event: &ConnEvent) {
        if let ConnEvent::Accepted { request: Some(r) } = event {
            self.owner.insert(id, (r.user.clone(), r.conn));
            let view = users.entry(r.user.clone()).or_default();
            view.conns.entry(r.conn).or_default().server = Some(ServerConn {
                id,
                admitted: None,
                close: None,
                run_limited: Vec::new(),
            });
            return;
        }
        let Some(server) = self.server(users, id) else {
            return;
        };
        match event {
            ConnEvent::State(
                ConnState::Authenticated | ConnState::ServicesReady | ConnState::ProcessingReady,
            )
            | ConnEvent::Routed { .. } => {
                server.admitted.get_or_insert(at);
            }
            ConnEvent::Close {
                code, component, ..
            } => server.close = Some((at, *code, *component)),
            ConnEvent::RunLimitReached { message_id, .. } => {
                server.run_limited.push(message_id.clone());
            }
            _ => {}
        }
    }

    fn server<'a>(&self, users: &'a mut Users, id: ConnId) -> Option<&'a mut ServerConn> {
        let (user, conn) = self.owner.get(&id)?;
        users.get_mut(user)?.conns.get_mut(conn)?.server.as_mut()
    }

    /// A lost output belongs to the user whose connection started the run.
    fn lost(&self, users: &mut Users, at: Duration, run: RunId, to: ConnId) {
        if let Some((user, _)) = self.owner.get(&run.conn)
            && let Some(view) = users.get_mut(user)
        {
            view.lost.push((at, run, to));
        }
    }
}

/// The user's connection number of gateway connection `id`, if linked.
pub fn conn_of(view: &UserView, id: ConnId) -> Option<u32> {
    view.conns
        .iter()
        .find(|(_, c)| c.server.as_ref().is_some_and(|s| s.id == id))
        .map(|(n, _)| *n)
}
