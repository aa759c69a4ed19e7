//! One gateway connection's state machine, in four steps:
//! `upgrade` (CONNECTING -> ACCEPTED) -> `admit` (-> AUTHENTICATED ->
//! SERVICES_READY) -> `serve` (PROCESSING_READY) -> the close (CLOSED).
//!
//! Each step is a function with one job and a typed outcome: `upgrade`
//! yields the WebSocket and what its request carried, `admit` the
//! orchestrator factory or a [`Refuse`], `serve` the [`Exit`] that ended the
//! conversation; [`Conn::finish`] turns a refusal or an exit into the close
//! frame, trace events and state it owes. `connection_established` is sent
//! on entering PROCESSING_READY and never before: by then the token is
//! validated and the pipeline can take a message. Each failure on the way
//! has its own close code (docs/design.md, "Close codes"); nothing here is
//! shared between connections except the boot.

use std::rc::Rc;
use std::time::Duration;

use crate::net::TcpStream;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::wire::{self, ServerEvent};
use super::{Boot, Gateway};
use crate::services::mutants::Mutant;
use crate::trace::{
    Component, ConnEvent, ConnId, ConnState, GatewayEvent, Kind, Probe, TransportEnd,
};

mod admit;
mod serve;
mod upgrade;

/// The largest frame or message the gateway accepts (larger closes 1009).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long the gateway waits for the client's reply to its close frame.
pub const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<TcpStream>>;

/// The two halves of the connection's WebSocket, kept together so each
/// step borrows one thing.
struct Socket {
    sink: Sink,
    stream: Stream,
}

/// Counts the connection as active for its whole life.
struct Active(Rc<Boot>);

impl Active {
    fn new(boot: Rc<Boot>) -> Self {
        boot.active.set(boot.active.get() + 1);
        Self(boot)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        self.0.active.set(self.0.active.get() - 1);
        self.0.ended.notify_waiters();
    }
}

/// What a connection knows of itself; never shared with another.
struct Conn {
    gw: Rc<Gateway>,
    boot: Rc<Boot>,
    id: ConnId,
    /// The user column of trace notes: the request id's user before
    /// authentication, the authenticated user after.
    who: Option<Rc<str>>,
    seq: u64,
    runs: u64,
}

/// Why the connection must close before PROCESSING_READY: the code and
/// reason, or a 1011 blaming a component.
enum Refuse {
    Close(u16, String),
    Crash(Component, String),
}

/// How a conversation in PROCESSING_READY ended, and so what the close
/// step owes.
enum Exit {
    /// The gateway closes with this code and reason.
    Close(u16, String),
    /// A 1011 blaming a component.
    Crash(Component, String),
    /// The transport ended without a close handshake.
    Lost(TransportEnd),
    /// `connection_established` could not be sent: the transport was gone
    /// before the conversation began.
    NeverEstablished(String),
    /// Nothing more to send: the client closed, or a reply could not be
    /// sent.
    Closed,
}

impl From<Refuse> for Exit {
    fn from(refuse: Refuse) -> Self {
        match refuse {
            Refuse::Close(code, reason) => Exit::Close(code, reason),
            Refuse::Crash(component, detail) => Exit::Crash(component, detail),
        }
    }
}

pub(super) async fn handle(gw: Rc<Gateway>, boot: Rc<Boot>, stream: TcpStream, id: u64) {
    let _active = Active::new(boot.clone());
    // The planted mistake starts the count where another left off.
    let first_seq = if gw.bugs.mutant == Some(Mutant::SeqStartsAt14) {
        13
    } else {
        0
    };
    let mut conn = Conn {
        id: ConnId {
            boot: boot.number,
            n: id,
        },
        gw,
        boot,
        who: None,
        seq: first_seq,
        runs: 0,
    };
    // The upgrade and the admission (an auth call) are boxed: they are
    // short, and unboxed their state would size the connection's task for
    // its whole life. The request (its token) is not needed past admission.
    let Some(upgraded) = Box::pin(upgrade::upgrade(&mut conn, stream)).await else {
        return;
    };
    let (mut socket, request) = (upgraded.socket, upgraded.request);
    let admitted = Box::pin(admit::admit_or_shutdown(&mut conn, &request)).await;
    drop(request);
    let factory = match admitted {
        Ok(factory) => factory,
        Err(refuse) => return conn.finish(&mut socket, refuse.into()).await,
    };
    let mut talk = match serve::establish(&mut conn, &mut socket, factory).await {
        Ok(talk) => talk,
        Err(exit) => return conn.finish(&mut socket, exit).await,
    };
    let exit = serve::converse(&mut conn, &mut socket, &mut talk).await;
    conn.finish(&mut socket, exit).await;
    // The runs work on through the close handshake; dropping the
    // conversation only now cancels those still working.
    drop(talk);
}

impl Conn {
    fn log(&self, event: ConnEvent) {
        let event = GatewayEvent::Conn {
            conn: self.id,
            event,
        };
        self.gw
            .recorder
            .record(&self.gw.host, self.who.as_ref(), Kind::Gateway(event));
    }

    /// Record that this connection reached `probe`.
    fn probe(&self, probe: Probe) {
        self.gw
            .recorder
            .probe(&self.gw.host, self.who.as_ref(), probe);
    }

    fn state(&self, state: ConnState) {
        self.log(ConnEvent::State(state));
    }

    /// The close step: what each way of ending owes the client and the
    /// trace.
    async fn finish(&self, socket: &mut Socket, exit: Exit) {
        match exit {
            Exit::Close(code, reason) => self.close_blaming(socket, code, None, &reason).await,
            Exit::Crash(component, detail) => {
                // A 1011: the reason starts with the component's name, as
                // the close frame the client reads does.
                let reason = format!("{component}: {detail}");
                self.close_blaming(socket, 1011, Some(component), &reason)
                    .await;
            }
            Exit::Lost(end) => {
                self.log(ConnEvent::Transport(end));
                self.state(ConnState::Closed);
            }
            Exit::NeverEstablished(e) => {
                self.log(ConnEvent::Transport(TransportEnd::LostBeforeEstablished(e)));
            }
            Exit::Closed => self.state(ConnState::Closed),
        }
    }

    /// The close a shutting-down boot sends, the same whether the
    /// connection is still being admitted or already chatting: 1001 for a
    /// drain, 1012 for a restart.
    fn shutdown_close(&self) -> (u16, &'static str) {
        if self.gw.bugs.mutant == Some(Mutant::ShutdownClosesNormally) {
            return (1000, "shutting down");
        }
        match self.boot.shutdown.borrow().unwrap_or(1012) {
            1001 => (1001, "gateway draining"),
            code => (code, "gateway restarting"),
        }
    }

    /// The probes a shutdown's close reaches: a drain closing a connection,
    /// a restart closing one whose agent runs were still working.
    fn shutdown_probes(&self, code: u16, runs_working: bool) {
        if code == 1001 {
            self.probe(Probe::DrainClosedConnection);
        } else if runs_working {
            self.probe(Probe::RestartHitRunningAgent);
        }
    }

    async fn close_blaming(
        &self,
        socket: &mut Socket,
        code: u16,
        component: Option<Component>,
        reason: &str,
    ) {
        self.log(ConnEvent::Close {
            code,
            component,
            reason: reason.to_string(),
        });
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: reason.to_string().into(),
        };
        let _ = socket.sink.send(Message::Close(Some(frame))).await;
        // Wait briefly for the client's close reply, then drop the TCP stream.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(_)) = socket.stream.next().await {}
        })
        .await;
        self.state(ConnState::Closed);
    }

    /// Stamp and send one event.
    async fn send(&mut self, sink: &mut Sink, event: &ServerEvent) -> Result<(), SendError> {
        let user = self.who.clone().unwrap_or_else(|| Rc::from("-"));
        self.seq += 1;
        let text = wire::render(event, &user, self.seq)
            .map_err(|e| SendError::Serialise(e.to_string()))?;
        sink.send(Message::text(text))
            .await
            .map_err(|e| SendError::Transport(format!("send: {e}")))
    }
}

/// Why an event did not go out.
enum SendError {
    /// The event serialiser failed: a defect, closed 1011.
    Serialise(String),
    /// The transport is gone.
    Transport(String),
}

impl SendError {
    fn text(self) -> String {
        match self {
            SendError::Serialise(e) | SendError::Transport(e) => e,
        }
    }
}
