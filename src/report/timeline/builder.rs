//! The one pass over the trace: what is under way (the first end of a
//! message waiting for its second), the per-event dispatch by variant, and
//! the finished timeline.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::lanes::lanes;
use super::startups::Startup;
use super::text::client_text;
use super::{
    Arrow, GatewayConn, Host, Mark, Span, SpanKind, Timeline, Track, User, Window, code_class,
};
use crate::oracle::Violation;
use crate::trace::{ConnId, Event, FaultEvent, FaultId, Kind, Trace, describe};

/// A time, and the trace event at it on the track in question (if any).
pub(super) type At = (Duration, Option<usize>);

/// What one user has under way, for pairing a message's two ends. A new
/// connection attempt starts it afresh.
#[derive(Default)]
pub(super) struct Pending {
    /// A client connection attempt not yet seen at lb: `(at, conn)`.
    pub(super) connect: Option<(Duration, u32)>,
    /// lb forwarded the upgrade of the user's connection `conn`; not yet
    /// accepted by the gateway: `(at, request, conn)`.
    pub(super) lb_forward: Option<(Duration, usize, Option<u32>)>,
    /// lb answered the client (`101`, `503`, ...): `(at, request, status)`.
    pub(super) lb_answer: Option<(Duration, usize, u16)>,
    /// The gateway reached PROCESSING_READY; `connection_established` is
    /// on its way: `(at, gateway connection)`.
    pub(super) ready: Option<(Duration, usize)>,
    /// user_messages not yet routed: `(at, message id)`.
    pub(super) sends: Vec<(Duration, String)>,
    /// Another frame (ping, a bad frame) not yet answered.
    pub(super) other_send: Option<(Duration, String)>,
    /// The gateway sent a close frame: `(at, gateway connection, code)`.
    pub(super) gateway_close: Option<(Duration, usize, u16)>,
    /// The open client connection: `(conn, start)`.
    pub(super) conn: Option<(u32, At)>,
    /// Client-side agent runs under way: run id -> (start, span text).
    pub(super) runs: BTreeMap<String, (At, String)>,
    /// The user's open load balancer request.
    pub(super) lb_request: Option<usize>,
}

/// auth's answer, on its way back to the gateway connection that called.
pub(super) struct AuthAnswer {
    pub(super) at: Duration,
    /// Index into `auth_calls`.
    pub(super) call: usize,
    /// `ok` or `policy`.
    pub(super) class: &'static str,
    /// `200 user-0001`, `401 expired`, ...
    pub(super) text: String,
}

/// What one gateway connection has under way with auth.
#[derive(Default)]
pub(super) struct ConnPending {
    /// When the gateway called auth, not yet answered.
    pub(super) auth_call: Option<Duration>,
    pub(super) auth_answer: Option<AuthAnswer>,
}

pub(super) struct Builder {
    pub(super) end: Duration,
    pub(super) hosts: Vec<Host>,
    pub(super) users: Vec<User>,
    pub(super) user_index: BTreeMap<Rc<str>, usize>,
    /// By user.
    pub(super) pending: Vec<Pending>,
    pub(super) spans: Vec<Span>,
    pub(super) marks: Vec<Mark>,
    pub(super) arrows: Vec<Arrow>,
    pub(super) windows: Vec<Window>,
    pub(super) gateway_conns: Vec<GatewayConn>,
    /// By gateway connection, like `gateway_conns`.
    pub(super) conn_pending: Vec<ConnPending>,
    pub(super) gateway_index: BTreeMap<ConnId, usize>,
    /// Gateway-side runs under way, by the run id as the wire carries it
    /// (what the user's events name): (start, conn, text).
    pub(super) gateway_runs: BTreeMap<String, (At, usize, String)>,
    /// The gateway connection of each user whose auth call is open.
    pub(super) auth_waiting: BTreeMap<usize, usize>,
    pub(super) lb_requests: Vec<Duration>,
    /// The trace event that opened each load balancer request.
    pub(super) lb_events: Vec<usize>,
    /// The open lb request with no known user.
    pub(super) lb_anonymous: Option<usize>,
    pub(super) auth_calls: Vec<Duration>,
    /// Startup windows under way: (start, host, text).
    pub(super) startups: BTreeMap<Startup, (Duration, usize, String)>,
    /// Faults started and not yet ended, by id: when, and the event.
    pub(super) faults_open: BTreeMap<FaultId, (Duration, FaultEvent)>,
    /// The headers `lb` strips for the whole run.
    pub(super) stripped: Vec<String>,
    /// The trace event being read.
    pub(super) current: usize,
}

impl Builder {
    pub(super) fn new(trace: &Trace) -> Self {
        let (hosts, users, user_index) = lanes(trace);
        let pending = users.iter().map(|_| Pending::default()).collect();
        Builder {
            end: trace.end,
            hosts,
            users,
            user_index,
            pending,
            spans: Vec::new(),
            marks: Vec::new(),
            arrows: Vec::new(),
            windows: Vec::new(),
            gateway_conns: Vec::new(),
            conn_pending: Vec::new(),
            gateway_index: BTreeMap::new(),
            gateway_runs: BTreeMap::new(),
            auth_waiting: BTreeMap::new(),
            lb_requests: Vec::new(),
            lb_events: Vec::new(),
            lb_anonymous: None,
            auth_calls: Vec::new(),
            startups: BTreeMap::new(),
            faults_open: BTreeMap::new(),
            stripped: Vec::new(),
            current: 0,
        }
    }

    pub(super) fn host(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn mark(
        &mut self,
        event: usize,
        at: Duration,
        track: Track,
        user: Option<usize>,
        class: impl Into<String>,
        text: impl Into<String>,
        seq: Option<u64>,
    ) {
        self.marks.push(Mark {
            at,
            track,
            user,
            class: class.into(),
            text: text.into(),
            seq,
            event,
        });
    }

    /// Event `i` as a mark in the trace's own words.
    pub(super) fn note(
        &mut self,
        i: usize,
        e: &Event,
        track: Track,
        user: Option<usize>,
        class: impl Into<String>,
    ) {
        self.mark(i, e.at, track, user, class, describe(&e.kind), None);
    }

    pub(super) fn arrow(
        &mut self,
        from: (Duration, Track),
        to: (Duration, Track),
        user: usize,
        class: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.arrows.push(Arrow {
            from,
            to,
            user,
            class: class.into(),
            text: text.into(),
        });
    }

    /// `at` on the track of the event being read.
    pub(super) fn now(&self, at: Duration) -> At {
        (at, Some(self.current))
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn span(
        &mut self,
        kind: SpanKind,
        (start, start_event): At,
        (end, end_event): At,
        track: Track,
        user: Option<usize>,
        class: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.spans.push(Span {
            kind,
            start,
            end: end.max(start),
            track,
            user,
            class: class.into(),
            text: text.into(),
            start_event,
            end_event,
        });
    }

    /// Read trace event `i`, by its variant.
    pub(super) fn event(&mut self, i: usize, e: &Event) {
        self.current = i;
        let user = e
            .user
            .as_ref()
            .and_then(|u| self.user_index.get(u))
            .copied();
        match (&e.kind, user) {
            (Kind::UserDeclared { .. }, _) => {}
            (Kind::Fault(f), _) => self.fault(i, e.at, f),
            (Kind::Stopped { .. }, _) => self.note(i, e, Track::Sim, None, "fault"),
            (Kind::Lb(ev), user) => self.lb(i, e.at, ev, user),
            (Kind::Gateway(ev), user) => self.gateway(i, e, ev, user),
            (Kind::Pipeline(ev), user) => self.pipeline(i, e, ev, user),
            (Kind::Auth(ev), user) => self.auth(i, e, ev, user),
            (_, Some(u)) => self.client(i, e, u),
            // A client event of an undeclared user: keep it as a mark on
            // its host's row rather than drop it.
            (kind, None) => {
                let h = self.host(&e.host);
                let text = format!(
                    "{} {}",
                    e.user.as_deref().unwrap_or("-"),
                    client_text(kind, "").0
                );
                self.mark(i, e.at, Track::Boot(h), None, "note", text, None);
            }
        }
    }

    pub(super) fn finish(mut self, violations: &[Violation]) -> Timeline {
        let end = self.end;
        for key in Startup::ALL {
            self.close_startup(key, end);
        }
        for u in 0..self.users.len() {
            self.cut_runs(u, (end, None));
            self.end_conn(
                u,
                (end, None),
                "conn open",
                "open when the run ended".to_string(),
            );
        }
        self.finish_gateway(end);
        self.fault_windows();
        let flags = self.flags(violations);
        self.windows.sort_by_key(|w| (w.start, w.end));
        Timeline {
            end,
            hosts: self.hosts,
            users: self.users,
            spans: self.spans,
            marks: self.marks,
            arrows: self.arrows,
            windows: self.windows,
            flags,
            gateway_conns: self.gateway_conns,
            lb_requests: self.lb_requests,
            auth_calls: self.auth_calls,
        }
    }

    /// Gateway runs still under way, then every gateway connection's span.
    fn finish_gateway(&mut self, end: Duration) {
        let runs = std::mem::take(&mut self.gateway_runs);
        for (_, (start, gc, text)) in runs {
            let user = self.gateway_conns[gc].user;
            self.span(
                SpanKind::Run,
                start,
                (end, None),
                Track::Gateway(gc),
                user,
                "run cut",
                format!("{text}: unfinished"),
            );
        }
        for gc in 0..self.gateway_conns.len() {
            let c = &self.gateway_conns[gc];
            let (start, stop, user) =
                ((c.start, Some(c.start_event)), (c.end, c.end_event), c.user);
            let class = match c.close {
                Some(code) => format!("conn c{code} {}", code_class(code)),
                None => "conn".to_string(),
            };
            let who = user.map(|u| self.users[u].name.as_str()).unwrap_or("-");
            let text = format!("{} {who}", c.id);
            self.span(
                SpanKind::Conn,
                start,
                stop,
                Track::Gateway(gc),
                user,
                class,
                text,
            );
        }
    }
}
