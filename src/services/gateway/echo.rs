//! The gateway's echo route (`/echo`): every text and binary message sent
//! back as it came, pings answered, the close handshake completed. It needs
//! no token and touches no pipeline: it exists so that a WebSocket protocol
//! test suite (Autobahn's cases, run by `kosoku` in `tests/live.rs`) can
//! check the gateway's RFC 6455 framing through `lb`, apart from the chat
//! protocol.
//!
//! `conn::handle` (upgrade on path `/echo`) -> `serve` -> until the peer
//! closes. tungstenite answers pings and close frames itself; this loop
//! only echoes data and flushes.

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

use crate::net::TcpStream;

/// The path of the echo route.
pub const ECHO_PATH: &str = "/echo";

/// Echo until the connection ends, whichever side ends it.
pub async fn serve(mut ws: WebSocketStream<TcpStream>) {
    while let Some(Ok(message)) = ws.next().await {
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
