//! A run as a timeline: lanes, spans, marks, arrows and shaded windows.
//!
//! Data flow: `Trace + violations -> Timeline -> page data (html) | trace
//! events (chrome)`. Built once, in one ordered pass over the trace (fault
//! windows from each fault's start and end events, paired by fault id;
//! flags from the oracle's violations), so the HTML report and the Chrome trace draw the same
//! story. Everything is kept in `Vec`s and `BTreeMap`s, in trace order, so
//! a timeline is a pure function of the run.
//!
//! Every decision is taken on the trace's types: a gateway connection is
//! its [`ConnId`], linked to its user's connection by the request id its
//! `Accepted` event carries; an auth validation runs from the gateway's
//! `AuthCall` to auth's answer; a class (`note retry`, `note close c1011
//! defect`, ...) follows from the variant. Words shown to people are the
//! trace's own (`describe`); nothing reads them back.
//!
//! Files: this one (the model), `builder` (the pass over the trace and its
//! bookkeeping), `lanes` (hosts and users), `clients` (what users saw),
//! `lb`, `gateway`, `auth` (what each server did, and the ends of messages
//! that arrive there), `startups` and `faults` (shaded windows), `flags`
//! (violations), `text` (classes and words).

mod auth;
mod builder;
mod clients;
mod faults;
mod flags;
mod gateway;
mod lanes;
mod lb;
mod startups;
mod text;

#[cfg(test)]
mod tests;

use std::time::Duration;

use crate::oracle::Violation;
use crate::trace::{ConnId, Trace};

use builder::Builder;

pub use text::{code_class, http_class};

/// Where a span, mark or arrow end lives, finely enough for a Chrome trace
/// thread; [`Track::lane`] coarsens it to an HTML lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Track {
    /// The simulation driver (faults, `simulation stopped`).
    Sim,
    /// A host's own events, of no connection (boots, startups, the
    /// pipeline's initialisation).
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
    /// A client host (users are declared on it): its row summarises its
    /// users' lanes.
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
    pub outcome: Option<crate::trace::UserEnd>,
    /// Whether an oracle violation names this user.
    pub violated: bool,
}

/// What a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SpanKind {
    /// A user's connection, or a gateway connection.
    Conn,
    /// An agent run, as the user saw it or on the gateway.
    Run,
    /// A user waiting before it reconnects.
    Backoff,
    /// One request through the load balancer.
    Request,
    /// One token validation at auth.
    Validation,
}

impl SpanKind {
    /// Spans that hold others (a connection holds its runs) come first
    /// when starts are equal.
    pub fn holds_others(self) -> bool {
        matches!(
            self,
            SpanKind::Conn | SpanKind::Request | SpanKind::Validation
        )
    }
}

/// Something that lasted: a connection, a backoff, an agent run, a request.
#[derive(Debug, Clone)]
pub struct Span {
    pub kind: SpanKind,
    pub start: Duration,
    pub end: Duration,
    pub track: Track,
    pub user: Option<usize>,
    /// CSS-like class words: `conn c1011`, `run`, `backoff`, ...
    pub class: String,
    pub text: String,
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

/// What a shaded window is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WindowKind {
    /// A scenario fault while it lasts, from its start to its end in the
    /// trace.
    Fault,
    /// A server booting or initialising.
    Startup,
    /// The load balancer stripping headers, for the whole run.
    Strip,
}

impl WindowKind {
    /// The class the page draws it with.
    pub fn class(self) -> &'static str {
        match self {
            WindowKind::Fault => "fault",
            WindowKind::Startup => "startup",
            WindowKind::Strip => "strip",
        }
    }
}

/// A shaded stretch of time on some host rows: a fault, a startup, header
/// stripping.
#[derive(Debug, Clone)]
pub struct Window {
    pub kind: WindowKind,
    pub start: Duration,
    pub end: Duration,
    /// Indexes into `Timeline::hosts`; a client host's window covers its
    /// users' lanes too.
    pub hosts: Vec<usize>,
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
    pub id: ConnId,
    /// The user whose request it accepted, and which of that user's
    /// connections (`c2` is 2) it serves, from the request id.
    pub user: Option<usize>,
    pub conn: Option<u32>,
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

    /// The timeline of a run that recorded `trace` and broke `violations`.
    pub fn build(trace: &Trace, violations: &[Violation]) -> Timeline {
        let mut b = Builder::new(trace);
        for (i, e) in trace.events.iter().enumerate() {
            b.event(i, e);
        }
        b.finish(violations)
    }
}
