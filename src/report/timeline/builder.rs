//! The one pass over the trace: per-event dispatch, the per-user
//! bookkeeping that pairs a message's two ends, and the finished timeline.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use super::text::client_text;
use super::{
    Arrow, GatewayConn, Host, Mark, SERVER_HOSTS, Span, Timeline, Track, User, Window, code_class,
};
use crate::oracle::Violation;
use crate::scenario::Scenario;
use crate::trace::{Event, Kind, Trace};

/// A time, and the trace event at it on the track in question (if any).
pub(super) type At = (Duration, Option<usize>);

/// What one user has under way, for pairing a message's two ends.
#[derive(Default)]
pub(super) struct Pending {
    /// A client connection attempt not yet seen at lb: `(at, conn)`.
    pub(super) connect: Option<(Duration, u32)>,
    /// lb forwarded the upgrade; not yet accepted by the gateway.
    pub(super) lb_forward: Option<(Duration, usize)>,
    /// lb answered the client (`101`, `503`, ...): `(at, request, status)`.
    pub(super) lb_answer: Option<(Duration, usize, u16)>,
    /// The user's latest gateway connection and the time of its latest
    /// line (when it would call auth next).
    pub(super) gateway: Option<(usize, Duration)>,
    /// A retry of the auth call scheduled for this time.
    pub(super) auth_retry: Option<Duration>,
    /// auth answered; not yet seen at the gateway: `(at, call, answer)`.
    pub(super) auth_answer: Option<(Duration, usize, String)>,
    /// The gateway reached PROCESSING_READY; `connection_established` is on its way.
    pub(super) ready: Option<(Duration, usize)>,
    /// user_messages not yet routed: `(at, message id)`.
    pub(super) sends: Vec<(Duration, String)>,
    /// Another frame (ping, a bad frame) not yet answered.
    pub(super) other_send: Option<(Duration, String)>,
    /// The gateway sent a close frame: `(at, conn, code)`.
    pub(super) gateway_close: Option<(Duration, usize, u16)>,
    /// The open client connection: `(conn, start)`.
    pub(super) conn: Option<(u32, At)>,
    /// Client-side agent runs under way: run id -> (start, span text).
    pub(super) runs: BTreeMap<String, (At, String)>,
    /// The open load balancer request.
    pub(super) lb_request: Option<usize>,
}

pub(super) struct Builder {
    pub(super) end: Duration,
    pub(super) hosts: Vec<Host>,
    pub(super) users: Vec<User>,
    pub(super) user_index: BTreeMap<Rc<str>, usize>,
    pub(super) pending: Vec<Pending>,
    pub(super) spans: Vec<Span>,
    pub(super) marks: Vec<Mark>,
    pub(super) arrows: Vec<Arrow>,
    pub(super) windows: Vec<Window>,
    pub(super) gateway_conns: Vec<GatewayConn>,
    pub(super) gateway_conn_index: BTreeMap<String, usize>,
    /// Gateway-side runs under way: run id -> (start, conn, text).
    pub(super) gateway_runs: BTreeMap<String, (At, usize, String)>,
    pub(super) lb_requests: Vec<Duration>,
    /// The trace event that opened each load balancer request.
    pub(super) lb_events: Vec<usize>,
    /// The trace event being read.
    pub(super) current: usize,
    /// lb requests with no known user, still open.
    pub(super) lb_anonymous: Option<usize>,
    pub(super) auth_calls: Vec<Duration>,
    /// Startup windows under way: key -> (start, host, text).
    pub(super) startups: BTreeMap<&'static str, (Duration, usize, String)>,
}

impl Builder {
    pub(super) fn new(trace: &Trace) -> Self {
        let mut hosts: Vec<Host> = SERVER_HOSTS
            .iter()
            .map(|h| Host {
                name: h.to_string(),
                clients: false,
            })
            .collect();
        // Client hosts in numeric order, then users in declaration order.
        let mut client_hosts: Vec<(u32, String)> = Vec::new();
        for e in &trace.events {
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
        for e in &trace.events {
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

    pub(super) fn event(&mut self, i: usize, e: &Event) {
        self.current = i;
        let user = e
            .user
            .as_ref()
            .and_then(|u| self.user_index.get(u))
            .copied();
        match (&e.kind, user) {
            (Kind::UserDeclared { .. }, _) => {}
            (Kind::Fault(f), _) => {
                self.mark(i, e.at, Track::Sim, None, "fault", f.to_string(), None)
            }
            (Kind::Stopped { .. }, _) => {
                let text = crate::trace::describe(&e.kind);
                self.mark(i, e.at, Track::Sim, None, "fault", text, None)
            }
            (Kind::Lb(_) | Kind::Gateway(_) | Kind::Pipeline(_) | Kind::Auth(_), user) => {
                self.note(i, e, &crate::trace::describe(&e.kind), user)
            }
            (_, Some(u)) if e.host.starts_with("clients-") => self.client(i, e, u),
            // A client event of an undeclared user: keep it as a mark on
            // its host's row rather than drop it.
            (kind, _) => {
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

    pub(super) fn finish(mut self, violations: &[Violation], scenario: &Scenario) -> Timeline {
        let end = self.end;
        for key in ["auth", "gateway", "pipeline"] {
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
        let runs = std::mem::take(&mut self.gateway_runs);
        for (_, (start, gc, text)) in runs {
            let user = self.gateway_conns[gc].user;
            self.span(
                start,
                (end, None),
                Track::Gateway(gc),
                user,
                "run cut",
                format!("{text}: unfinished"),
                false,
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
            self.span(start, stop, Track::Gateway(gc), user, class, text, true);
        }
        self.fault_windows(scenario);
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
}
