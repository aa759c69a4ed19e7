//! One gateway connection's state machine:
//! `CONNECTING -> ACCEPTED -> AUTHENTICATED -> SERVICES_READY ->
//! PROCESSING_READY -> CLOSED`.
//!
//! `connection_established` is sent on entering PROCESSING_READY and never
//! before: by then the token is validated and the pipeline can take a
//! message. Each failure on the way has its own close code (docs/design.md,
//! "Close codes"); nothing here is shared between connections except the boot.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use crate::net::TcpStream;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::auth_client::{self, Verdict};
use super::token::{Credentials, SUBPROTOCOL};
use super::violation;
use super::wire::{self, ClientFrame, ServerEvent};
use super::{Boot, Gateway};
use crate::scenario::TokenVia;
use crate::services::http;
use crate::services::mutants::Mutant;
use crate::services::pipeline::{
    OrchestratorFactory, RunContext, RunOutput, RunRequest, supervisor_pick,
};
use crate::trace::{
    Component, ConnEvent, ConnId, ConnState, GatewayEvent, Kind, Probe, RequestId, RunId,
    TransportEnd,
};

/// The largest frame or message the gateway accepts (larger closes 1009).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long the gateway waits for the client's reply to its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<TcpStream>>;

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

    /// The transport ended without a close handshake.
    fn lost(&self, end: TransportEnd) {
        self.log(ConnEvent::Transport(end));
        self.state(ConnState::Closed);
    }

    async fn close(&self, sink: &mut Sink, stream: &mut Stream, code: u16, reason: &str) {
        self.close_blaming(sink, stream, code, None, reason).await;
    }

    /// A 1011: the reason starts with the component's name, as the close
    /// frame the client reads does.
    async fn crash(
        &self,
        sink: &mut Sink,
        stream: &mut Stream,
        component: Component,
        detail: &str,
    ) {
        let reason = format!("{component}: {detail}");
        self.close_blaming(sink, stream, 1011, Some(component), &reason)
            .await;
    }

    async fn close_blaming(
        &self,
        sink: &mut Sink,
        stream: &mut Stream,
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
        let _ = sink.send(Message::Close(Some(frame))).await;
        // Wait briefly for the client's close reply, then drop the TCP stream.
        let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
            while let Some(Ok(_)) = stream.next().await {}
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

/// What the upgrade request carried: its credentials and request id.
/// What the upgrade request said: credentials, request id, and whether it
/// asked for the echo route.
type Upgrade = (Credentials, Option<String>, bool);

/// Why the connection must close before PROCESSING_READY: the code and
/// reason, or a 1011 blaming a component.
enum Refuse {
    Close(u16, String),
    Crash(Component, String),
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

    // CONNECTING: the upgrade. The callback sees the request headers once.
    let seen: Rc<RefCell<Option<Upgrade>>> = Rc::default();
    let seen_cb = seen.clone();
    // tungstenite's callback signature returns its (large) ErrorResponse.
    #[allow(clippy::result_large_err)]
    let callback = move |req: &Request, mut resp: Response| -> Result<Response, ErrorResponse> {
        let creds = Credentials::from_headers(req.headers());
        if creds.offered_jwt_auth {
            resp.headers_mut().insert(
                "sec-websocket-protocol",
                SUBPROTOCOL.parse().expect("static header"),
            );
        }
        let request_id = http::request_id(req.headers()).map(str::to_string);
        let echo = req.uri().path() == super::echo::ECHO_PATH;
        *seen_cb.borrow_mut() = Some((creds, request_id, echo));
        Ok(resp)
    };
    let config = crate::net::ws_config()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let ws = match tokio::time::timeout(conn.gw.limits.handshake_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            return conn.log(ConnEvent::HandshakeFailed {
                reason: e.to_string(),
            });
        }
        Err(_) => return conn.log(ConnEvent::HandshakeTimedOut),
    };
    let (creds, request_id, echo) = seen.borrow_mut().take().unwrap_or_default();
    if echo {
        return super::echo::serve(ws, &conn.boot, &conn.gw.limits).await;
    }
    conn.who = request_id.as_deref().and_then(http::request_user);
    let request = request_id.as_deref().and_then(RequestId::parse);
    let request_id = request_id.unwrap_or_else(|| conn.id.to_string());
    let (mut sink, mut stream) = ws.split();
    conn.log(ConnEvent::Accepted { request });

    let mut shutdown = conn.boot.shutdown.clone();
    let admitted = tokio::select! {
        biased;
        _ = shutdown.wait_for(|c| c.is_some()) => {
            let (code, reason) = shutdown_close(&conn);
            shutdown_probes(&conn, code, false);
            Err(Refuse::Close(code, reason.into()))
        }
        r = admit(&mut conn, &creds, &request_id) => r,
    };
    let factory = match admitted {
        Ok(factory) => factory,
        Err(Refuse::Close(code, reason)) => {
            return conn.close(&mut sink, &mut stream, code, &reason).await;
        }
        Err(Refuse::Crash(component, detail)) => {
            return conn.crash(&mut sink, &mut stream, component, &detail).await;
        }
    };

    conn.state(ConnState::ProcessingReady);
    let established = ServerEvent::ConnectionEstablished {
        connection_id: conn.id.to_string(),
    };
    if let Err(e) = conn.send(&mut sink, &established).await {
        return conn.log(ConnEvent::Transport(TransportEnd::LostBeforeEstablished(
            e.text(),
        )));
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let context = RunContext { conn: conn.id, tx };
    if conn.gw.bugs.shared_user_context {
        // The defective gateway kept one module-level context: the newest
        // connection's event channel replaces everyone's.
        *conn.boot.shared_context.borrow_mut() = Some(context.clone());
    }
    // Dropping the set when the connection ends cancels its runs.
    let mut runs = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|c| c.is_some()) => {
                let (code, reason) = shutdown_close(&conn);
                // Reap the runs that finished: what is left is still working.
                while runs.try_join_next().is_some() {}
                shutdown_probes(&conn, code, !runs.is_empty());
                return conn.close(&mut sink, &mut stream, code, reason).await;
            }
            Some(output) = rx.recv() => {
                let ev = match output {
                    RunOutput::Event(ev) => ev,
                    RunOutput::Crash(detail) => {
                        return conn.crash(&mut sink, &mut stream, Component::AgentPipeline, &detail).await;
                    }
                };
                match conn.send(&mut sink, &ServerEvent::Agent(ev)).await {
                    Ok(()) => {}
                    Err(SendError::Serialise(e)) => {
                        return conn.crash(&mut sink, &mut stream, Component::EventSerialiser, &e).await;
                    }
                    Err(SendError::Transport(e)) => return conn.lost(TransportEnd::SendFailed(e)),
                }
            }
            frame = stream.next() => {
                let frame = match frame {
                    None => return conn.lost(TransportEnd::Ended),
                    // A frame too large, not UTF-8 or breaking RFC 6455's
                    // framing gets its close code; anything else is the
                    // transport ending.
                    Some(Err(e)) => match violation::close_for(&e) {
                        Some((code, reason)) => {
                            conn.probe(Probe::InvalidFrameClosed);
                            return conn.close(&mut sink, &mut stream, code, &reason).await;
                        }
                        None => return conn.lost(TransportEnd::Error(e.to_string())),
                    },
                    Some(Ok(frame)) => frame,
                };
                match frame {
                    Message::Text(text) => match wire::parse(text.as_str()) {
                        Err(invalid) => {
                            conn.probe(Probe::InvalidFrameClosed);
                            return conn.close(&mut sink, &mut stream, 1007, &format!("invalid message: {}", invalid.0)).await;
                        }
                        Ok(ClientFrame::Ping) => {
                            if conn.send(&mut sink, &ServerEvent::Pong).await.is_err() {
                                return conn.state(ConnState::Closed);
                            }
                        }
                        Ok(ClientFrame::Unknown { kind }) if conn.gw.bugs.unknown_type_crash => {
                            // The defective router indexed its handler table
                            // with the client's type unchecked.
                            let detail = format!("KeyError('{kind}')");
                            return conn.crash(&mut sink, &mut stream, Component::MessageRouter, &detail).await;
                        }
                        Ok(ClientFrame::Unknown { kind }) => {
                            conn.log(ConnEvent::UnknownType { kind: kind.clone() });
                            conn.probe(Probe::UnknownTypeAnswered);
                            let ev = ServerEvent::Error {
                                code: "unknown_message_type",
                                detail: format!("no handler for message type `{kind}`"),
                                message_id: None,
                            };
                            if conn.send(&mut sink, &ev).await.is_err() {
                                return conn.state(ConnState::Closed);
                            }
                        }
                        Ok(ClientFrame::UserMessage { message_id, agent, .. }) => {
                            if conn.gw.bugs.mutant == Some(Mutant::RefuseEverything) {
                                let ev = ServerEvent::Error {
                                    code: "overloaded",
                                    detail: "busy, try again".into(),
                                    message_id: Some(message_id),
                                };
                                if conn.send(&mut sink, &ev).await.is_err() {
                                    return conn.state(ConnState::Closed);
                                }
                                continue;
                            }
                            if conn.boot.pipeline.factory_now().is_none() {
                                conn.probe(Probe::MessageDuringInitialisation);
                            }
                            let Some(spec) = supervisor_pick(&agent) else {
                                let ev = ServerEvent::Error {
                                    code: "unknown_agent",
                                    detail: format!("no agent named `{agent}`"),
                                    message_id: Some(message_id),
                                };
                                if conn.send(&mut sink, &ev).await.is_err() {
                                    return conn.state(ConnState::Closed);
                                }
                                continue;
                            };
                            let factory = match &factory {
                                Some(f) => f.clone(),
                                // The defective global orchestrator, set only
                                // when initialisation ends.
                                None => match conn.boot.pipeline.factory_now() {
                                    Some(f) => f,
                                    None => {
                                        let detail = "global orchestrator is None (read before initialisation finished)";
                                        return conn.crash(&mut sink, &mut stream, Component::MessageRouter, detail).await;
                                    }
                                },
                            };
                            if let Some(refusal) = run_limit(&conn, &mut runs, &message_id) {
                                if conn.send(&mut sink, &refusal).await.is_err() {
                                    return conn.state(ConnState::Closed);
                                }
                                continue;
                            }
                            conn.runs += 1;
                            let run = RunId { conn: conn.id, n: conn.runs };
                            conn.log(ConnEvent::Routed {
                                run,
                                agent: spec.name,
                                message_id: message_id.clone(),
                            });
                            let orchestrator = factory.create(RunRequest {
                                user: conn.who.clone().unwrap_or_else(|| Rc::from("-")),
                                run,
                                message_id,
                                agent: spec,
                            });
                            let out = if conn.gw.bugs.shared_user_context {
                                conn.boot.shared_context.borrow().clone().unwrap_or_else(|| context.clone())
                            } else {
                                context.clone()
                            };
                            runs.spawn_local(orchestrator.run(out));
                        }
                    },
                    Message::Binary(_) => {
                        conn.probe(Probe::InvalidFrameClosed);
                        return conn.close(&mut sink, &mut stream, 1003, "binary frames are not messages").await;
                    }
                    Message::Close(frame) => {
                        let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                        conn.log(ConnEvent::ClientClosed { code });
                        // tungstenite queued the echo; flushing the sink sends it.
                        let _ = sink.flush().await;
                        let _ = sink.close().await;
                        return conn.state(ConnState::Closed);
                    }
                    // Control frames are answered by tungstenite itself.
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
        }
    }
}

/// The refusal of a message that would start one run more than the
/// connection may have in flight (`max_runs_per_connection`): recorded,
/// and answered `error` `overloaded` with its `message_id` and no
/// `run_id`, since no run starts. `None`: there is room. Finished runs are
/// reaped first, so the set holds only runs still working and a long
/// connection does not keep every run it ever had.
fn run_limit<T: 'static>(
    conn: &Conn,
    runs: &mut JoinSet<T>,
    message_id: &str,
) -> Option<ServerEvent> {
    while runs.try_join_next().is_some() {}
    let in_flight = u32::try_from(runs.len()).unwrap_or(u32::MAX);
    let limit = conn.gw.limits.max_runs_per_connection;
    if in_flight < limit {
        return None;
    }
    conn.log(ConnEvent::RunLimitReached {
        message_id: message_id.to_string(),
        in_flight,
        limit,
    });
    Some(ServerEvent::Error {
        code: "overloaded",
        detail: format!(
            "{in_flight} agent runs in flight on this connection, its limit; \
             send the message again when one has finished"
        ),
        message_id: Some(message_id.to_string()),
    })
}

/// The close a shutting-down boot sends, the same whether the connection
/// is still being admitted or already chatting: 1001 for a drain, 1012 for
/// a restart.
fn shutdown_close(conn: &Conn) -> (u16, &'static str) {
    if conn.gw.bugs.mutant == Some(Mutant::ShutdownClosesNormally) {
        return (1000, "shutting down");
    }
    match conn.boot.shutdown.borrow().unwrap_or(1012) {
        1001 => (1001, "gateway draining"),
        code => (code, "gateway restarting"),
    }
}

/// The probes a shutdown's close reaches: a drain closing a connection, a
/// restart closing one whose agent runs were still working.
fn shutdown_probes(conn: &Conn, code: u16, runs_working: bool) {
    if code == 1001 {
        conn.probe(Probe::DrainClosedConnection);
    } else if runs_working {
        conn.probe(Probe::RestartHitRunningAgent);
    }
}

/// The close for a refused token: 1008, or 1011 for the defective gateway
/// whose auth error escaped to the generic handler
/// (`[bugs] auth_failure_closes_1011`).
fn auth_refusal(conn: &Conn, reason: String) -> Refuse {
    if conn.gw.bugs.auth_failure_closes_1011 {
        Refuse::Crash(
            Component::AuthHandler,
            format!("AuthenticationError({reason})"),
        )
    } else {
        Refuse::Close(1008, reason)
    }
}

/// ACCEPTED -> AUTHENTICATED -> SERVICES_READY. Returns the orchestrator
/// factory, or `None` for the defective gateway that reads a global
/// orchestrator at message time instead (`[bugs] orchestrator_singleton`).
async fn admit(
    conn: &mut Conn,
    creds: &Credentials,
    request_id: &str,
) -> Result<Option<Rc<OrchestratorFactory>>, Refuse> {
    let bugs = conn.gw.bugs;
    let active = conn.boot.active.get();
    let limit = conn.gw.config.max_connections;
    let off_by_one = u32::from(bugs.mutant == Some(Mutant::AdmitOneOverLimit));
    if active > limit + off_by_one {
        conn.probe(Probe::ConnectionLimitRefused);
        let reason = if bugs.mutant == Some(Mutant::LimitReasonReworded) {
            "too many connections, try later".to_string()
        } else {
            format!("connection limit {limit} reached")
        };
        return Err(Refuse::Close(1013, reason));
    }
    let mut candidates = creds.candidates();
    if bugs.header_only_token {
        // The defective extraction never looked at the subprotocol.
        candidates.retain(|(via, _)| *via == TokenVia::Header);
    }
    let mut refusals = Vec::new();
    let mut user = None;
    for (via, token) in &candidates {
        // The defective gateway calls auth once and lets a transport error
        // escape (`[bugs] no_auth_retry`).
        let retries = if bugs.no_auth_retry {
            0
        } else {
            conn.gw.config.auth_retries
        };
        let backoff = conn.gw.config.auth_backoff;
        // Each connection jitters from its own stream, keyed by its id.
        let mut rng = crate::seed::rng(conn.gw.seed, &format!("gateway/{}/auth", conn.id));
        let c: &Conn = conn;
        let via = *via;
        let verdict = auth_client::validate(
            token,
            request_id,
            retries,
            backoff,
            &mut rng,
            |attempt| c.log(ConnEvent::AuthCall { attempt, via }),
            |attempt, error, delay| {
                c.log(ConnEvent::AuthRetry {
                    attempt,
                    error: error.to_string(),
                    delay,
                });
                c.probe(Probe::AuthRetried);
            },
        )
        .await;
        match verdict {
            Verdict::User(id) => {
                conn.log(ConnEvent::TokenAccepted {
                    via,
                    user: id.clone(),
                });
                user = Some(id);
                break;
            }
            Verdict::Refused(reason) => {
                conn.log(ConnEvent::TokenRefused {
                    via,
                    reason: reason.clone(),
                });
                conn.probe(Probe::TokenRefused);
                refusals.push(format!("{via}: {reason}"));
            }
            Verdict::Unreachable {
                attempts,
                last_error,
            } if bugs.no_auth_retry => {
                return Err(Refuse::Crash(
                    Component::AuthClient,
                    format!("{last_error} on call {attempts}, not retried"),
                ));
            }
            Verdict::Unreachable {
                attempts,
                last_error,
            } => {
                conn.probe(Probe::AuthUnreachable);
                return Err(Refuse::Close(
                    1013,
                    format!("auth unreachable after {attempts} attempts ({last_error})"),
                ));
            }
        }
    }
    if user.is_none() && conn.gw.auth_bypass() {
        // The defective bypass admits anyone, under the name the token claims.
        let claimed = candidates
            .iter()
            .find_map(|(_, t)| crate::tokens::unverified_subject(t));
        let id = claimed.unwrap_or_else(|| "staging-debug-user".to_string());
        conn.log(ConnEvent::Bypassed {
            environment: conn.gw.environment.clone(),
            user: id.clone(),
        });
        user = Some(id);
    }
    let Some(user) = user else {
        if candidates.is_empty() {
            return Err(auth_refusal(conn, "missing token".into()));
        }
        return Err(auth_refusal(
            conn,
            format!("invalid token ({})", refusals.join("; ")),
        ));
    };
    conn.who = Some(Rc::from(user.as_str()));
    conn.state(ConnState::Authenticated);

    if bugs.orchestrator_singleton {
        // The defective readiness check looked at auth only.
        conn.state(ConnState::ServicesReady);
        return Ok(None);
    }
    let timeout = conn.gw.config.ready_timeout;
    if conn.boot.pipeline.factory_now().is_none() {
        conn.probe(Probe::WaitedForPipeline);
    }
    let Some(factory) = conn.boot.pipeline.factory_within(timeout).await else {
        conn.probe(Probe::ReadyTimedOut);
        return Err(Refuse::Close(
            1013,
            format!("agent pipeline not ready after {}ms", timeout.as_millis()),
        ));
    };
    conn.state(ConnState::ServicesReady);
    Ok(Some(factory))
}
