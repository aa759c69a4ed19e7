//! One WebSocket connection of one user, from TCP connect to close, in
//! two steps: `open` (TCP connect and the upgrade through lb, with the
//! user's token) and `talk` (wait for `connection_established`, then send,
//! wait, think and ping until the conversation ends). Each yields a typed
//! outcome; the [`SessionEnd`] tells `client::user` whether to reconnect.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use rand::rngs::StdRng;
use serde_json::json;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::{ClientEnv, UserPlan};
use crate::scenario::Misbehave;
use crate::trace::{Kind, Outgoing};
use crate::vocab::{ClientType, SentKind};

mod open;
mod talk;

type Sink = SplitSink<WebSocketStream<crate::net::TcpStream>, Message>;
type Stream = SplitStream<WebSocketStream<crate::net::TcpStream>>;

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
    /// The strings of the frames read lately, which later frames share.
    pub recent: crate::client::incoming::Recent,
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

pub async fn drive(
    plan: &UserPlan,
    env: &ClientEnv,
    token: Option<&str>,
    conn: u32,
    progress: &mut Progress,
    rng: &mut StdRng,
) -> SessionEnd {
    // Boxed: the connect and handshake are short, and unboxed their state
    // would size the user's task for its whole life.
    let (sink, stream) = match Box::pin(open::open(plan, env, token, conn)).await {
        Ok(ws) => ws,
        Err(end) => return end,
    };
    let session = talk::Session {
        plan,
        env,
        conn,
        progress,
        rng,
        sink,
        stream,
        established: false,
        in_flight: None,
        pinged: false,
        next_send_at: None,
    };
    session.talk().await
}

/// Message `k` of the user: its id, its JSON text, and what the trace
/// records of it.
fn next_message(plan: &UserPlan, k: u32) -> (String, String, Outgoing) {
    let message_id = crate::vocab::MessageId::new(&plan.name, k).to_string();
    let text = json!({
        "type": ClientType::UserMessage.as_str(),
        "message_id": message_id,
        "agent": plan.agent.as_str(),
        "text": format!("question {k} from {}", plan.name),
    })
    .to_string();
    let frame = Outgoing {
        kind: ClientType::UserMessage.into(),
        message_id: Some(message_id.clone()),
        agent: Some(plan.agent.as_str().into()),
        bytes: text.len(),
    };
    (message_id, text, frame)
}

/// The frame a misbehaving user sends, and what to call it in the trace.
fn misbehaviour(plan: &UserPlan) -> (SentKind, String) {
    match plan.misbehave {
        Misbehave::BadJson => (
            SentKind::BadJson,
            r#"{"type": "user_message", "text": "#.to_string(),
        ),
        Misbehave::WrongShape => (
            SentKind::WrongShape,
            json!({"type": "user_message", "text": "hi"}).to_string(),
        ),
        Misbehave::Oversized => (
            SentKind::Oversized,
            json!({
                "type": "user_message",
                "message_id": format!("{}-big", plan.name),
                "agent": plan.agent.as_str(),
                "text": "x".repeat(100 * 1024),
            })
            .to_string(),
        ),
        Misbehave::UnknownType | Misbehave::None => (
            SentKind::UnknownType("typing_indicator".into()),
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
