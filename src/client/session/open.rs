//! A session's first step: TCP to lb and the WebSocket upgrade, carrying
//! the user's request id and token the ways its plan says. Every failure
//! is recorded and is transient: the user reconnects.

use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use super::{CONNECT_TIMEOUT, SessionEnd, Sink, Stream, UPGRADE_TIMEOUT};
use crate::client::{ClientEnv, UserPlan};
use crate::net::{self, LB, LB_PORT};
use crate::scenario::TokenVia;
use crate::trace::Kind;

/// The upgraded connection's two halves, or why there is none.
pub(super) async fn open(
    plan: &UserPlan,
    env: &ClientEnv,
    token: Option<&str>,
    conn: u32,
) -> Result<(Sink, Stream), SessionEnd> {
    let record = |kind| env.recorder.record(&plan.host, Some(&plan.name), kind);
    let failed = |reason: String, why: String| {
        record(Kind::ConnectFailed { conn, reason });
        retry(why)
    };
    let stream = match net::connect(LB, LB_PORT, CONNECT_TIMEOUT).await {
        Ok(s) => s,
        Err(e) => {
            let reason = net::reason(&e).to_string();
            return Err(failed(reason.clone(), format!("connect {reason}")));
        }
    };
    let request = upgrade_request(plan, token, conn);
    let config = net::ws_config();
    let upgrade = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    match tokio::time::timeout(UPGRADE_TIMEOUT, upgrade).await {
        Ok(Ok((ws, resp))) => {
            let protocol = resp
                .headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            record(Kind::Opened { conn, protocol });
            Ok(ws.split())
        }
        Ok(Err(WsError::Http(resp))) => {
            let status = resp.status().as_u16();
            record(Kind::HttpRejected { conn, status });
            Err(retry(format!("http {status}")))
        }
        Ok(Err(e)) => {
            let reason = format!("upgrade failed: {e}");
            Err(failed(reason.clone(), reason))
        }
        Err(_) => Err(failed(
            "upgrade timed out".into(),
            "upgrade timed out".into(),
        )),
    }
}

fn retry(why: String) -> SessionEnd {
    SessionEnd::Retry {
        established: false,
        why,
    }
}

/// The upgrade request: lb's chat path, the request id `{user}/c{conn}`
/// that links the gateway's connection to this one, and the token in the
/// header, the subprotocol, or both.
fn upgrade_request(
    plan: &UserPlan,
    token: Option<&str>,
    conn: u32,
) -> tokio_tungstenite::tungstenite::handshake::client::Request {
    let mut request = format!("ws://{LB}:{LB_PORT}/ws")
        .into_client_request()
        .expect("static URL is a valid request");
    let headers = request.headers_mut();
    let request_id = format!("{}/c{conn}", plan.name);
    headers.insert("x-request-id", request_id.parse().expect("ascii id"));
    let Some(token) = token else {
        return request;
    };
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
    request
}
