//! The connection's first step, CONNECTING -> ACCEPTED: the HTTP upgrade
//! to a WebSocket, within the handshake timeout, and what the request
//! carried (credentials, request id, route). The echo route is served from
//! here and never reaches `admit`.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};

use super::{Conn, MAX_MESSAGE_BYTES, Socket};
use crate::net::TcpStream;
use crate::services::gateway::echo;
use crate::services::gateway::token::{Credentials, SUBPROTOCOL};
use crate::services::http;
use crate::trace::{ConnEvent, RequestId};

/// An accepted chat connection: its socket and what its upgrade request
/// carried.
pub(super) struct Upgraded {
    pub socket: Socket,
    pub request: UpgradeRequest,
}

/// What the upgrade request said, read once by tungstenite's callback.
pub(super) struct UpgradeRequest {
    pub creds: Credentials,
    /// The request id header, or the connection's id when there was none.
    pub request_id: String,
}

/// Upgrade, and record ACCEPTED. `None`: the handshake failed or timed
/// out (recorded), or the request was for the echo route (served).
pub(super) async fn upgrade(conn: &mut Conn, stream: TcpStream) -> Option<Upgraded> {
    // Credentials, the request id header, and whether the echo route was asked for.
    type Seen = (Credentials, Option<String>, bool);
    let seen: Rc<RefCell<Option<Seen>>> = Rc::default();
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
        let echo = req.uri().path() == echo::ECHO_PATH;
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
            conn.log(ConnEvent::HandshakeFailed {
                reason: e.to_string(),
            });
            return None;
        }
        Err(_) => {
            conn.log(ConnEvent::HandshakeTimedOut);
            return None;
        }
    };
    let (creds, request_id, echo) = seen.borrow_mut().take().unwrap_or_default();
    if echo {
        echo::serve(ws, &conn.boot, &conn.gw.limits).await;
        return None;
    }
    conn.who = request_id.as_deref().and_then(http::request_user);
    let request = request_id.as_deref().and_then(RequestId::parse);
    let request_id = request_id.unwrap_or_else(|| conn.id.to_string());
    let (sink, stream) = ws.split();
    conn.log(ConnEvent::Accepted { request });
    Some(Upgraded {
        socket: Socket { sink, stream },
        request: UpgradeRequest { creds, request_id },
    })
}
