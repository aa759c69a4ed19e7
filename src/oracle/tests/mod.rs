//! The oracle on hand-built traces: every invariant, every attribution
//! rule and every expectation form, each with a trace small enough to read.
//! This file builds the traces (`Story`); each child module tests one
//! part of the oracle.

use std::rc::Rc;
use std::time::Duration;

use super::{Verdict, Violation, check, verdict};
use crate::scenario::{Cause, Expect, Expected, Invariant, Misbehave, TokenKind, TokenVia};
use crate::trace::{
    Component, ConnEvent, ConnId, ConnState, Event, FaultEvent, GatewayEvent, Incoming, Kind,
    PipelineEvent, RequestId, RunId, Trace,
};

const HOUR: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A trace under construction, in the order events are added.
#[derive(Default)]
struct Story {
    events: Vec<Event>,
    end: Duration,
}

impl Story {
    fn push(&mut self, at: Duration, host: &str, user: Option<&str>, kind: Kind) -> &mut Self {
        self.events.push(Event {
            at,
            host: Rc::from(host),
            user: user.map(Rc::from),
            kind,
        });
        self
    }

    fn client(&mut self, at: u64, user: &str, kind: Kind) -> &mut Self {
        self.push(ms(at), "clients-1", Some(user), kind)
    }

    /// A user holding a `token` sent by `via`, owing `messages` answers;
    /// a valid token lives an hour.
    fn user(&mut self, user: &str, token: TokenKind, via: &[TokenVia], messages: u32) -> &mut Self {
        let declared = Kind::UserDeclared {
            group: 0,
            token,
            via: via.to_vec(),
            messages,
            entitled: token == TokenKind::Valid,
            misbehave: Misbehave::None,
        };
        let issued = Kind::TokenIssued {
            token,
            valid_until: (token == TokenKind::Valid).then_some(HOUR),
            refreshed: false,
        };
        self.client(0, user, declared).client(0, user, issued)
    }

    fn connect(&mut self, at: u64, user: &str, conn: u32) -> &mut Self {
        let kind = Kind::Connecting { conn, attempt: 1 };
        self.client(at, user, kind)
    }

    /// Gateway connection `g1.n` for `user`'s connection `conn`.
    fn gateway(&mut self, at: u64, user: &str, n: u64, event: ConnEvent) -> &mut Self {
        let conn = ConnId { boot: 1, n };
        let kind = Kind::Gateway(GatewayEvent::Conn { conn, event });
        self.push(ms(at), "gateway", Some(user), kind)
    }

    fn accepted(&mut self, at: u64, user: &str, conn: u32, n: u64) -> &mut Self {
        let request = Some(RequestId {
            user: Rc::from(user),
            conn,
        });
        self.gateway(at, user, n, ConnEvent::Accepted { request })
    }

    fn receive(&mut self, at: u64, user: &str, conn: u32, event: Incoming) -> &mut Self {
        self.client(at, user, Kind::Received { conn, event })
    }

    fn send(&mut self, at: u64, user: &str, conn: u32, message: &str) -> &mut Self {
        let frame = crate::trace::Outgoing {
            kind: crate::vocab::ClientType::UserMessage.into(),
            message_id: Some(message.into()),
            agent: Some("data_helper".into()),
            bytes: 100,
        };
        self.client(at, user, Kind::Sent { conn, frame })
    }

    fn close(&mut self, at: u64, user: &str, conn: u32, code: u16, by_client: bool) -> &mut Self {
        // A 1013 names its dependency, as the protocol requires.
        let reason = match code {
            1013 => "connection limit 1 reached".to_string(),
            _ => format!("closed {code}"),
        };
        let kind = Kind::Closed {
            conn,
            code,
            reason,
            by_client,
        };
        self.client(at, user, kind)
    }

    fn end(&mut self, at: u64) -> Trace {
        self.end = ms(at);
        Trace {
            events: std::mem::take(&mut self.events),
            end: self.end,
        }
    }
}

/// A server event as the user parsed it.
fn event(kind: &str, user: &str, seq: u64, message: Option<&str>, run: Option<&str>) -> Incoming {
    Incoming {
        kind: crate::vocab::ReadType::from_trace(kind),
        user_id: Some(user.into()),
        seq: Some(seq),
        run_id: run.map(crate::trace::Shared::from),
        message_id: message.map(crate::trace::Shared::from),
        ..Incoming::default()
    }
}

/// A valid user owing `messages` answers, admitted on gateway connection
/// `g1.n`, established, who has sent `m1`.
fn chatting<'a>(s: &'a mut Story, user: &str, n: u64, messages: u32) -> &'a mut Story {
    let established = event("connection_established", user, 1, None, None);
    s.user(user, TokenKind::Valid, &[TokenVia::Header], messages)
        .connect(10, user, 1)
        .accepted(20, user, 1, n)
        .gateway(30, user, n, ConnEvent::State(ConnState::Authenticated))
        .gateway(31, user, n, ConnEvent::State(ConnState::ProcessingReady))
        .receive(40, user, 1, established)
        .send(41, user, 1, &format!("{user}-m1"))
}

/// A user that connects, is established, sends `m1`, and gets a whole run.
fn happy(s: &mut Story, user: &str, n: u64) {
    let m = format!("{user}-m1");
    let r = format!("g1.{n}.r1");
    chatting(s, user, n, 1)
        .receive(
            50,
            user,
            1,
            event("agent_started", user, 2, Some(&m), Some(&r)),
        )
        .receive(
            60,
            user,
            1,
            event("agent_completed", user, 3, Some(&m), Some(&r)),
        )
        .close(70, user, 1, 1000, true);
}

fn causes(violations: &[Violation]) -> Vec<(Option<&str>, Cause)> {
    violations
        .iter()
        .map(|v| (v.user.as_deref(), v.cause))
        .collect()
}

/// A gateway boot 1 with `max` connections and a pool of `pool`.
fn boot(s: &mut Story, max: u32, pool: u32) -> &mut Story {
    let boot = GatewayEvent::Boot {
        boot: 1,
        startup: ms(0),
        max_connections: max,
    };
    let init = PipelineEvent::Initialising {
        startup: ms(0),
        db_pool: pool,
    };
    s.push(ms(0), "gateway", None, Kind::Gateway(boot)).push(
        ms(0),
        "gateway",
        None,
        Kind::Pipeline(init),
    )
}

fn run_of(n: u64, r: u64) -> RunId {
    RunId {
        conn: ConnId { boot: 1, n },
        n: r,
    }
}

/// `run` of `user` takes a database connection at `at` ms.
fn taken(s: &mut Story, at: u64, user: &str, run: RunId) {
    pool(s, at, user, PipelineEvent::PoolAcquired { run });
}

/// `run` of `user` gives its database connection back at `at` ms.
fn returned(s: &mut Story, at: u64, user: &str, run: RunId) {
    pool(s, at, user, PipelineEvent::PoolReleased { run });
}

fn pool<'a>(s: &'a mut Story, at: u64, user: &str, event: PipelineEvent) -> &'a mut Story {
    s.push(ms(at), "gateway", Some(user), Kind::Pipeline(event))
}

/// `u1`, chatting on g1.1, whose run r1 answers `m1` with `error` `code`
/// at 60 ms; run r1 waited 40 ms for the pool and timed out at 55 ms.
fn refused(s: &mut Story, code: &str) {
    chatting(s, "u1", 1, 1);
    let timeout = PipelineEvent::PoolTimeout {
        run: run_of(1, 1),
        waited: ms(40),
        in_use: 1,
    };
    let started = event("agent_started", "u1", 2, Some("u1-m1"), Some("g1.1.r1"));
    let tool = event("tool_executing", "u1", 3, Some("u1-m1"), Some("g1.1.r1"));
    s.receive(42, "u1", 1, started).receive(43, "u1", 1, tool);
    pool(s, 55, "u1", timeout);
    let mut error = event("error", "u1", 4, Some("u1-m1"), Some("g1.1.r1"));
    error.code = Some(code.into());
    s.receive(60, "u1", 1, error);
}

fn refusal_details(s: &mut Story) -> Vec<String> {
    let v = check(&s.end(1000), &Expect::default());
    v.iter()
        .inspect(|v| assert_eq!(v.cause, Cause::RefusedWithoutCause, "{v:#?}"))
        .map(|v| v.detail.clone())
        .collect()
}

mod accounting;
mod admission;
mod capacity;
mod expectations;
mod grammar;
mod isolation;
