//! One gateway connection's state machine:
//! `CONNECTING -> ACCEPTED -> AUTHENTICATED -> SERVICES_READY ->
//! PROCESSING_READY -> CLOSED`.
//!
//! `connection_established` is sent on entering PROCESSING_READY and never
//! before: by then the token is validated and the pipeline can take a
//! message. Each failure on the way has its own close code (DESIGN.md
//! section 2); nothing here is shared between connections except the boot.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use turmoil::net::TcpStream;

use super::auth_client::{self, Verdict};
use super::token::{Credentials, SUBPROTOCOL};
use super::wire::{self, ClientFrame, ServerEvent};
use super::{Boot, Gateway};
use crate::services::http;
use crate::services::pipeline::{OrchestratorFactory, RunOutput, RunRequest, supervisor_pick};

/// The largest frame or message the gateway accepts (larger closes 1009).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// How long the upgrade handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
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
    id: String,
    /// The user column of trace notes: the request id's user before
    /// authentication, the authenticated user after.
    who: Option<Rc<str>>,
    seq: u64,
    runs: u64,
}

impl Conn {
    fn note(&self, text: impl Into<String>) {
        self.gw.recorder.note(
            &self.gw.host,
            self.who.as_ref(),
            format!("{} {}", self.id, text.into()),
        );
    }

    fn state(&self, state: &str) {
        self.note(format!("state {state}"));
    }

    async fn close(&self, sink: &mut Sink, stream: &mut Stream, code: u16, reason: &str) {
        self.note(format!("close {code} {reason}"));
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
        self.state("CLOSED");
    }

    /// Stamp and send one event.
    async fn send(&mut self, sink: &mut Sink, event: &ServerEvent) -> Result<(), String> {
        let user = self.who.clone().unwrap_or_else(|| Rc::from("-"));
        self.seq += 1;
        let text =
            wire::render(event, &user, self.seq).map_err(|e| format!("event serialiser: {e}"))?;
        sink.send(Message::text(text))
            .await
            .map_err(|e| format!("send: {e}"))
    }
}

/// What the upgrade request carried: its credentials and request id.
type Upgrade = (Credentials, Option<String>);

/// Why the connection must close before PROCESSING_READY: the code and reason.
enum Refuse {
    Close(u16, String),
}

pub(super) async fn handle(gw: Rc<Gateway>, boot: Rc<Boot>, stream: TcpStream, id: u64) {
    let _active = Active::new(boot.clone());
    let mut conn = Conn {
        id: format!("g{}.{id}", boot.number),
        gw,
        boot,
        who: None,
        seq: 0,
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
        *seen_cb.borrow_mut() = Some((creds, request_id));
        Ok(resp)
    };
    let config = crate::net::ws_config()
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => return conn.note(format!("handshake failed: {e}")),
        Err(_) => return conn.note("handshake timed out"),
    };
    let (creds, request_id) = seen.borrow_mut().take().unwrap_or_default();
    conn.who = request_id.as_deref().and_then(http::request_user);
    let request_id = request_id.unwrap_or_else(|| conn.id.clone());
    let (mut sink, mut stream) = ws.split();
    conn.state("ACCEPTED");

    let mut shutdown = conn.boot.shutdown.clone();
    let admitted = tokio::select! {
        biased;
        _ = shutdown.wait_for(|c| c.is_some()) => Err(Refuse::Close(
            shutdown_code(&conn.boot), "gateway restarting".into())),
        r = admit(&mut conn, &creds, &request_id) => r,
    };
    let factory = match admitted {
        Ok(factory) => factory,
        Err(Refuse::Close(code, reason)) => {
            return conn.close(&mut sink, &mut stream, code, &reason).await;
        }
    };

    conn.state("PROCESSING_READY");
    let established = ServerEvent::ConnectionEstablished {
        connection_id: conn.id.clone(),
    };
    if let Err(e) = conn.send(&mut sink, &established).await {
        conn.note(format!("lost before established: {e}"));
        return;
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    if conn.gw.bugs.shared_user_context {
        // The defective gateway kept one module-level context: the newest
        // connection's event channel replaces everyone's.
        *conn.boot.shared_context.borrow_mut() = Some(tx.clone());
    }
    // Dropping the set when the connection ends cancels its runs.
    let mut runs = JoinSet::new();
    loop {
        tokio::select! {
            biased;
            _ = shutdown.wait_for(|c| c.is_some()) => {
                let code = shutdown_code(&conn.boot);
                let reason = if code == 1001 { "gateway draining" } else { "gateway restarting" };
                return conn.close(&mut sink, &mut stream, code, reason).await;
            }
            Some(output) = rx.recv() => {
                let ev = match output {
                    RunOutput::Event(ev) => ev,
                    RunOutput::Crash(reason) => return conn.close(&mut sink, &mut stream, 1011, &reason).await,
                };
                if let Err(e) = conn.send(&mut sink, &ServerEvent::Agent(ev)).await {
                    if e.starts_with("event serialiser") {
                        return conn.close(&mut sink, &mut stream, 1011, &e).await;
                    }
                    conn.note(format!("transport lost: {e}"));
                    return conn.state("CLOSED");
                }
            }
            frame = stream.next() => {
                let frame = match frame {
                    None => {
                        conn.note("transport ended");
                        return conn.state("CLOSED");
                    }
                    Some(Err(WsError::Capacity(e))) => {
                        return conn.close(&mut sink, &mut stream, 1009, &format!("frame too large: {e}")).await;
                    }
                    Some(Err(e)) => {
                        conn.note(format!("transport error: {e}"));
                        return conn.state("CLOSED");
                    }
                    Some(Ok(frame)) => frame,
                };
                match frame {
                    Message::Text(text) => match wire::parse(text.as_str()) {
                        Err(invalid) => {
                            return conn.close(&mut sink, &mut stream, 1007, &format!("invalid message: {}", invalid.0)).await;
                        }
                        Ok(ClientFrame::Ping) => {
                            if conn.send(&mut sink, &ServerEvent::Pong).await.is_err() {
                                return conn.state("CLOSED");
                            }
                        }
                        Ok(ClientFrame::Unknown { kind }) if conn.gw.bugs.unknown_type_crash => {
                            // The defective router indexed its handler table
                            // with the client's type unchecked.
                            let reason = format!("message router: KeyError('{kind}')");
                            return conn.close(&mut sink, &mut stream, 1011, &reason).await;
                        }
                        Ok(ClientFrame::Unknown { kind }) => {
                            conn.note(format!("unknown message type {kind}"));
                            let ev = ServerEvent::Error {
                                code: "unknown_message_type",
                                detail: format!("no handler for message type `{kind}`"),
                                message_id: None,
                            };
                            if conn.send(&mut sink, &ev).await.is_err() {
                                return conn.state("CLOSED");
                            }
                        }
                        Ok(ClientFrame::UserMessage { message_id, agent, .. }) => {
                            let Some(spec) = supervisor_pick(&agent) else {
                                let ev = ServerEvent::Error {
                                    code: "unknown_agent",
                                    detail: format!("no agent named `{agent}`"),
                                    message_id: Some(message_id),
                                };
                                if conn.send(&mut sink, &ev).await.is_err() {
                                    return conn.state("CLOSED");
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
                                        let reason = "message router: global orchestrator is None (read before initialisation finished)";
                                        return conn.close(&mut sink, &mut stream, 1011, reason).await;
                                    }
                                },
                            };
                            conn.runs += 1;
                            let run_id = format!("{}.r{}", conn.id, conn.runs);
                            conn.note(format!("{run_id} supervisor -> {} for {message_id}", spec.name));
                            let orchestrator = factory.create(RunRequest {
                                user: conn.who.clone().unwrap_or_else(|| Rc::from("-")),
                                run_id,
                                message_id,
                                agent: spec,
                            });
                            let out = if conn.gw.bugs.shared_user_context {
                                conn.boot.shared_context.borrow().clone().unwrap_or_else(|| tx.clone())
                            } else {
                                tx.clone()
                            };
                            runs.spawn_local(orchestrator.run(out));
                        }
                    },
                    Message::Binary(_) => {
                        return conn.close(&mut sink, &mut stream, 1003, "binary frames are not messages").await;
                    }
                    Message::Close(frame) => {
                        let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
                        conn.note(format!("client closed {code}"));
                        // tungstenite queued the echo; flushing the sink sends it.
                        let _ = sink.flush().await;
                        let _ = sink.close().await;
                        return conn.state("CLOSED");
                    }
                    // Control frames are answered by tungstenite itself.
                    Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                }
            }
        }
    }
}

fn shutdown_code(boot: &Boot) -> u16 {
    boot.shutdown.borrow().unwrap_or(1012)
}

/// The close for a refused token: 1008, or 1011 for the defective gateway
/// whose auth error escaped to the generic handler
/// (`[bugs] auth_failure_closes_1011`).
fn auth_refusal(conn: &Conn, reason: String) -> Refuse {
    if conn.gw.bugs.auth_failure_closes_1011 {
        Refuse::Close(1011, format!("auth handler: AuthenticationError({reason})"))
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
    if active > limit {
        return Err(Refuse::Close(
            1013,
            format!("connection limit {limit} reached"),
        ));
    }
    let mut candidates = creds.candidates();
    if bugs.header_only_token {
        // The defective extraction never looked at the subprotocol.
        candidates.retain(|(via, _)| *via == "header");
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
        let verdict = auth_client::validate(
            token,
            request_id,
            retries,
            backoff,
            &mut rng,
            |n, err, delay| {
                c.note(format!(
                    "auth call {n} failed ({err}); retry in {}ms",
                    delay.as_millis()
                ));
            },
        )
        .await;
        match verdict {
            Verdict::User(id) => {
                conn.note(format!("token via {via} accepted for {id}"));
                user = Some(id);
                break;
            }
            Verdict::Refused(reason) => {
                conn.note(format!("token via {via} refused: {reason}"));
                refusals.push(format!("{via}: {reason}"));
            }
            Verdict::Unreachable {
                attempts,
                last_error,
            } if bugs.no_auth_retry => {
                return Err(Refuse::Close(
                    1011,
                    format!("auth client: {last_error} on call {attempts}, not retried"),
                ));
            }
            Verdict::Unreachable {
                attempts,
                last_error,
            } => {
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
        conn.note(format!(
            "auth bypass ({}): admitted as {id}",
            conn.gw.environment
        ));
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
    conn.state("AUTHENTICATED");

    if bugs.orchestrator_singleton {
        // The defective readiness check looked at auth only.
        conn.state("SERVICES_READY");
        return Ok(None);
    }
    let timeout = conn.gw.config.ready_timeout;
    let Some(factory) = conn.boot.pipeline.factory_within(timeout).await else {
        return Err(Refuse::Close(
            1013,
            format!("agent pipeline not ready after {}ms", timeout.as_millis()),
        ));
    };
    conn.state("SERVICES_READY");
    Ok(Some(factory))
}
