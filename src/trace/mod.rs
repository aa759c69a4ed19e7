//! The trace: the single ordered record of one run.
//!
//! Data flow: the services and users under test append [`Event`]s through a
//! [`Recorder`] while the simulation runs; afterwards the oracle, the report,
//! the snapshots and the trace hash are all derived from the finished
//! [`Trace`] and from nothing else (docs/design.md, "Determinism rules").
//! Events are appended in execution order, which turmoil makes
//! deterministic, so the trace is a plain `Vec`.

mod fault;
mod probe;
mod render;
mod server;
mod server_text;
mod shared;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

pub use fault::{FaultEvent, FaultId};
pub use probe::Probe;
pub use render::{describe, format_time, outgoing, render_event, write_event};
pub use server::{
    AuthEvent, Component, ConnEvent, ConnId, ConnState, ERROR_CODES, GatewayEvent, LbEvent,
    PipelineEvent, REASONS_1013, RequestId, RunId, SERVER_CLOSE_CODES, TransportEnd,
};
pub use shared::Shared;

use crate::vocab::{Misbehave, ReadType, SentKind, ServerType, TokenKind, TokenVia};

/// One thing that happened, at one simulated time, on one host.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Simulated time since the start of the run (turmoil ticks by 1 ms).
    pub at: Duration,
    /// The host it happened on: `sim` for the driver, `lb`, `gateway`,
    /// `auth`, or a `clients-K` host.
    pub host: Rc<str>,
    /// The user it concerns, where known: a client event always has one; a
    /// server event has one when the request carried the user's request id.
    pub user: Option<Rc<str>>,
    pub kind: Kind,
}

/// How a user's story ended, as its `finished` event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserEnd {
    /// Every message answered and the connection closed with 1000.
    Done,
    /// The heal phase began with nothing in flight: the user sent nothing
    /// new and stopped.
    StoppedAtHeal,
    /// A final answer (`closed 1008`) or the reconnect budget spent
    /// (`gave up after 6 attempts: 1006`): why, in those words.
    Stopped(String),
}

impl UserEnd {
    /// The words of the trace line (`finished: done`).
    pub fn as_str(&self) -> &str {
        match self {
            UserEnd::Done => "done",
            UserEnd::StoppedAtHeal => "stopped at the heal",
            UserEnd::Stopped(why) => why,
        }
    }
}

impl std::fmt::Display for UserEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happened. Client-side variants are what a browser observed; the
/// server variants (`Lb`, `Gateway`, `Pipeline`, `Auth`) are what the
/// backend did, and `Fault` what the driver did to the world. The oracle
/// judges both sides; the report draws both.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// A user exists, with the token it holds and how it sends it (recorded
    /// at time zero, so the oracle knows who is entitled to get in).
    UserDeclared {
        group: usize,
        token: TokenKind,
        via: Vec<TokenVia>,
        messages: u32,
        /// Whether the user is entitled to get in: a valid token, sent by a
        /// delivery that survives the load balancer's header stripping.
        entitled: bool,
        /// The invalid frame the user sends once, if any.
        misbehave: Misbehave,
    },
    /// The driver applied or lifted a fault, or fixed a condition of the run.
    Fault(FaultEvent),
    /// The user holds a new token: minted on arrival, or refreshed before a
    /// reconnect because it had expired or was about to. `valid_until` is
    /// the simulated time its `exp` falls at, for a correctly signed token
    /// that has not expired yet; `None` for a token that is never valid.
    TokenIssued {
        token: TokenKind,
        valid_until: Option<Duration>,
        refreshed: bool,
    },
    /// A user starts a connection attempt (`conn` counts per user from 1).
    Connecting { conn: u32, attempt: u32 },
    /// The TCP connect or the HTTP upgrade failed without a WebSocket.
    ConnectFailed { conn: u32, reason: String },
    /// The upgrade was answered with a non-101 HTTP status (e.g. 503 from lb).
    HttpRejected { conn: u32, status: u16 },
    /// The upgrade succeeded; `protocol` is the echoed subprotocol.
    Opened { conn: u32, protocol: Option<String> },
    /// The user sent a frame.
    Sent { conn: u32, frame: Outgoing },
    /// The user received a server event.
    Received { conn: u32, event: Incoming },
    /// The connection ended. `code` is the close code the user recorded:
    /// the server's close frame, the user's own 1000, or 1006 when the
    /// transport ended without a close frame.
    Closed {
        conn: u32,
        code: u16,
        reason: String,
        by_client: bool,
    },
    /// The user waits before reconnecting.
    Backoff { delay: Duration },
    /// The heal phase had begun and the user had no message in flight: it
    /// sends no new one and stops, with `answered` messages answered (all
    /// it ever sent). The oracle owes it no more than those.
    StoppedAtHeal { answered: u32 },
    /// The user stopped: `done` when every message was answered, otherwise
    /// why it stopped.
    Finished { outcome: UserEnd },
    /// The load balancer (host `lb`).
    Lb(LbEvent),
    /// The gateway host: its boots and each connection.
    Gateway(GatewayEvent),
    /// The agent pipeline inside the gateway.
    Pipeline(PipelineEvent),
    /// The auth service.
    Auth(AuthEvent),
    /// The code under test reached a coverage probe (see [`Probe`]).
    Probe(Probe),
    /// turmoil stopped the simulation with an error (host `sim`).
    Stopped { reason: String },
}

/// A frame a user sent, as the user meant it.
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    /// The JSON `type` field (`user_message`, `ping`, ...), or what the
    /// frame is when it is deliberately not a valid message (`bad_json`,
    /// `oversized`).
    pub kind: SentKind,
    pub message_id: Option<String>,
    pub agent: Option<String>,
    pub bytes: usize,
}

impl Outgoing {
    /// Whether the frame is well-formed JSON of a `type` the protocol does
    /// not have (the gateway owes it an `unknown_message_type` error), as
    /// opposed to a message, a ping, or a deliberately invalid frame.
    pub fn is_unknown_type(&self) -> bool {
        matches!(self.kind, SentKind::UnknownType(_))
    }
}

/// A server event as the user parsed it. Fields absent from the frame are
/// `None`; a frame that is not JSON at all is [`ReadType::Unparseable`].
///
/// The strings are [`Shared`]: a run's events repeat its user, run,
/// message and agent, and received events are nearly half of a trace, which
/// at 100,000 users holds millions of them (the client interns them as it
/// reads: `client::incoming::Recent`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Incoming {
    pub kind: ReadType,
    pub user_id: Option<Shared>,
    pub seq: Option<u64>,
    pub run_id: Option<Shared>,
    pub message_id: Option<Shared>,
    pub agent: Option<Shared>,
    pub tool: Option<Shared>,
    pub code: Option<Shared>,
}

impl Incoming {
    /// Whether this is one of the five agent events of a run.
    pub fn is_agent_event(&self) -> bool {
        self.kind.server().is_some_and(ServerType::is_agent_event)
    }

    /// Whether this answers a message for good (`agent_completed` or
    /// `error`).
    pub fn is_terminal(&self) -> bool {
        self.kind.server().is_some_and(ServerType::is_terminal)
    }
}

/// A finished run's record.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub events: Vec<Event>,
    /// Simulated time at which the run stopped.
    pub end: Duration,
}

impl Trace {
    /// The whole trace, one event per line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for e in &self.events {
            write_event(&mut out, e);
            out.push('\n');
        }
        out
    }

    /// SHA-256 of the rendered trace, hex: equal hashes mean equal runs.
    /// Streamed line by line into the hasher: rendering a large trace whole
    /// first cost as much time as a tenth of the run and its size in memory.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let mut line = String::new();
        for e in &self.events {
            line.clear();
            write_event(&mut line, e);
            line.push('\n');
            hasher.update(line.as_bytes());
        }
        let digest = hasher.finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The handle services and users append through. Cloned into every host's
/// software; single-threaded like the simulation itself.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Rc<RefCell<Vec<Event>>>,
    /// Record nothing: for a server that runs until stopped and is judged by
    /// nobody (`stagesim serve`), whose trace would only grow.
    discard: bool,
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// A recorder that keeps nothing.
    pub fn discarding() -> Self {
        Self {
            discard: true,
            ..Self::default()
        }
    }

    /// Append an event stamped with the current simulated time.
    pub fn record(&self, host: &Rc<str>, user: Option<&Rc<str>>, kind: Kind) {
        let at = crate::net::elapsed();
        self.record_at(at, host, user, kind);
    }

    /// Record that `probe` was reached, now.
    pub fn probe(&self, host: &Rc<str>, user: Option<&Rc<str>>, probe: Probe) {
        self.record(host, user, Kind::Probe(probe));
    }

    /// Append an event at an explicit time (the driver, outside any host).
    pub fn record_at(&self, at: Duration, host: &Rc<str>, user: Option<&Rc<str>>, kind: Kind) {
        let mirrored = tracing::enabled!(target: "stagesim::trace", tracing::Level::INFO);
        if self.discard && !mirrored {
            return;
        }
        let event = Event {
            at,
            host: host.clone(),
            user: user.cloned(),
            kind,
        };
        if mirrored {
            // For people watching a run (`RUST_LOG`); the trace itself is
            // the vector below, whatever is logged.
            tracing::info!(target: "stagesim::trace", "{}", render_event(&event).trim_start());
        }
        if !self.discard {
            self.events.borrow_mut().push(event);
        }
    }

    /// Take the events recorded so far.
    pub fn finish(&self, end: Duration) -> Trace {
        Trace {
            events: std::mem::take(&mut self.events.borrow_mut()),
            end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_streamed_hash_is_the_hash_of_the_rendered_trace() {
        use sha2::{Digest, Sha256};
        let host: Rc<str> = Rc::from("clients-1");
        let user: Rc<str> = Rc::from("user-0001");
        let recorder = Recorder::new();
        for conn in 1..=3 {
            let kind = Kind::Connecting { conn, attempt: 1 };
            recorder.record_at(
                Duration::from_millis(u64::from(conn)),
                &host,
                Some(&user),
                kind,
            );
        }
        let trace = recorder.finish(Duration::from_secs(1));
        let whole: String = Sha256::digest(trace.render().as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(trace.hash(), whole);
        assert_eq!(Trace::default().hash().len(), 64);
    }
}
