//! A run as a timeline: lanes, spans, marks, arrows and shaded windows.
//!
//! Derived from the trace (and, for fault windows, the scenario) in one
//! ordered pass, so the HTML report and the Chrome trace draw the same
//! story: `Trace + Scenario -> Timeline -> page data | trace events`.
//! Everything is kept in `Vec`s and `BTreeMap`s, in trace order, so a
//! timeline is a pure function of the run.
//!
//! Server lines (`Note`s) are log text; the few shapes this module reads
//! (`gX.Y state ACCEPTED`, `POST /v1/validate -> 200 ...`, `close 1011 ...`,
//! `auth booting`, ...) are the ones `services` writes. A line it does not
//! recognise is still drawn as a mark; it only misses an arrow or a span.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use crate::oracle::Violation;
use crate::run::Outcome;
use crate::scenario::{FaultKind, Scenario};
use crate::trace::{Event, Incoming, Kind, Outgoing};

/// Where a span, mark or arrow end lives, finely enough for a Chrome trace
/// thread; [`Track::lane`] coarsens it to an HTML lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Track {
    /// The simulation driver (faults, `simulation stopped`).
    Sim,
    /// A server host's own lines with no connection (boot, pipeline).
    Boot(usize),
    /// One user's browser.
    User(usize),
    /// One gateway connection (index into `gateway_conns`).
    Gateway(usize),
    /// One request through the load balancer (index into `lb_requests`).
    Lb(usize),
    /// One validation at auth (index into `auth_calls`).
    Auth(usize),
}

/// An HTML lane: a row of the timeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lane {
    /// The fault row.
    Sim,
    /// A host (index into `Timeline::hosts`).
    Host(usize),
    /// A user (index into `Timeline::users`).
    User(usize),
}

/// A host row: `lb`, `gateway`, `auth`, then the client hosts.
#[derive(Debug, Clone)]
pub struct Host {
    pub name: String,
    /// A `clients-K` host: its row summarises its users' lanes.
    pub clients: bool,
}

/// One simulated user and what became of it.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    /// Index into `Timeline::hosts` of the client host it runs on.
    pub host: usize,
    /// `[[users]]` group, from 0.
    pub group: usize,
    /// `valid via header`, `expired via subprotocol`, ...
    pub token: String,
    pub entitled: bool,
    pub messages: u32,
    /// Close codes the user recorded, per connection in order.
    pub codes: Vec<u16>,
    /// HTTP statuses of refused upgrades.
    pub http: Vec<u16>,
    /// The `finished` outcome, if the user finished.
    pub outcome: Option<String>,
    /// Whether an oracle violation names this user.
    pub violated: bool,
}

/// Something that lasted: a connection, a backoff, an agent run, a request.
#[derive(Debug, Clone)]
pub struct Span {
    pub start: Duration,
    pub end: Duration,
    pub track: Track,
    pub user: Option<usize>,
    /// CSS-like class words: `conn c1011`, `run`, `backoff`, ...
    pub class: String,
    pub text: String,
    /// Spans that hold others (a connection holds its runs) come first
    /// when starts are equal.
    pub container: bool,
    /// The trace events that begin and end it on its own track, where
    /// there are such (a backoff ends with no event).
    pub start_event: Option<usize>,
    pub end_event: Option<usize>,
}

/// One trace event, drawn as a point.
#[derive(Debug, Clone)]
pub struct Mark {
    pub at: Duration,
    pub track: Track,
    pub user: Option<usize>,
    pub class: String,
    /// What happened, without time, host and user. For received events the
    /// `seq` is kept apart (`seq`) so equal texts can be shared.
    pub text: String,
    pub seq: Option<u64>,
    /// Index of the trace event.
    pub event: usize,
}

/// A message from one place to another (a request, an answer, a frame).
#[derive(Debug, Clone)]
pub struct Arrow {
    pub from: (Duration, Track),
    pub to: (Duration, Track),
    /// The user the message belongs to: arrows are shown with its lane.
    pub user: usize,
    pub class: String,
    pub text: String,
}

/// A shaded stretch of time on some host rows: a fault, a startup, header
/// stripping.
#[derive(Debug, Clone)]
pub struct Window {
    pub start: Duration,
    pub end: Duration,
    /// Indexes into `Timeline::hosts`; a client host's window covers its
    /// users' lanes too.
    pub hosts: Vec<usize>,
    /// `fault`, `startup` or `strip`.
    pub class: &'static str,
    pub text: String,
}

/// A violation, placed on the lane it concerns.
#[derive(Debug, Clone)]
pub struct Flag {
    pub at: Duration,
    pub lane: Lane,
    pub invariant: String,
    pub user: Option<String>,
    pub host: String,
    pub detail: String,
}

/// A gateway connection (`g1.2`: boot 1, connection 2).
#[derive(Debug, Clone)]
pub struct GatewayConn {
    pub id: String,
    pub user: Option<usize>,
    pub start: Duration,
    pub start_event: usize,
    pub end_event: Option<usize>,
    /// `state CLOSED`, or the end of the run.
    pub end: Duration,
    pub close: Option<u16>,
}

/// The whole picture of one run.
#[derive(Debug, Clone)]
pub struct Timeline {
    pub end: Duration,
    pub hosts: Vec<Host>,
    pub users: Vec<User>,
    pub spans: Vec<Span>,
    pub marks: Vec<Mark>,
    pub arrows: Vec<Arrow>,
    pub windows: Vec<Window>,
    pub flags: Vec<Flag>,
    pub gateway_conns: Vec<GatewayConn>,
    /// Start of each load balancer request, by `Track::Lb` index.
    pub lb_requests: Vec<Duration>,
    /// Start of each auth validation, by `Track::Auth` index.
    pub auth_calls: Vec<Duration>,
}

/// The server hosts, in the order the rows are drawn.
pub const SERVER_HOSTS: [&str; 3] = ["lb", "gateway", "auth"];

/// The colour class of a close code: `ok` 1000, `policy` 1008, `retry`
/// 1001/1012/1013, `defect` 1011, `lost` 1006, `proto` the rest.
pub fn code_class(code: u16) -> &'static str {
    match code {
        1000 => "ok",
        1008 => "policy",
        1001 | 1012 | 1013 => "retry",
        1011 => "defect",
        1006 => "lost",
        _ => "proto",
    }
}

/// The colour class of a refused upgrade's HTTP status.
pub fn http_class(status: u16) -> &'static str {
    match status {
        503 => "retry",
        _ => "proto",
    }
}

impl Track {
    pub fn lane(self, tl: &Timeline) -> Lane {
        match self {
            Track::Sim => Lane::Sim,
            Track::Boot(h) => Lane::Host(h),
            Track::User(u) => Lane::User(u),
            Track::Gateway(_) => Lane::Host(tl.host_index("gateway")),
            Track::Lb(_) => Lane::Host(tl.host_index("lb")),
            Track::Auth(_) => Lane::Host(tl.host_index("auth")),
        }
    }
}

impl Timeline {
    /// The row of a host; server hosts always exist.
    pub fn host_index(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_default()
    }

    /// Build the timeline of `outcome`, a run of `scenario`.
    pub fn of(outcome: &Outcome, scenario: &Scenario) -> Timeline {
        let mut b = Builder::new(outcome);
        for (i, e) in outcome.trace.events.iter().enumerate() {
            b.event(i, e);
        }
        b.finish(outcome, scenario)
    }
}

/// A time, and the trace event at it on the track in question (if any).
type At = (Duration, Option<usize>);

/// What one user has under way, for pairing a message's two ends.
#[derive(Default)]
struct Pending {
    /// A client connection attempt not yet seen at lb: `(at, conn)`.
    connect: Option<(Duration, u32)>,
    /// lb forwarded the upgrade; not yet accepted by the gateway.
    lb_forward: Option<(Duration, usize)>,
    /// lb answered the client (`101`, `503`, ...): `(at, request, status)`.
    lb_answer: Option<(Duration, usize, u16)>,
    /// The user's latest gateway connection and the time of its latest
    /// line (when it would call auth next).
    gateway: Option<(usize, Duration)>,
    /// A retry of the auth call scheduled for this time.
    auth_retry: Option<Duration>,
    /// auth answered; not yet seen at the gateway: `(at, call, answer)`.
    auth_answer: Option<(Duration, usize, String)>,
    /// The gateway reached PROCESSING_READY; `connection_established` is on its way.
    ready: Option<(Duration, usize)>,
    /// user_messages not yet routed: `(at, message id)`.
    sends: Vec<(Duration, String)>,
    /// Another frame (ping, a bad frame) not yet answered.
    other_send: Option<(Duration, String)>,
    /// The gateway sent a close frame: `(at, conn, code)`.
    gateway_close: Option<(Duration, usize, u16)>,
    /// The client sent its close frame: `(at, code)`.
    client_close: Option<(Duration, u16)>,
    /// The open client connection: `(conn, start)`.
    conn: Option<(u32, At)>,
    /// Client-side agent runs under way: run id -> (start, span text).
    runs: BTreeMap<String, (At, String)>,
    /// The open load balancer request.
    lb_request: Option<usize>,
}

struct Builder {
    end: Duration,
    hosts: Vec<Host>,
    users: Vec<User>,
    user_index: BTreeMap<Rc<str>, usize>,
    pending: Vec<Pending>,
    spans: Vec<Span>,
    marks: Vec<Mark>,
    arrows: Vec<Arrow>,
    windows: Vec<Window>,
    gateway_conns: Vec<GatewayConn>,
    gateway_conn_index: BTreeMap<String, usize>,
    /// Gateway-side runs under way: run id -> (start, conn, text).
    gateway_runs: BTreeMap<String, (At, usize, String)>,
    lb_requests: Vec<Duration>,
    /// The trace event that opened each load balancer request.
    lb_events: Vec<usize>,
    /// The trace event being read.
    current: usize,
    /// lb requests with no known user, still open.
    lb_anonymous: Option<usize>,
    auth_calls: Vec<Duration>,
    /// Startup windows under way: key -> (start, host, text).
    startups: BTreeMap<&'static str, (Duration, usize, String)>,
}

impl Builder {
    fn new(outcome: &Outcome) -> Self {
        let mut hosts: Vec<Host> = SERVER_HOSTS
            .iter()
            .map(|h| Host {
                name: h.to_string(),
                clients: false,
            })
            .collect();
        // Client hosts in numeric order, then users in declaration order.
        let mut client_hosts: Vec<(u32, String)> = Vec::new();
        for e in &outcome.trace.events {
            if let Some(k) = e.host.strip_prefix("clients-") {
                let n = k.parse().unwrap_or(u32::MAX);
                if !client_hosts.iter().any(|(_, h)| **h == *e.host) {
                    client_hosts.push((n, e.host.to_string()));
                }
            }
        }
        client_hosts.sort();
        hosts.extend(client_hosts.into_iter().map(|(_, name)| Host {
            name,
            clients: true,
        }));
        let mut users = Vec::new();
        let mut user_index = BTreeMap::new();
        for e in &outcome.trace.events {
            if let (
                Kind::UserDeclared {
                    group,
                    token,
                    via,
                    messages,
                    entitled,
                    ..
                },
                Some(name),
            ) = (&e.kind, &e.user)
            {
                if user_index.contains_key(name) {
                    continue;
                }
                let via: Vec<&str> = via.iter().map(|v| v.as_str()).collect();
                let via = if via.is_empty() {
                    "nothing".to_string()
                } else {
                    via.join("+")
                };
                user_index.insert(name.clone(), users.len());
                users.push(User {
                    name: name.to_string(),
                    host: hosts.iter().position(|h| h.name == *e.host).unwrap_or(0),
                    group: *group,
                    token: format!("{} via {via}", token.as_str()),
                    entitled: *entitled,
                    messages: *messages,
                    codes: Vec::new(),
                    http: Vec::new(),
                    outcome: None,
                    violated: false,
                });
            }
        }
        let pending = users.iter().map(|_| Pending::default()).collect();
        Builder {
            end: outcome.trace.end,
            hosts,
            users,
            user_index,
            pending,
            spans: Vec::new(),
            marks: Vec::new(),
            arrows: Vec::new(),
            windows: Vec::new(),
            gateway_conns: Vec::new(),
            gateway_conn_index: BTreeMap::new(),
            gateway_runs: BTreeMap::new(),
            lb_requests: Vec::new(),
            lb_events: Vec::new(),
            current: 0,
            lb_anonymous: None,
            auth_calls: Vec::new(),
            startups: BTreeMap::new(),
        }
    }

    fn host(&self, name: &str) -> usize {
        self.hosts
            .iter()
            .position(|h| h.name == name)
            .unwrap_or_default()
    }

    #[allow(clippy::too_many_arguments)]
    fn mark(
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

    fn arrow(
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
    fn now(&self, at: Duration) -> At {
        (at, Some(self.current))
    }

    #[allow(clippy::too_many_arguments)]
    fn span(
        &mut self,
        (start, start_event): At,
        (end, end_event): At,
        track: Track,
        user: Option<usize>,
        class: impl Into<String>,
        text: impl Into<String>,
        container: bool,
    ) {
        self.spans.push(Span {
            start,
            end: end.max(start),
            track,
            user,
            class: class.into(),
            text: text.into(),
            container,
            start_event,
            end_event,
        });
    }

    fn event(&mut self, i: usize, e: &Event) {
        self.current = i;
        let user = e.user.as_ref().and_then(|u| self.user_index.get(u)).copied();
        match (&e.kind, user) {
            (Kind::UserDeclared { .. }, _) => {}
            (Kind::Fault { what }, _) => {
                self.mark(i, e.at, Track::Sim, None, "fault", what.clone(), None)
            }
            (Kind::Note { text }, _) if &*e.host == "sim" => {
                self.mark(i, e.at, Track::Sim, None, "fault", text.clone(), None)
            }
            (Kind::Note { text }, user) => self.note(i, e, text, user),
            (_, Some(u)) if e.host.starts_with("clients-") => self.client(i, e, u),
            // A client event of an undeclared user: keep it as a mark on
            // its host's row rather than drop it.
            (kind, _) => {
                let h = self.host(&e.host);
                let text = format!("{} {}", e.user.as_deref().unwrap_or("-"), client_text(kind, "").0);
                self.mark(i, e.at, Track::Boot(h), None, "note", text, None);
            }
        }
    }

    fn client(&mut self, i: usize, e: &Event, u: usize) {
        let at = e.at;
        let me = Track::User(u);
        let (text, seq) = client_text(&e.kind, &self.users[u].name);
        let class = client_class(&e.kind);
        match &e.kind {
            Kind::Connecting { conn, .. } => {
                // A new attempt: whatever the last one left pending is moot.
                let now = self.now(at);
                self.cut_runs(u, now);
                self.end_conn(u, now, "conn lost", "superseded".to_string());
                let p = &mut self.pending[u];
                *p = Pending {
                    gateway: p.gateway,
                    ..Pending::default()
                };
                p.connect = Some((at, *conn));
                p.conn = Some((*conn, (at, Some(i))));
            }
            Kind::ConnectFailed { conn, reason } => {
                self.end_conn(u, (at, Some(i)), "conn lost", format!("c{conn}: connect failed: {reason}"));
            }
            Kind::HttpRejected { conn, status } => {
                self.users[u].http.push(*status);
                if let Some((sent, req, s)) = self.pending[u].lb_answer.take()
                    && s == *status
                {
                    self.arrow((sent, Track::Lb(req)), (at, me), u, format!("http {}", http_class(*status)), format!("HTTP {status}"));
                }
                self.end_conn(
                    u,
                    (at, Some(i)),
                    &format!("conn {}", http_class(*status)),
                    format!("c{conn}: upgrade refused, HTTP {status}"),
                );
            }
            Kind::Opened { .. } => {
                if let Some((sent, req, 101)) = self.pending[u].lb_answer.take() {
                    self.arrow((sent, Track::Lb(req)), (at, me), u, "http ok", "101 Switching Protocols");
                }
            }
            Kind::Sent { frame, .. } => {
                let p = &mut self.pending[u];
                match (&*frame.kind, &frame.message_id) {
                    ("user_message", Some(m)) => p.sends.push((at, m.clone())),
                    _ => p.other_send = Some((at, frame.kind.clone())),
                }
            }
            Kind::Received { event, .. } => self.received(u, at, event),
            Kind::Closed {
                conn,
                code,
                reason,
                by_client,
            } => {
                self.users[u].codes.push(*code);
                let class = format!("c{code} {}", code_class(*code));
                if *by_client {
                    self.pending[u].client_close = Some((at, *code));
                } else if let Some((sent, gc, c)) = self.pending[u].gateway_close.take()
                    && c == *code
                {
                    self.arrow((sent, Track::Gateway(gc)), (at, me), u, format!("close {class}"), format!("close {code}"));
                }
                self.cut_runs(u, (at, Some(i)));
                let by = if *by_client { "client" } else { "server" };
                let mut text = format!("c{conn}: closed {code} by {by}");
                if !reason.is_empty() {
                    text.push_str(": ");
                    text.push_str(reason);
                }
                self.end_conn(u, (at, Some(i)), &format!("conn {class}"), text);
            }
            Kind::Backoff { delay } => {
                self.span((at, Some(i)), (at + *delay, None), me, Some(u), "backoff", format!("backoff {}ms", delay.as_millis()), false);
            }
            Kind::Finished { outcome } => {
                self.users[u].outcome = Some(outcome.clone());
                self.cut_runs(u, (at, Some(i)));
                self.end_conn(u, (at, Some(i)), "conn open", "connection abandoned".to_string());
            }
            _ => {}
        }
        self.mark(i, at, me, Some(u), class, text, seq);
    }

    fn received(&mut self, u: usize, at: Duration, ev: &Incoming) {
        let me = Track::User(u);
        if ev.kind == "connection_established"
            && let Some((sent, gc)) = self.pending[u].ready.take()
        {
            self.arrow((sent, Track::Gateway(gc)), (at, me), u, "event", "connection_established");
        }
        let Some(run) = &ev.run_id else { return };
        let terminal = matches!(ev.kind.as_str(), "agent_completed" | "error");
        let p = &mut self.pending[u];
        if !p.runs.contains_key(run) {
            let text = format!(
                "run {run} {} {}",
                ev.agent.as_deref().unwrap_or("?"),
                ev.message_id.as_deref().unwrap_or("?")
            );
            let now = (at, Some(self.current));
            p.runs.insert(run.clone(), (now, text));
        }
        if terminal && let Some((start, text)) = self.pending[u].runs.remove(run) {
            let class = if ev.kind == "error" { "run error" } else { "run" };
            let text = format!("{text}: {}", ev.kind);
            let now = self.now(at);
            self.span(start, now, me, Some(u), class, text.clone(), false);
            if let Some((start, gc, text)) = self.gateway_runs.remove(run) {
                let end = at.min(self.gateway_conns[gc].end);
                self.span(start, (end, None), Track::Gateway(gc), Some(u), class, format!("{text}: {}", ev.kind), false);
            }
        }
    }

    /// Runs the user saw start but not finish, cut at `at`.
    fn cut_runs(&mut self, u: usize, at: At) {
        for (_, (start, text)) in std::mem::take(&mut self.pending[u].runs) {
            self.span(start, at, Track::User(u), Some(u), "run cut", format!("{text}: cut"), false);
        }
    }

    fn end_conn(&mut self, u: usize, at: At, class: &str, text: String) {
        if let Some((_, start)) = self.pending[u].conn.take() {
            self.span(start, at, Track::User(u), Some(u), class, text, true);
        }
    }

    fn note(&mut self, i: usize, e: &Event, text: &str, user: Option<usize>) {
        let at = e.at;
        let host = self.host(&e.host);
        match &*e.host {
            "lb" => self.lb_note(i, at, text, user),
            "gateway" => self.gateway_note(i, at, host, text, user),
            "auth" => self.auth_note(i, at, host, text, user),
            _ => self.mark(i, at, Track::Boot(host), user, "note", text, None),
        }
    }

    fn lb_note(&mut self, i: usize, at: Duration, text: &str, user: Option<usize>) {
        let method = text.split(' ').next().unwrap_or("");
        let is_request = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
        let status: Option<u16> = method.parse().ok().filter(|s| (100..600).contains(s));
        let req = match user {
            Some(u) if is_request => {
                let req = self.new_lb_request(at);
                let p = &mut self.pending[u];
                p.lb_request = Some(req);
                if let Some((sent, _)) = p.connect.take() {
                    self.arrow((sent, Track::User(u)), (at, Track::Lb(req)), u, "request", "GET /ws (upgrade)");
                }
                self.pending[u].lb_forward = Some((at, req));
                req
            }
            Some(u) => match self.pending[u].lb_request {
                Some(req) => req,
                None => self.new_lb_request(at),
            },
            None if is_request => {
                let req = self.new_lb_request(at);
                self.lb_anonymous = Some(req);
                req
            }
            None => match self.lb_anonymous {
                Some(req) => req,
                None => self.new_lb_request(at),
            },
        };
        let class = match status {
            Some(101) => "note http ok".to_string(),
            Some(s) => format!("note http {}", http_class(s)),
            None if text.contains("(stripped") => "note strip".to_string(),
            None => "note".to_string(),
        };
        if let (Some(u), Some(s)) = (user, status) {
            self.pending[u].lb_answer = Some((at, req, s));
            if s != 101 {
                self.pending[u].lb_forward = None;
            }
            let start = (self.lb_requests[req], Some(self.lb_events[req]));
            self.span(start, (at, Some(i)), Track::Lb(req), Some(u), format!("request {}", class.trim_start_matches("note ")), format!("{} {text}", self.users[u].name), true);
        }
        self.mark(i, at, Track::Lb(req), user, class, text, None);
    }

    fn new_lb_request(&mut self, at: Duration) -> usize {
        self.lb_requests.push(at);
        self.lb_events.push(self.current);
        self.lb_requests.len() - 1
    }

    fn gateway_note(&mut self, i: usize, at: Duration, host: usize, text: &str, user: Option<usize>) {
        // `g1.2 ...` (a connection) or `g1.2.r3 ...` (one of its runs).
        let first = text.split(' ').next().unwrap_or("");
        let conn_id = conn_id_of(first);
        let Some(conn_id) = conn_id else {
            self.startup_note(at, host, text);
            let class = if text.starts_with("gateway draining") || text.starts_with("gateway stopped") {
                "note down"
            } else {
                "note"
            };
            return self.mark(i, at, Track::Boot(host), user, class, text, None);
        };
        let gc = match self.gateway_conn_index.get(conn_id) {
            Some(&gc) => gc,
            None => {
                self.gateway_conn_index.insert(conn_id.to_string(), self.gateway_conns.len());
                self.gateway_conns.push(GatewayConn {
                    id: conn_id.to_string(),
                    user,
                    start: at,
                    start_event: i,
                    end_event: None,
                    end: self.end,
                    close: None,
                });
                self.gateway_conns.len() - 1
            }
        };
        if self.gateway_conns[gc].user.is_none() {
            self.gateway_conns[gc].user = user;
        }
        let me = Track::Gateway(gc);
        let rest = text[first.len()..].trim_start();
        let mut class = "note".to_string();
        if let Some(u) = user {
            let p = &mut self.pending[u];
            // An answer from auth reaches the gateway's next line.
            let auth_answer = p.auth_answer.take();
            let forward = if rest == "state ACCEPTED" { p.lb_forward.take() } else { None };
            p.gateway = Some((gc, at));
            if let Some((sent, call, answer)) = auth_answer {
                let ok = if answer.starts_with("200") { "ok" } else { "policy" };
                self.arrow((sent, Track::Auth(call)), (at, me), u, format!("answer {ok}"), answer);
            }
            if let Some((sent, req)) = forward {
                self.arrow((sent, Track::Lb(req)), (at, me), u, "request", "upgrade forwarded");
            }
            if let Some(retry) = rest.strip_prefix("auth call ").and_then(|r| r.split("retry in ").nth(1)) {
                let ms: u64 = retry.trim_end_matches("ms").parse().unwrap_or(0);
                self.pending[u].auth_retry = Some(at + Duration::from_millis(ms));
                class = "note retry".into();
            }
            if rest == "state PROCESSING_READY" {
                self.pending[u].ready = Some((at, gc));
            }
            if let Some(route) = rest.strip_prefix("supervisor -> ") {
                let msg = route.rsplit(' ').next().unwrap_or("");
                let p = &mut self.pending[u];
                if let Some(pos) = p.sends.iter().position(|(_, m)| m == msg) {
                    let (sent, m) = p.sends.remove(pos);
                    self.arrow((sent, Track::User(u)), (at, me), u, "message", format!("user_message {m}"));
                }
                self.gateway_runs.insert(first.to_string(), ((at, Some(i)), gc, format!("run {first} {route}")));
                class = "note route".into();
            }
            if rest.starts_with("unknown message type")
                && let Some((sent, kind)) = self.pending[u].other_send.take()
            {
                self.arrow((sent, Track::User(u)), (at, me), u, "message", kind);
            }
            if let Some(code) = rest.strip_prefix("client closed ").and_then(|c| c.parse::<u16>().ok())
                && let Some((sent, c)) = self.pending[u].client_close.take()
                && c == code
            {
                let k = code_class(code);
                self.arrow((sent, Track::User(u)), (at, me), u, format!("close c{code} {k}"), format!("close {code}"));
            }
        }
        if let Some(close) = rest.strip_prefix("close ") {
            let code: u16 = close.split(' ').next().and_then(|c| c.parse().ok()).unwrap_or(0);
            self.gateway_conns[gc].close = Some(code);
            class = format!("note close c{code} {}", code_class(code));
            if let Some(u) = user {
                // A bad frame the user sent may be what this close answers.
                if let Some((sent, kind)) = self.pending[u].other_send.take() {
                    self.arrow((sent, Track::User(u)), (at, me), u, "message", kind);
                }
                self.pending[u].gateway_close = Some((at, gc, code));
            }
        }
        if rest == "state CLOSED" {
            self.gateway_conns[gc].end = at;
            self.gateway_conns[gc].end_event = Some(i);
            for (start, run_gc, text) in self.take_gateway_runs(gc) {
                self.span(start, (at, Some(i)), Track::Gateway(run_gc), user, "run cut", format!("{text}: cut"), false);
            }
        }
        if rest.contains("bypass") {
            class = "note defect".into();
        }
        self.mark(i, at, me, user, class, text, None);
    }

    fn take_gateway_runs(&mut self, gc: usize) -> Vec<(At, usize, String)> {
        let ids: Vec<String> = self
            .gateway_runs
            .iter()
            .filter(|(_, (_, c, _))| *c == gc)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.gateway_runs.remove(id))
            .collect()
    }

    fn auth_note(&mut self, i: usize, at: Duration, host: usize, text: &str, user: Option<usize>) {
        let answer = text.split(" -> ").nth(1);
        let (Some(u), Some(answer)) = (user, answer) else {
            self.startup_note(at, host, text);
            return self.mark(i, at, Track::Boot(host), user, "note", text, None);
        };
        let call = self.auth_calls.len();
        let p = &mut self.pending[u];
        // The gateway called when it last wrote a line (or when its retry was due).
        let start = match (p.gateway, p.auth_retry.take()) {
            (_, Some(retry)) if retry <= at => retry,
            (Some((_, last)), _) => last,
            _ => at,
        }
        .min(at);
        p.auth_answer = Some((at, call, answer.to_string()));
        let gc = p.gateway.map(|(gc, _)| gc);
        self.auth_calls.push(start);
        let ok = if answer.starts_with("200") { "ok" } else { "policy" };
        if let Some(gc) = gc {
            self.arrow((start, Track::Gateway(gc)), (at, Track::Auth(call)), u, "request", "POST /v1/validate");
        }
        let name = self.users[u].name.clone();
        self.span((start, None), (at, Some(i)), Track::Auth(call), Some(u), format!("validate {ok}"), format!("validate {name} -> {answer}"), true);
        self.mark(i, at, Track::Auth(call), user, format!("note {ok}"), text, None);
    }

    /// `auth booting` .. `auth ready`, `gateway boot N` .. `gateway listening`,
    /// `pipeline initialising` .. `pipeline ready`.
    fn startup_note(&mut self, at: Duration, host: usize, text: &str) {
        let starts: [(&str, &'static str, &str); 3] = [
            ("auth booting", "auth", "auth starting"),
            ("gateway boot", "gateway", "gateway booting"),
            ("pipeline initialising", "pipeline", "agent pipeline initialising"),
        ];
        let ends: [(&str, &'static str); 4] = [
            ("auth ready", "auth"),
            ("gateway listening", "gateway"),
            ("pipeline ready", "pipeline"),
            // A boot that ends its pipeline's initialisation unfinished.
            ("gateway stopped", "pipeline"),
        ];
        for (prefix, key, label) in starts {
            if text.starts_with(prefix) {
                // A new boot ends what the last one left unfinished.
                if key == "gateway" {
                    self.close_startup("pipeline", at);
                }
                self.close_startup(key, at);
                self.startups.insert(key, (at, host, label.to_string()));
            }
        }
        for (prefix, key) in ends {
            if text.starts_with(prefix) {
                self.close_startup(key, at);
            }
        }
    }

    fn close_startup(&mut self, key: &'static str, at: Duration) {
        if let Some((start, host, text)) = self.startups.remove(key)
            && at > start
        {
            self.windows.push(Window {
                start,
                end: at,
                hosts: vec![host],
                class: "startup",
                text,
            });
        }
    }

    fn finish(mut self, outcome: &Outcome, scenario: &Scenario) -> Timeline {
        let end = self.end;
        for key in ["auth", "gateway", "pipeline"] {
            self.close_startup(key, end);
        }
        for u in 0..self.users.len() {
            self.cut_runs(u, (end, None));
            self.end_conn(u, (end, None), "conn open", "open when the run ended".to_string());
        }
        let runs = std::mem::take(&mut self.gateway_runs);
        for (_, (start, gc, text)) in runs {
            let user = self.gateway_conns[gc].user;
            self.span(start, (end, None), Track::Gateway(gc), user, "run cut", format!("{text}: unfinished"), false);
        }
        for gc in 0..self.gateway_conns.len() {
            let c = &self.gateway_conns[gc];
            let (start, stop, user) = ((c.start, Some(c.start_event)), (c.end, c.end_event), c.user);
            let class = match c.close {
                Some(code) => format!("conn c{code} {}", code_class(code)),
                None => "conn".to_string(),
            };
            let who = user.map(|u| self.users[u].name.as_str()).unwrap_or("-");
            let text = format!("{} {who}", c.id);
            self.span(start, stop, Track::Gateway(gc), user, class, text, true);
        }
        self.fault_windows(scenario);
        let flags = self.flags(&outcome.violations);
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

    /// The scenario's faults, as windows on the hosts they hit. A crashed or
    /// restarted host's window lasts until the trace says it came back.
    fn fault_windows(&mut self, scenario: &Scenario) {
        let end = self.end;
        let clients: Vec<usize> = (0..self.hosts.len()).filter(|&h| self.hosts[h].clients).collect();
        let expand = |name: &str, hosts: &[Host]| -> Vec<usize> {
            if name == "clients" {
                clients.clone()
            } else {
                hosts.iter().position(|h| h.name == name).into_iter().collect()
            }
        };
        if !scenario.load_balancer.strip_headers.is_empty() {
            self.windows.push(Window {
                start: Duration::ZERO,
                end,
                hosts: expand("lb", &self.hosts),
                class: "strip",
                text: format!("lb strips {}", scenario.load_balancer.strip_headers.join(", ")),
            });
        }
        for f in &scenario.faults {
            if f.at > end {
                continue;
            }
            let lasts = f.duration.unwrap_or_default();
            let (hosts, what) = match (&f.between, &f.host) {
                (Some([a, b]), _) => {
                    let mut hosts = expand(a, &self.hosts);
                    hosts.extend(expand(b, &self.hosts));
                    (hosts, format!("{} {a} <-> {b}", f.kind.as_str()))
                }
                (None, Some(h)) => (expand(h, &self.hosts), format!("{} {h}", f.kind.as_str())),
                (None, None) => (Vec::new(), f.kind.as_str().to_string()),
            };
            let mut stop = f.at + lasts;
            if !f.kind.is_link()
                && let Some(h) = &f.host
            {
                let back = format!("{h} restarted");
                if let Some(m) = self
                    .marks
                    .iter()
                    .find(|m| m.track == Track::Sim && m.at >= f.at && m.text == back)
                {
                    stop = stop.max(m.at);
                }
            }
            let label = if f.kind == FaultKind::Restart && lasts.is_zero() {
                what
            } else {
                format!("{what} for {}", crate::scenario::format_duration(lasts))
            };
            self.windows.push(Window {
                start: f.at,
                end: stop.min(end),
                hosts,
                class: "fault",
                text: label,
            });
        }
    }

    fn flags(&mut self, violations: &[Violation]) -> Vec<Flag> {
        violations
            .iter()
            .map(|v| {
                let user = v
                    .user
                    .as_deref()
                    .and_then(|n| self.user_index.get(n))
                    .copied();
                if let Some(u) = user {
                    self.users[u].violated = true;
                }
                let lane = match user {
                    Some(u) => Lane::User(u),
                    None => match self.hosts.iter().position(|h| h.name == v.host) {
                        Some(h) => Lane::Host(h),
                        None => Lane::Sim,
                    },
                };
                Flag {
                    at: v.at,
                    lane,
                    invariant: v.invariant.as_str().to_string(),
                    user: v.user.clone(),
                    host: v.host.clone(),
                    detail: v.detail.clone(),
                }
            })
            .collect()
    }
}

/// `g1.2` from `g1.2` or `g1.2.r3`.
fn conn_id_of(word: &str) -> Option<&str> {
    let rest = word.strip_prefix('g')?;
    let mut parts = rest.split('.');
    let boot = parts.next()?;
    let conn = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(boot) || !digits(conn) {
        return None;
    }
    match parts.next() {
        None => Some(word),
        Some(run) if run.strip_prefix('r').is_some_and(digits) && parts.next().is_none() => {
            Some(&word[..1 + boot.len() + 1 + conn.len()])
        }
        Some(_) => None,
    }
}

/// The class of a client event's mark.
fn client_class(kind: &Kind) -> String {
    match kind {
        Kind::Connecting { .. } => "connect".into(),
        Kind::ConnectFailed { .. } => "failed lost".into(),
        Kind::HttpRejected { status, .. } => format!("rejected {}", http_class(*status)),
        Kind::Opened { .. } => "open".into(),
        Kind::Sent { frame, .. } if frame.kind == "user_message" => "send".into(),
        Kind::Sent { .. } => "send other".into(),
        Kind::Received { event, .. } => match event.kind.as_str() {
            "agent_completed" => "recv done".into(),
            "error" => "recv error".into(),
            "connection_established" => "recv established".into(),
            k if k.starts_with("tool_") => "recv tool".into(),
            _ => "recv".into(),
        },
        Kind::Closed { code, .. } => format!("close c{code} {}", code_class(*code)),
        Kind::Backoff { .. } => "backoff".into(),
        Kind::Finished { outcome } if outcome == "done" => "finished ok".into(),
        Kind::Finished { .. } => "finished".into(),
        _ => "note".into(),
    }
}

/// A client event's text, short, and its `seq` apart.
fn client_text(kind: &Kind, me: &str) -> (String, Option<u64>) {
    match kind {
        Kind::Connecting { conn, attempt } => (format!("c{conn} connect, attempt {attempt}"), None),
        Kind::ConnectFailed { conn, reason } => (format!("c{conn} connect failed: {reason}"), None),
        Kind::HttpRejected { conn, status } => (format!("c{conn} upgrade refused: HTTP {status}"), None),
        Kind::Opened { conn, protocol } => match protocol {
            Some(p) => (format!("c{conn} open, protocol {p}"), None),
            None => (format!("c{conn} open"), None),
        },
        Kind::Sent { conn, frame } => (format!("c{conn} -> {}", outgoing(frame)), None),
        Kind::Received { conn, event } => (format!("c{conn} <- {}", incoming(event, me)), event.seq),
        Kind::Closed {
            conn,
            code,
            reason,
            by_client,
        } => {
            let by = if *by_client { "client" } else { "server" };
            if reason.is_empty() {
                (format!("c{conn} closed {code} by {by}"), None)
            } else {
                (format!("c{conn} closed {code} by {by}: {reason}"), None)
            }
        }
        Kind::Backoff { delay } => (format!("backoff {}ms", delay.as_millis()), None),
        Kind::Finished { outcome } => (format!("finished: {outcome}"), None),
        Kind::UserDeclared { .. } => ("declared".into(), None),
        Kind::Fault { what } => (format!("fault {what}"), None),
        Kind::Note { text } => (text.clone(), None),
    }
}

fn outgoing(f: &Outgoing) -> String {
    let mut s = f.kind.clone();
    for v in [&f.message_id, &f.agent].into_iter().flatten() {
        s.push(' ');
        s.push_str(v);
    }
    s.push_str(&format!(" ({} bytes)", f.bytes));
    s
}

/// The parts of a server event worth reading on a timeline: the run and
/// message on the first and last event of a run, the tool on tool events,
/// the error code, and the user id when it is not the lane's own user `me`
/// (the isolation invariant broke).
fn incoming(e: &Incoming, me: &str) -> String {
    let mut s = e.kind.clone();
    let ends = matches!(e.kind.as_str(), "agent_started" | "agent_completed" | "error");
    let fields: [(&str, &Option<String>, bool); 6] = [
        ("run", &e.run_id, ends),
        ("msg", &e.message_id, ends),
        ("agent", &e.agent, e.kind == "agent_started"),
        ("tool", &e.tool, true),
        ("code", &e.code, true),
        ("user", &e.user_id, e.user_id.as_deref() != Some(me)),
    ];
    for (name, value, show) in fields {
        if let (Some(v), true) = (value, show) {
            s.push_str(&format!(" {name}={v}"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::conn_id_of;

    #[test]
    fn connection_ids() {
        assert_eq!(conn_id_of("g1.2"), Some("g1.2"));
        assert_eq!(conn_id_of("g12.345.r6"), Some("g12.345"));
        assert_eq!(conn_id_of("gateway"), None);
        assert_eq!(conn_id_of("g1"), None);
        assert_eq!(conn_id_of("g1.2.x"), None);
    }
}
