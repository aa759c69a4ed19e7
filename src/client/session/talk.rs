//! A session's second step: the conversation on an open connection.
//!
//! Each turn of the loop either waits (for `connection_established`, an
//! answer, the end of a think pause, or the ping's answer) or acts (the
//! scenario's invalid frame once, the next message, or the normal close),
//! then handles the frame that arrived. The user keeps at most one thing in
//! flight, so every answer is matched to what it answers.

use futures_util::{SinkExt, StreamExt};
use rand::RngExt;
use rand::rngs::StdRng;
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{
    CLOSE_TIMEOUT, DEAD_AFTER, ESTABLISH_TIMEOUT, IDLE_PING, Progress, SessionEnd, Sink, Stream,
    after_close, close_normally, closed, misbehaviour, next_message,
};
use crate::client::{ClientEnv, UserPlan};
use crate::trace::{Kind, Outgoing};
use crate::vocab::{ClientType, SentKind, ServerType};

/// What the user awaits an answer to.
#[derive(Debug, PartialEq)]
pub(super) enum InFlight {
    /// A user message, by id: its `agent_completed` or `error` answers it.
    Message(String),
    /// The scenario's invalid frame: any `error` answers it.
    Misbehaviour,
}

/// What one wait yielded.
enum Wait {
    /// A frame, the stream's end (`None`), or a transport error.
    Frame(Option<Result<Message, WsError>>),
    /// Nothing to handle: go round again.
    Again,
    /// The session is over.
    End(SessionEnd),
}

pub(super) struct Session<'a> {
    pub plan: &'a UserPlan,
    pub env: &'a ClientEnv,
    pub conn: u32,
    pub progress: &'a mut Progress,
    pub rng: &'a mut StdRng,
    pub sink: Sink,
    pub stream: Stream,
    pub established: bool,
    pub in_flight: Option<InFlight>,
    /// Whether the idle ping went out (and its answer is awaited).
    pub pinged: bool,
    /// When the user, thinking after an answer, will send its next message.
    pub next_send_at: Option<Instant>,
}

impl Session<'_> {
    pub async fn talk(mut self) -> SessionEnd {
        loop {
            let frame = match self.next_frame().await {
                Wait::Frame(frame) => frame,
                Wait::Again => continue,
                Wait::End(end) => return end,
            };
            self.pinged = false;
            if let Some(end) = self.on_frame(frame).await {
                return end;
            }
        }
    }

    fn record(&self, kind: Kind) {
        self.env
            .recorder
            .record(&self.plan.host, Some(&self.plan.name), kind);
    }

    /// Think, or act and then wait for the server.
    async fn next_frame(&mut self) -> Wait {
        let thinking = self
            .next_send_at
            .filter(|_| self.established && self.in_flight.is_none());
        if let Some(at) = thinking {
            // Thinking: only a server frame (a close, say) or the heal
            // interrupts.
            return tokio::select! {
                biased;
                frame = tokio::time::timeout_at(at, self.stream.next()) => match frame {
                    Err(_) => {
                        self.next_send_at = None;
                        Wait::Again
                    }
                    Ok(frame) => Wait::Frame(frame),
                },
                _ = self.env.heal.begun() => {
                    self.next_send_at = None;
                    Wait::Again
                }
            };
        }
        if let Some(wait) = self.act().await {
            return wait;
        }
        self.wait_for_server().await
    }

    /// Send what is due once established and nothing is in flight: the
    /// invalid frame (then nothing else until the gateway reacted), the
    /// next message, or the close. `None`: go on to wait.
    async fn act(&mut self) -> Option<Wait> {
        if !self.established || self.in_flight.is_some() {
            return None;
        }
        let heal = self.env.heal.raised();
        if !self.progress.misbehaved && !self.plan.misbehave.is_none() && !heal {
            self.progress.misbehaved = true;
            let (kind, text) = misbehaviour(self.plan);
            self.record(Kind::Sent {
                conn: self.conn,
                frame: outgoing(kind, text.len()),
            });
            let _ = self.sink.send(Message::text(text)).await;
            self.in_flight = Some(InFlight::Misbehaviour);
            return Some(Wait::Again);
        }
        let (plan, env, conn) = (self.plan, self.env, self.conn);
        if self.progress.answered >= plan.messages {
            let end = close_normally(plan, env, conn, &mut self.sink, &mut self.stream).await;
            return Some(Wait::End(end));
        }
        if heal && self.progress.next_is_new() {
            self.record(Kind::StoppedAtHeal {
                answered: self.progress.answered,
            });
            close_normally(plan, env, conn, &mut self.sink, &mut self.stream).await;
            return Some(Wait::End(SessionEnd::Healed));
        }
        let answered = self.progress.answered;
        let (message_id, text, frame) = next_message(plan, answered + 1);
        self.record(Kind::Sent { conn, frame });
        if self.sink.send(Message::text(text)).await.is_err() {
            self.record(closed(conn, 1006, "send failed", false));
            return Some(Wait::End(SessionEnd::Retry {
                established: self.established,
                why: "1006".into(),
            }));
        }
        self.progress.sent = self.progress.sent.max(answered + 1);
        self.in_flight = Some(InFlight::Message(message_id));
        None
    }

    /// Wait for the server: `connection_established`, an answer, or, after
    /// a silence, the ping's answer; a longer silence gives the connection
    /// up (1006).
    async fn wait_for_server(&mut self) -> Wait {
        let wait = match (self.established, self.pinged) {
            (false, _) => ESTABLISH_TIMEOUT,
            (true, false) => IDLE_PING,
            (true, true) => DEAD_AFTER,
        };
        match tokio::time::timeout(wait, self.stream.next()).await {
            Ok(frame) => Wait::Frame(frame),
            Err(_) if self.established && !self.pinged => {
                let text = json!({"type": ClientType::Ping.as_str()}).to_string();
                self.record(Kind::Sent {
                    conn: self.conn,
                    frame: outgoing(ClientType::Ping.into(), text.len()),
                });
                let _ = self.sink.send(Message::text(text)).await;
                self.pinged = true;
                Wait::Again
            }
            Err(_) => {
                let reason = if self.established {
                    "no answer to ping"
                } else {
                    "no connection_established"
                };
                self.record(closed(self.conn, 1006, reason, true));
                Wait::End(SessionEnd::Retry {
                    established: self.established,
                    why: format!("1006 {reason}"),
                })
            }
        }
    }

    /// Handle what arrived. `Some`: the session is over.
    async fn on_frame(&mut self, frame: Option<Result<Message, WsError>>) -> Option<SessionEnd> {
        match frame {
            Some(Ok(Message::Text(text))) => {
                self.on_event(text.as_str());
                None
            }
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                self.record(closed(self.conn, code, &reason, false));
                // Let tungstenite send the close reply and finish.
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
                    while let Some(Ok(_)) = self.stream.next().await {}
                })
                .await;
                let all_answered = self.progress.answered >= self.plan.messages;
                Some(after_close(code, self.established, all_answered))
            }
            Some(Ok(_)) => None,
            Some(Err(_)) | None => {
                let reason = "connection lost without close frame";
                self.record(closed(self.conn, 1006, reason, false));
                Some(SessionEnd::Retry {
                    established: self.established,
                    why: "1006".into(),
                })
            }
        }
    }

    /// A server event: recorded; `connection_established` lets the user in;
    /// the answer to what is in flight ends the wait and starts a think
    /// pause before the next message.
    fn on_event(&mut self, text: &str) {
        let event = crate::client::incoming::parse(text, &mut self.progress.recent);
        let kind = event.kind.clone();
        let answers_message = event.is_terminal()
            && matches!((&event.message_id, &self.in_flight),
                (Some(id), Some(InFlight::Message(pending))) if **id == **pending);
        self.record(Kind::Received {
            conn: self.conn,
            event,
        });
        if kind.is(ServerType::ConnectionEstablished) {
            self.established = true;
        }
        if answers_message {
            self.in_flight = None;
            self.progress.answered += 1;
            let plan = self.plan;
            if !plan.think.is_zero() && self.progress.answered < plan.messages {
                let pause = self.rng.random_range(plan.think.min..=plan.think.max);
                // Simulated time: tokio's clock, paused and driven by turmoil.
                self.next_send_at = Some(Instant::now() + pause);
            }
        }
        if kind.is(ServerType::Error) && self.in_flight == Some(InFlight::Misbehaviour) {
            self.in_flight = None;
        }
    }
}

/// What the trace records of a frame other than a user message.
fn outgoing(kind: SentKind, bytes: usize) -> Outgoing {
    Outgoing {
        kind,
        message_id: None,
        agent: None,
        bytes,
    }
}
