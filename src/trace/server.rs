//! What the servers did, as typed trace events (the fault driver's are in
//! `fault`).
//!
//! Data flow: `services` (lb, gateway, pipeline, auth) record these through
//! the [`Recorder`](super::Recorder);
//! the oracle judges admissions, closes and deliveries from them, and the
//! report and the Chrome trace draw arrows, spans and windows from them.
//! Nothing reads their rendered text back: [`super::describe`] is for people
//! (and for the trace hash) only.

use std::rc::Rc;
use std::time::Duration;

use crate::tokens::Refusal;
pub use crate::vocab::Component;
use crate::vocab::TokenVia;

/// A gateway connection: `g1.2` is boot 1, connection 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    pub boot: u32,
    pub n: u64,
}

/// One agent run of a connection: `g1.2.r3`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RunId {
    pub conn: ConnId,
    pub n: u64,
}

/// Which of a user's connections a request belongs to: the `x-request-id`
/// header `user-0001/c2` every user sends and every server logs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestId {
    pub user: Rc<str>,
    pub conn: u32,
}

impl RequestId {
    /// `user-0001/c2`; `None` for anything else.
    pub fn parse(text: &str) -> Option<RequestId> {
        let (user, conn) = text.rsplit_once('/')?;
        let conn = conn.strip_prefix('c')?.parse().ok()?;
        (!user.is_empty()).then(|| RequestId {
            user: Rc::from(user),
            conn,
        })
    }
}

/// The close codes a server may end a connection with
/// (docs/wire-protocol.md, "Closing"; `tests/docs.rs` checks the table),
/// besides what a user records itself (1000 when done, 1006 for a lost
/// transport) and 1005 for a close frame without a code.
pub const SERVER_CLOSE_CODES: [u16; 9] = [1001, 1002, 1003, 1007, 1008, 1009, 1011, 1012, 1013];

/// How a 1013's reason begins: it names the dependency that was not ready
/// or the budget that was spent (docs/wire-protocol.md, "Closing").
pub const REASONS_1013: [&str; 3] = [
    "connection limit ",
    "auth unreachable after ",
    "agent pipeline not ready after ",
];

/// The `code`s an `error` event may carry (docs/wire-protocol.md, "Server
/// events"); what makes each legitimate is `oracle::invariants::refusals`.
pub const ERROR_CODES: [&str; 3] = ["unknown_message_type", "unknown_agent", "overloaded"];

/// The load balancer's view of one request.
#[derive(Debug, Clone, PartialEq)]
pub enum LbEvent {
    /// A request forwarded to the gateway, with the headers it stripped.
    Forwarded {
        method: String,
        path: String,
        stripped: Vec<String>,
    },
    /// No gateway instance accepted the connection: 503.
    NoGateway { reason: &'static str },
    /// The gateway connection broke before an answer: 502.
    UpstreamError { error: String },
    /// The gateway did not answer in time: 504.
    UpstreamTimeout,
    /// The gateway's answer, passed on to the client.
    Answered { status: u16 },
    /// A 101 whose upgrade failed on the client's or the gateway's side.
    SpliceFailed,
    /// Answered by lb itself, never forwarded (live only): a request that
    /// is not a WebSocket upgrade (426, 400), or a connection over lb's cap
    /// (503 `too_many_connections`, its request unread).
    Refused { status: u16, reason: &'static str },
}

impl LbEvent {
    /// The HTTP status the client got, where this event is an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            LbEvent::NoGateway { .. } => Some(503),
            LbEvent::UpstreamError { .. } => Some(502),
            LbEvent::UpstreamTimeout => Some(504),
            LbEvent::Answered { status } | LbEvent::Refused { status, .. } => Some(*status),
            LbEvent::Forwarded { .. } | LbEvent::SpliceFailed => None,
        }
    }
}

/// A gateway state (docs/design.md, "The simulated world") after ACCEPTED,
/// which has its own event because it names the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnState {
    Authenticated,
    ServicesReady,
    ProcessingReady,
    Closed,
}

/// How a gateway connection's transport ended without a close handshake.
#[derive(Debug, Clone, PartialEq)]
pub enum TransportEnd {
    /// `connection_established` could not be sent.
    LostBeforeEstablished(String),
    /// An event could not be sent.
    SendFailed(String),
    /// The peer's stream ended.
    Ended,
    /// The stream failed.
    Error(String),
}

/// What happened to one gateway connection.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnEvent {
    /// The upgrade completed: CONNECTING -> ACCEPTED. `request` links the
    /// connection to the user's connection that asked for it.
    Accepted {
        request: Option<RequestId>,
    },
    HandshakeFailed {
        reason: String,
    },
    HandshakeTimedOut,
    /// A state of the machine after ACCEPTED.
    State(ConnState),
    /// The gateway calls auth (`attempt` counts from 1) with the token it
    /// found in `via`.
    AuthCall {
        attempt: u32,
        via: TokenVia,
    },
    /// An auth call failed at the transport; the next is due after `delay`.
    AuthRetry {
        attempt: u32,
        error: String,
        delay: Duration,
    },
    /// Auth accepted the token from `via` as `user`.
    TokenAccepted {
        via: TokenVia,
        user: String,
    },
    /// Auth refused the token from `via`.
    TokenRefused {
        via: TokenVia,
        reason: String,
    },
    /// The defective staging bypass admitted the connection as `user`
    /// without a token auth accepted (`[bugs] staging_auth_bypass`).
    Bypassed {
        environment: String,
        user: String,
    },
    /// The supervisor routed a message to an agent: run `run` starts.
    Routed {
        run: RunId,
        agent: &'static str,
        message_id: String,
    },
    /// A `user_message` arrived while `in_flight` runs of this connection
    /// were still working, `limit` being the most it may have: answered
    /// `error` `overloaded` with its `message_id`, no run started. The
    /// oracle's evidence for that `overloaded`.
    RunLimitReached {
        message_id: String,
        in_flight: u32,
        limit: u32,
    },
    /// A frame of a type the router has no handler for.
    UnknownType {
        kind: String,
    },
    /// The client's close frame arrived.
    ClientClosed {
        code: u16,
    },
    /// The gateway closes the connection. `component` is the part of the
    /// backend a 1011 blames.
    Close {
        code: u16,
        component: Option<Component>,
        reason: String,
    },
    /// The transport ended without a close handshake.
    Transport(TransportEnd),
}

/// The gateway host: boots, and each connection's events.
#[derive(Debug, Clone, PartialEq)]
pub enum GatewayEvent {
    /// A boot of the gateway software, with the connection limit it
    /// enforces (the oracle's `capacity` invariant reads it from here).
    Boot {
        boot: u32,
        startup: Duration,
        max_connections: u32,
    },
    Listening,
    Draining {
        code: u16,
        connections: u32,
    },
    Stopped,
    Conn {
        conn: ConnId,
        event: ConnEvent,
    },
}

/// The agent pipeline, inside the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum PipelineEvent {
    /// Initialisation began; the database pool it will create has
    /// `db_pool` connections (the oracle's `capacity` invariant and the
    /// evidence for `overloaded` read the size from here).
    Initialising {
        startup: Duration,
        db_pool: u32,
    },
    Ready,
    /// A tool call of `run` took a database connection from the pool.
    PoolAcquired {
        run: RunId,
    },
    /// `run` gave its database connection back: the tool call ended, or
    /// the run was cancelled while it held one.
    PoolReleased {
        run: RunId,
    },
    /// A run waited `waited` for a database connection and gave up.
    PoolTimeout {
        run: RunId,
        waited: Duration,
        in_use: usize,
    },
    /// An event of `run` was handed to the context of connection `to`,
    /// which had already closed: nobody will ever see it.
    OutputLost {
        run: RunId,
        to: ConnId,
        kind: &'static str,
    },
}

/// The auth service.
#[derive(Debug, Clone, PartialEq)]
pub enum AuthEvent {
    /// A boot, with how long it starts and the leeway it allows on `exp`
    /// and `iat` (the oracle forgives admitting a token within it).
    Booting {
        startup: Duration,
        leeway: Duration,
    },
    Ready,
    /// `POST /v1/validate` answered 200 with the user id.
    Validated {
        user: String,
    },
    /// `POST /v1/validate` answered 401.
    Refused {
        reason: Refusal,
    },
    /// `POST /v1/validate` without a token: 400.
    NoToken,
    /// Anything else: 404.
    NotFound {
        method: String,
        path: String,
    },
}

impl AuthEvent {
    /// The HTTP status of a validation answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            AuthEvent::Validated { .. } => Some(200),
            AuthEvent::Refused { .. } => Some(401),
            AuthEvent::NoToken => Some(400),
            AuthEvent::NotFound { .. } => Some(404),
            AuthEvent::Booting { .. } | AuthEvent::Ready => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_parse() {
        let r = RequestId::parse("user-0001/c12").unwrap();
        assert_eq!((&*r.user, r.conn), ("user-0001", 12));
        assert_eq!(RequestId::parse("user-0001"), None);
        assert_eq!(RequestId::parse("/c1"), None);
        assert_eq!(RequestId::parse("u/x1"), None);
    }

    #[test]
    fn component_keys_round_trip() {
        for c in Component::ALL {
            assert_eq!(Component::from_key(c.key()), Some(c));
        }
    }
}
