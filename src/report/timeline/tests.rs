//! The typed builder on hand-built traces: which arrows, spans, windows
//! and classes the variants give, without running a simulation.

use std::rc::Rc;
use std::time::Duration;

use super::{SpanKind, Timeline, Track, WindowKind};
use crate::scenario::{Misbehave, TokenKind, TokenVia};
use crate::trace::{
    AuthEvent, Component, ConnEvent, ConnId, ConnState, Event, FaultEvent, FaultId, GatewayEvent,
    Incoming, Kind, LbEvent, Outgoing, PipelineEvent, RequestId, RunId, Trace,
};

const USER: &str = "user-0001";
const G: ConnId = ConnId { boot: 1, n: 1 };

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn at(t: u64, host: &str, user: Option<&str>, kind: Kind) -> Event {
    Event {
        at: ms(t),
        host: Rc::from(host),
        user: user.map(Rc::from),
        kind,
    }
}

/// An event of user-0001 on `host`.
fn user_at(t: u64, host: &str, kind: Kind) -> Event {
    at(t, host, Some(USER), kind)
}

fn conn(t: u64, event: ConnEvent) -> Event {
    user_at(
        t,
        "gateway",
        Kind::Gateway(GatewayEvent::Conn { conn: G, event }),
    )
}

fn declared() -> Event {
    user_at(
        0,
        "clients-1",
        Kind::UserDeclared {
            group: 0,
            token: TokenKind::Valid,
            via: vec![TokenVia::Header],
            messages: 1,
            entitled: true,
            misbehave: Misbehave::None,
        },
    )
}

fn received(t: u64, kind: &str, run: Option<&str>) -> Event {
    let event = Incoming {
        kind: crate::vocab::ReadType::from_trace(kind),
        run_id: run.map(crate::trace::Shared::from),
        ..Incoming::default()
    };
    user_at(t, "clients-1", Kind::Received { conn: 1, event })
}

fn build(events: Vec<Event>, end: u64) -> Timeline {
    let trace = Trace {
        events,
        end: ms(end),
    };
    Timeline::build(&trace, &[])
}

/// auth and the pipeline start; the user connects, is validated and gets
/// `connection_established`, sends one message, gets its answer, and is
/// closed with a 1011 by the gateway.
fn one_user() -> Vec<Event> {
    [startups(), admitted(), served()].concat()
}

fn startups() -> Vec<Event> {
    let booting = Kind::Auth(AuthEvent::Booting {
        startup: ms(5),
        leeway: Duration::ZERO,
    });
    let initialising = Kind::Pipeline(PipelineEvent::Initialising {
        startup: ms(10),
        db_pool: 10,
    });
    vec![
        declared(),
        at(0, "auth", None, booting),
        at(0, "gateway", None, initialising),
        at(5, "auth", None, Kind::Auth(AuthEvent::Ready)),
        at(10, "gateway", None, Kind::Pipeline(PipelineEvent::Ready)),
    ]
}

/// Connection 1 up to PROCESSING_READY on gateway connection `G`.
fn admitted() -> Vec<Event> {
    let connecting = Kind::Connecting {
        conn: 1,
        attempt: 1,
    };
    let forwarded = LbEvent::Forwarded {
        method: "GET".into(),
        path: "/ws".into(),
        stripped: Vec::new(),
    };
    let request = Some(RequestId {
        user: Rc::from(USER),
        conn: 1,
    });
    let call = ConnEvent::AuthCall {
        attempt: 1,
        via: TokenVia::Header,
    };
    let opened = Kind::Opened {
        conn: 1,
        protocol: None,
    };
    let validated = Kind::Auth(AuthEvent::Validated { user: USER.into() });
    let accepted = ConnEvent::TokenAccepted {
        via: TokenVia::Header,
        user: USER.into(),
    };
    vec![
        user_at(100, "clients-1", connecting),
        user_at(101, "lb", Kind::Lb(forwarded)),
        conn(102, ConnEvent::Accepted { request }),
        conn(102, call),
        user_at(103, "lb", Kind::Lb(LbEvent::Answered { status: 101 })),
        user_at(104, "clients-1", opened),
        user_at(105, "auth", validated),
        conn(106, accepted),
        conn(106, ConnEvent::State(ConnState::Authenticated)),
        conn(106, ConnEvent::State(ConnState::ServicesReady)),
        conn(106, ConnEvent::State(ConnState::ProcessingReady)),
        received(107, "connection_established", None),
    ]
}

/// One message answered, then the gateway's 1011.
fn served() -> Vec<Event> {
    let message = Outgoing {
        kind: crate::vocab::ClientType::UserMessage.into(),
        message_id: Some("m1".into()),
        agent: Some("data_helper".into()),
        bytes: 100,
    };
    let routed = ConnEvent::Routed {
        run: RunId { conn: G, n: 1 },
        agent: "data_helper",
        message_id: "m1".into(),
    };
    let close = ConnEvent::Close {
        code: 1011,
        component: Some(Component::EventSerialiser),
        reason: "event serialiser: boom".into(),
    };
    let closed = Kind::Closed {
        conn: 1,
        code: 1011,
        reason: String::new(),
        by_client: false,
    };
    vec![
        user_at(
            108,
            "clients-1",
            Kind::Sent {
                conn: 1,
                frame: message,
            },
        ),
        conn(109, routed),
        received(110, "agent_started", Some("g1.1.r1")),
        received(120, "agent_completed", Some("g1.1.r1")),
        conn(121, close),
        conn(122, ConnEvent::State(ConnState::Closed)),
        user_at(123, "clients-1", closed),
    ]
}

/// `(from ms, from track, to ms, to track, text)` of every arrow.
fn arrows(tl: &Timeline) -> Vec<(u64, Track, u64, Track, &str)> {
    let ms = |d: Duration| d.as_millis() as u64;
    tl.arrows
        .iter()
        .map(|a| (ms(a.from.0), a.from.1, ms(a.to.0), a.to.1, a.text.as_str()))
        .collect()
}

/// `(kind, start ms, end ms, track, class)` of every span.
fn spans(tl: &Timeline) -> Vec<(SpanKind, u64, u64, Track, &str)> {
    let ms = |d: Duration| d.as_millis() as u64;
    tl.spans
        .iter()
        .map(|s| (s.kind, ms(s.start), ms(s.end), s.track, s.class.as_str()))
        .collect()
}

#[test]
fn one_user_connects_is_validated_and_closed_with_1011() {
    let tl = build(one_user(), 200);
    let (user, lb, gw, auth) = (
        Track::User(0),
        Track::Lb(0),
        Track::Gateway(0),
        Track::Auth(0),
    );
    assert_eq!(
        arrows(&tl),
        vec![
            (100, user, 101, lb, "GET /ws (upgrade)"),
            (101, lb, 102, gw, "upgrade forwarded"),
            (103, lb, 104, user, "101 Switching Protocols"),
            (102, gw, 105, auth, "POST /v1/validate"),
            (105, auth, 106, gw, "200 user-0001"),
            (106, gw, 107, user, "connection_established"),
            (108, user, 109, gw, "user_message m1"),
            (121, gw, 123, user, "close 1011"),
        ]
    );
    let mut spans = spans(&tl);
    spans.sort();
    assert_eq!(
        spans,
        vec![
            (SpanKind::Conn, 100, 123, user, "conn c1011 defect"),
            (SpanKind::Conn, 102, 122, gw, "conn c1011 defect"),
            (SpanKind::Run, 109, 120, gw, "run"),
            (SpanKind::Run, 110, 120, user, "run"),
            (SpanKind::Request, 101, 103, lb, "request http ok"),
            (SpanKind::Validation, 102, 105, auth, "validate ok"),
        ]
    );
    let c = &tl.gateway_conns[0];
    assert_eq!(
        (c.id, c.user, c.conn, c.close),
        (G, Some(0), Some(1), Some(1011))
    );
    assert_eq!(c.end, ms(122));
    assert_eq!(tl.users[0].codes, vec![1011]);
    let startups: Vec<(u64, u64, &str)> = tl
        .windows
        .iter()
        .filter(|w| w.kind == WindowKind::Startup)
        .map(|w| {
            (
                w.start.as_millis() as u64,
                w.end.as_millis() as u64,
                w.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        startups,
        vec![
            (0, 5, "auth starting"),
            (0, 10, "agent pipeline initialising")
        ]
    );
    let close = tl
        .marks
        .iter()
        .find(|m| m.at == ms(121))
        .expect("the close mark");
    assert_eq!(close.class, "note close c1011 defect");
}

#[test]
fn a_retried_auth_call_is_validated_from_the_last_call() {
    let mut events = one_user();
    // Call 1 fails at the transport; call 2 is the one auth answers.
    let retry = ConnEvent::AuthRetry {
        attempt: 1,
        error: "refused".into(),
        delay: ms(1),
    };
    let call_2 = ConnEvent::AuthCall {
        attempt: 2,
        via: TokenVia::Header,
    };
    let validated = events.iter().position(|e| e.at == ms(105)).unwrap();
    events.insert(validated, conn(104, call_2));
    events.insert(validated, conn(102, retry));
    let tl = build(events, 200);
    let validation = tl
        .spans
        .iter()
        .find(|s| s.kind == SpanKind::Validation)
        .unwrap();
    assert_eq!((validation.start, validation.end), (ms(104), ms(105)));
    let retry = tl.marks.iter().find(|m| m.class == "note retry");
    assert!(retry.is_some(), "{:?}", tl.marks);
}

#[test]
fn a_gateway_connection_takes_only_its_own_upgrade() {
    // The gateway accepts the user's connection 2 while lb forwarded 1.
    let mut events = one_user();
    for e in &mut events {
        if let Kind::Gateway(GatewayEvent::Conn {
            event: ConnEvent::Accepted { request: Some(r) },
            ..
        }) = &mut e.kind
        {
            r.conn = 2;
        }
    }
    let tl = build(events, 200);
    // No forwarded upgrade, no connection_established, no close frame:
    // those belong to the user's connection 1.
    let texts: Vec<&str> = tl.arrows.iter().map(|a| a.text.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            "GET /ws (upgrade)",
            "101 Switching Protocols",
            "POST /v1/validate",
            "200 user-0001",
            "user_message m1",
        ]
    );
    assert_eq!(tl.gateway_conns[0].conn, Some(2));
}

#[test]
fn classes_follow_the_variant() {
    let stripped = LbEvent::Forwarded {
        method: "GET".into(),
        path: "/ws".into(),
        stripped: vec!["authorization".into()],
    };
    let bypass = ConnEvent::Bypassed {
        environment: "staging".into(),
        user: USER.into(),
    };
    let draining = GatewayEvent::Draining {
        code: 1001,
        connections: 1,
    };
    let token = Kind::TokenIssued {
        token: TokenKind::Valid,
        valid_until: Some(ms(60_000)),
        refreshed: true,
    };
    let crash = FaultEvent::Crash {
        fault: FaultId(0),
        host: "gateway".into(),
    };
    let events = vec![
        declared(),
        user_at(1, "clients-1", token),
        user_at(2, "lb", Kind::Lb(stripped)),
        conn(3, bypass),
        at(4, "gateway", None, Kind::Gateway(draining)),
        at(5, "gateway", None, Kind::Gateway(GatewayEvent::Stopped)),
        at(6, "sim", None, Kind::Fault(crash)),
    ];
    let tl = build(events, 10);
    let classes: Vec<(u64, Track, &str)> = tl
        .marks
        .iter()
        .map(|m| (m.at.as_millis() as u64, m.track, m.class.as_str()))
        .collect();
    let gateway = tl.host_index("gateway");
    assert_eq!(
        classes,
        vec![
            (1, Track::User(0), "token refreshed"),
            (2, Track::Lb(0), "note strip"),
            (3, Track::Gateway(0), "note defect"),
            (4, Track::Boot(gateway), "note down"),
            (5, Track::Boot(gateway), "note down"),
            (6, Track::Sim, "fault"),
        ]
    );
}

/// Fault windows pair a start with the next end of the same fault id,
/// however faults interleave; a fault still in force ends with the run.
#[test]
fn fault_windows_pair_starts_and_ends_by_fault_id() {
    let crash = |id, host: &str| {
        Kind::Fault(FaultEvent::Crash {
            fault: FaultId(id),
            host: host.into(),
        })
    };
    let back = |id, host: &str| {
        Kind::Fault(FaultEvent::Restarted {
            fault: FaultId(id),
            host: host.into(),
        })
    };
    let events = vec![
        at(1, "sim", None, crash(0, "gateway")),
        at(2, "sim", None, crash(1, "auth")),
        at(3, "sim", None, back(1, "auth")),
        at(5, "sim", None, back(0, "gateway")),
        at(6, "sim", None, crash(2, "lb")),
    ];
    let tl = build(events, 10);
    let windows: Vec<(u64, u64, &str, &str)> = tl
        .windows
        .iter()
        .filter(|w| w.kind == WindowKind::Fault)
        .map(|w| {
            (
                w.start.as_millis() as u64,
                w.end.as_millis() as u64,
                tl.hosts[w.hosts[0]].name.as_str(),
                w.text.as_str(),
            )
        })
        .collect();
    assert_eq!(
        windows,
        vec![
            (1, 5, "gateway", "#1 crash gateway for 0.004s"),
            (2, 3, "auth", "#2 crash auth for 0.001s"),
            (6, 10, "lb", "#3 crash lb for 0.004s"),
        ]
    );
}
