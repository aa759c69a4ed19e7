//! The gateway's echo route (`/echo`): every text and binary message sent
//! back as it came, pings answered, the close handshake completed. It needs
//! no token and touches no pipeline: it exists so that a WebSocket protocol
//! test suite (Autobahn's cases, run by `kosoku` in `tests/live.rs`) can
//! check the gateway's RFC 6455 framing through `lb`, apart from the chat
//! protocol.
//!
//! `conn::upgrade` (on path `/echo`) -> `serve` -> until the peer
//! closes. tungstenite answers pings and close frames itself; this loop
//! echoes data and flushes. Because it needs no token, it is the cheapest
//! route to hold open, so it has its own cap (`echo_max_connections`: over
//! it, 1013 at once) and an idle timeout (`idle_timeout`: 1001 after that
//! long without a frame); a bad frame gets its close code
//! ([`super::violation`]).

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use super::Boot;
use crate::net::TcpStream;
use crate::services::limits::Limits;

/// The path of the echo route.
pub const ECHO_PATH: &str = "/echo";
/// How long the route waits for the client's reply to its close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(1);

type Ws = WebSocketStream<TcpStream>;

/// Counts an echo connection as open while it lives.
struct Open<'a>(&'a Boot);

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.echo_active.set(self.0.echo_active.get() - 1);
    }
}

/// Echo until the connection ends, whichever side ends it, or refuse it
/// with 1013 when the route already holds its cap.
pub async fn serve(mut ws: Ws, boot: &Boot, limits: &Limits) {
    if let Some(cap) = limits.echo_max_connections
        && boot.echo_active.get() >= cap
    {
        return close(ws, 1013, &format!("connection limit {cap} reached")).await;
    }
    boot.echo_active.set(boot.echo_active.get() + 1);
    let _open = Open(boot);
    loop {
        let next = match limits.idle_timeout {
            Some(idle) => match tokio::time::timeout(idle, ws.next()).await {
                Ok(next) => next,
                Err(_) => return close(ws, 1001, "idle timeout").await,
            },
            None => ws.next().await,
        };
        let message = match next {
            None => return,
            Some(Err(e)) => match super::violation::close_for(&e) {
                Some((code, reason)) => return close(ws, code, &reason).await,
                None => return,
            },
            Some(Ok(message)) => message,
        };
        let echoed = match message {
            Message::Text(_) | Message::Binary(_) => message,
            // Pongs and close frames are tungstenite's to answer.
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) | Message::Frame(_) => {
                continue;
            }
        };
        if ws.send(echoed).await.is_err() {
            return;
        }
    }
}

/// Send a close frame, wait briefly for the client's reply, and drop TCP.
async fn close(mut ws: Ws, code: u16, reason: &str) {
    let frame = CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_string().into(),
    };
    if ws.send(Message::Close(Some(frame))).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async {
        while let Some(Ok(_)) = ws.next().await {}
    })
    .await;
}
