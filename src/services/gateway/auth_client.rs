//! The gateway's call to the auth service, with retries.
//!
//! A refused or timed-out call is retried `auth_retries` times with
//! exponential backoff (`auth_backoff`, doubled each time, jittered from the
//! seed), because auth may still be starting or briefly partitioned; only
//! after the last retry does the connection close with 1013. A 401 is an
//! answer, not a failure, and is never retried.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, StatusCode};
use rand::RngExt;
use rand::rngs::StdRng;

use crate::net::{self, AUTH, AUTH_PORT};
use crate::services::http;

/// How long one call may take end to end.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// What auth said of a token (the oracle's `Verdict` is a run's, not this).
#[derive(Debug, Clone, PartialEq)]
pub enum AuthAnswer {
    /// The token is good; the user it names.
    User(String),
    /// Auth answered 401 with this reason.
    Refused(String),
    /// Auth could not be reached after every retry.
    Unreachable { attempts: u32, last_error: String },
}

/// One call; `Err` is a transport failure worth retrying.
async fn call_once(token: &str, request_id: &str) -> Result<AuthAnswer, String> {
    let stream = net::connect(AUTH, AUTH_PORT, CALL_TIMEOUT)
        .await
        .map_err(|e| net::reason(&e).to_string())?;
    let body = serde_json::json!({ "token": token }).to_string();
    let req = Request::post("/v1/validate")
        .header("host", AUTH)
        .header("content-type", "application/json")
        .header("x-request-id", request_id)
        .body(Full::new(Bytes::from(body)))
        .expect("static request parts are valid");
    let (status, body) = http::request(stream, req, CALL_TIMEOUT)
        .await
        .map_err(|e| net::reason(&e).to_string())?;
    let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let field = |k: &str| {
        value
            .get(k)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    match status {
        StatusCode::OK => Ok(AuthAnswer::User(field("user_id"))),
        StatusCode::UNAUTHORIZED => Ok(AuthAnswer::Refused(field("reason"))),
        other => Err(format!("http {}", other.as_u16())),
    }
}

/// Validate `token`, retrying transport failures `retries` times.
pub async fn validate(
    token: &str,
    request_id: &str,
    retries: u32,
    backoff: Duration,
    rng: &mut StdRng,
    on_call: impl Fn(u32),
    on_retry: impl Fn(u32, &str, Duration),
) -> AuthAnswer {
    let mut delay = backoff;
    let mut attempt = 1;
    loop {
        on_call(attempt);
        match call_once(token, request_id).await {
            Ok(v) => return v,
            Err(e) if attempt > retries => {
                return AuthAnswer::Unreachable {
                    attempts: attempt,
                    last_error: e,
                };
            }
            Err(e) => {
                // Full jitter in [delay/2, delay]: retries of many
                // connections spread out instead of arriving together.
                let jittered = rng.random_range(delay / 2..=delay);
                on_retry(attempt, &e, jittered);
                tokio::time::sleep(jittered).await;
                // Saturating: a huge backoff doubled must not overflow.
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
        }
    }
}
