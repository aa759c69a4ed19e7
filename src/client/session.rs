//! One WebSocket connection of one user, from TCP connect to close.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{ClientEnv, UserPlan};
use crate::net::{self, LB, LB_PORT};
use crate::scenario::{Misbehave, TokenVia};
use crate::trace::{Kind, Outgoing};

/// How long a user waits for TCP and for the upgrade answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a user waits for `connection_established` after the upgrade: it
/// covers the gateway's auth retries and its pipeline readiness wait.
const ESTABLISH_TIMEOUT: Duration = Duration::from_secs(90);
/// Silence after which a chatting user sends a `ping`, and the further
/// silence after which it gives the connection up as dead (1006).
const IDLE_PING: Duration = Duration::from_secs(15);
const DEAD_AFTER: Duration = Duration::from_secs(10);
/// How long a closing user waits for the server's close reply.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

pub enum SessionEnd {
    /// Every message answered and the connection closed with 1000.
    Done,
    /// The heal phase began with nothing in flight: the user closed with
    /// 1000 instead of sending a new message.
    Healed,
    /// A transient failure: reconnect with backoff.
    Retry { established: bool, why: String },
    /// A final answer (1008, 1011, ...): stop.
    Fatal(String),
}

impl SessionEnd {
    /// Whether the connection had been established before it ended.
    pub fn was_open(&self) -> bool {
        matches!(
            self,
            SessionEnd::Done
                | SessionEnd::Healed
                | SessionEnd::Retry {
                    established: true,
                    ..
                }
        )
    }
}

/// How far a user's conversation has come, across its connections.
#[derive(Debug, Default)]
pub struct Progress {
    /// Messages answered; the next to send is `answered + 1`.
    pub answered: u32,
    /// The highest message number ever sent: one above `answered` is a
    /// message in flight (re-sent on the next connection), not a new one.
    pub sent: u32,
    /// Whether the scenario's invalid frame went out.
    pub misbehaved: bool,
}

impl Progress {
    /// Whether the next message to send would be a new one, which the heal
    /// phase forbids.
    pub fn next_is_new(&self) -> bool {
        self.answered + 1 > self.sent
    }
}

/// Close codes after which a browser reconnects.
fn is_transient(code: u16) -> bool {
    matches!(code, 1001 | 1006 | 1012 | 1013)
}

pub async fn run(
    plan: &UserPlan,
    env: &ClientEnv,
    token: Option<&str>,
    conn: u32,
    progress: &mut Progress,
    rng: &mut StdRng,
) -> SessionEnd {
    let record = |kind| env.recorder.record(&plan.host, Some(&plan.name), kind);
    let retry = |why: String| SessionEnd::Retry {
        established: false,
        why,
    };

    let stream = match net::connect(LB, LB_PORT, CONNECT_TIMEOUT).await {
        Ok(s) => s,
        Err(e) => {
            let reason = net::reason(&e).to_string();
            record(Kind::ConnectFailed {
                conn,
                reason: reason.clone(),
            });
            return retry(format!("connect {reason}"));
        }
    };
    let mut request = format!("ws://{LB}:{LB_PORT}/ws")
        .into_client_request()
        .expect("static URL is a valid request");
    let headers = request.headers_mut();
    let request_id = format!("{}/c{conn}", plan.name);
    headers.insert("x-request-id", request_id.parse().expect("ascii id"));
    if let Some(token) = token {
        if plan.via.contains(&TokenVia::Header) {
            headers.insert(
                "authorization",
                format!("Bearer {token}").parse().expect("ascii token"),
            );
        }
        if plan.via.contains(&TokenVia::Subprotocol) {
            headers.insert(
                "sec-websocket-protocol",
                format!("jwt-auth, jwt.{token}")
                    .parse()
                    .expect("ascii token"),
            );
        }
    }
    let config = net::ws_config();
    let upgrade = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    let ws = match tokio::time::timeout(UPGRADE_TIMEOUT, upgrade).await {
        Ok(Ok((ws, resp))) => {
            let protocol = resp
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            record(Kind::Opened { conn, protocol });
            ws
        }
        Ok(Err(WsError::Http(resp))) => {
            let status = resp.status().as_u16();
            record(Kind::HttpRejected { conn, status });
            return retry(format!("http {status}"));
        }
        Ok(Err(e)) => {
            let reason = format!("upgrade failed: {e}");
            record(Kind::ConnectFailed {
                conn,
                reason: reason.clone(),
            });
            return retry(reason);
        }
        Err(_) => {
            record(Kind::ConnectFailed {
                conn,
                reason: "upgrade timed out".into(),
            });
            return retry("upgrade timed out".into());
        }
    };
    let (mut sink, mut stream) = ws.split();

    let mut established = false;
    // The message in flight, if any, and whether the idle ping went out.
    let mut pending: Option<String> = None;
    let mut pinged = false;
    // When the user, thinking after an answer, will send its next message.
    let mut next_send_at: Option<Instant> = None;
    loop {
        let thinking = next_send_at.filter(|_| established && pending.is_none());
        let frame = if let Some(at) = thinking {
            // Thinking: only a server frame (a close, say) or the heal
            // interrupts.
            tokio::select! {
                biased;
                frame = tokio::time::timeout_at(at, stream.next()) => match frame {
                    Err(_) => {
                        next_send_at = None;
                        continue;
                    }
                    Ok(frame) => frame,
                },
                _ = env.heal.begun() => {
                    next_send_at = None;
                    continue;
                }
            }
        } else {
            // Once per user, right after being let in: the scenario's invalid
            // frame. Nothing else is sent until the gateway has reacted to it.
            if established
                && pending.is_none()
                && !progress.misbehaved
                && !plan.misbehave.is_none()
                && !env.heal.raised()
            {
                progress.misbehaved = true;
                let (kind, text) = misbehaviour(plan);
                record(Kind::Sent {
                    conn,
                    frame: Outgoing {
                        kind: kind.into(),
                        message_id: None,
                        agent: None,
                        bytes: text.len(),
                    },
                });
                let _ = sink.send(Message::text(text)).await;
                pending = Some(MISBEHAVIOUR.into());
                continue;
            }
            // Send the next message once established and nothing is in flight.
            if established && pending.is_none() {
                if progress.answered >= plan.messages {
                    return close_normally(plan, env, conn, &mut sink, &mut stream).await;
                }
                if env.heal.raised() && progress.next_is_new() {
                    record(Kind::StoppedAtHeal {
                        answered: progress.answered,
                    });
                    close_normally(plan, env, conn, &mut sink, &mut stream).await;
                    return SessionEnd::Healed;
                }
                let answered = progress.answered;
                let (message_id, text, frame) = next_message(plan, answered + 1);
                record(Kind::Sent { conn, frame });
                if sink.send(Message::text(text)).await.is_err() {
                    record(closed(conn, 1006, "send failed", false));
                    return SessionEnd::Retry {
                        established,
                        why: "1006".into(),
                    };
                }
                progress.sent = progress.sent.max(answered + 1);
                pending = Some(message_id);
            }
            let wait = match (established, pinged) {
                (false, _) => ESTABLISH_TIMEOUT,
                (true, false) => IDLE_PING,
                (true, true) => DEAD_AFTER,
            };
            match tokio::time::timeout(wait, stream.next()).await {
                Err(_) if established && !pinged => {
                    let text = json!({"type": "ping"}).to_string();
                    record(Kind::Sent {
                        conn,
                        frame: Outgoing {
                            kind: "ping".into(),
                            message_id: None,
                            agent: None,
                            bytes: text.len(),
                        },
                    });
                    let _ = sink.send(Message::text(text)).await;
                    pinged = true;
                    continue;
                }
                Err(_) => {
                    let reason = if established {
                        "no answer to ping"
                    } else {
                        "no connection_established"
                    };
                    record(closed(conn, 1006, reason, true));
                    return SessionEnd::Retry {
                        established,
                        why: format!("1006 {reason}"),
                    };
                }
                Ok(frame) => frame,
            }
        };
        pinged = false;
        match frame {
            Some(Ok(Message::Text(text))) => {
                let event = super::incoming::parse(text.as_str());
                let kind = event.kind.clone();
                let terminal = matches!(kind.as_str(), "agent_completed" | "error")
                    && event.message_id.is_some()
                    && event.message_id == pending;
                record(Kind::Received { conn, event });
                if kind == "connection_established" {
                    established = true;
                }
                if terminal {
                    pending = None;
                    progress.answered += 1;
                    if !plan.think.is_zero() && progress.answered < plan.messages {
                        let pause = rng.random_range(plan.think.min..=plan.think.max);
                        // Simulated time: tokio's clock, paused and driven by turmoil.
                        next_send_at = Some(tokio::time::Instant::now() + pause);
                    }
                }
                if kind == "error" && pending.as_deref() == Some(MISBEHAVIOUR) {
                    pending = None;
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                record(closed(conn, code, &reason, false));
                // Let tungstenite send the close reply and finish.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    while let Some(Ok(_)) = stream.next().await {}
                })
                .await;
                return after_close(code, established, progress.answered >= plan.messages);
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                record(closed(
                    conn,
                    1006,
                    "connection lost without close frame",
                    false,
                ));
                return SessionEnd::Retry {
                    established,
                    why: "1006".into(),
                };
            }
        }
    }
}

/// Message `k` of the user: its id, its JSON text, and what the trace
/// records of it.
fn next_message(plan: &UserPlan, k: u32) -> (String, String, Outgoing) {
    let message_id = format!("{}-m{k}", plan.name);
    let text = json!({
        "type": "user_message",
        "message_id": message_id,
        "agent": plan.agent.as_str(),
        "text": format!("question {k} from {}", plan.name),
    })
    .to_string();
    let frame = Outgoing {
        kind: "user_message".into(),
        message_id: Some(message_id.clone()),
        agent: Some(plan.agent.as_str().into()),
        bytes: text.len(),
    };
    (message_id, text, frame)
}

/// Marks "the invalid frame is in flight" in place of a message id.
const MISBEHAVIOUR: &str = "<misbehaviour>";

/// The frame a misbehaving user sends, and what to call it in the trace.
fn misbehaviour(plan: &UserPlan) -> (&'static str, String) {
    match plan.misbehave {
        Misbehave::BadJson => (
            "bad_json",
            r#"{"type": "user_message", "text": "#.to_string(),
        ),
        Misbehave::WrongShape => (
            "wrong_shape",
            json!({"type": "user_message", "text": "hi"}).to_string(),
        ),
        Misbehave::Oversized => (
            "oversized",
            json!({
                "type": "user_message",
                "message_id": format!("{}-big", plan.name),
                "agent": plan.agent.as_str(),
                "text": "x".repeat(100 * 1024),
            })
            .to_string(),
        ),
        Misbehave::UnknownType | Misbehave::None => (
            "typing_indicator",
            json!({"type": "typing_indicator", "user": &*plan.name}).to_string(),
        ),
    }
}

fn closed(conn: u32, code: u16, reason: &str, by_client: bool) -> Kind {
    Kind::Closed {
        conn,
        code,
        reason: reason.to_string(),
        by_client,
    }
}

fn after_close(code: u16, established: bool, all_answered: bool) -> SessionEnd {
    // Done only if the user got in: a user with nothing (left) to send still
    // owes the server a successful connection.
    if all_answered && established {
        return SessionEnd::Done;
    }
    if is_transient(code) {
        SessionEnd::Retry {
            established,
            why: code.to_string(),
        }
    } else {
        SessionEnd::Fatal(format!("closed {code}"))
    }
}

async fn close_normally<S, R>(
    plan: &UserPlan,
    env: &ClientEnv,
    conn: u32,
    sink: &mut S,
    stream: &mut R,
) -> SessionEnd
where
    S: futures_util::Sink<Message> + Unpin,
    R: futures_util::Stream<Item = Result<Message, WsError>> + Unpin,
{
    let frame = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    let _ = sink.send(Message::Close(Some(frame))).await;
    // Wait for the server's echo so the close handshake completes.
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = stream.next().await {}
    })
    .await;
    env.recorder.record(
        &plan.host,
        Some(&plan.name),
        closed(conn, 1000, "done", true),
    );
    SessionEnd::Done
}
