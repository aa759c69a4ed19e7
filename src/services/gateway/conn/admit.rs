//! The connection's second step, ACCEPTED -> AUTHENTICATED ->
//! SERVICES_READY: the connection limit, the token (each candidate in
//! turn, through the auth client's retries), the staging bypass, and the
//! wait for the agent pipeline. A shutdown of the boot while admitting
//! closes the connection as it would a chatting one.

use std::rc::Rc;

use super::upgrade::UpgradeRequest;
use super::{Conn, Refuse};
use crate::scenario::TokenVia;
use crate::services::gateway::auth_client::{self, AuthAnswer};
use crate::services::mutants::Mutant;
use crate::services::pipeline::OrchestratorFactory;
use crate::trace::{Component, ConnEvent, ConnState, Probe};

/// What admission yields: the orchestrator factory, or `None` for the
/// defective gateway that reads a global orchestrator at message time
/// instead (`[bugs] orchestrator_singleton`).
pub(super) type Admitted = Option<Rc<OrchestratorFactory>>;

/// Admit, unless the boot shuts down first.
pub(super) async fn admit_or_shutdown(
    conn: &mut Conn,
    request: &UpgradeRequest,
) -> Result<Admitted, Refuse> {
    let mut shutdown = conn.boot.shutdown.clone();
    tokio::select! {
        biased;
        _ = shutdown.wait_for(|c| c.is_some()) => {
            let (code, reason) = conn.shutdown_close();
            conn.shutdown_probes(code, false);
            Err(Refuse::Close(code, reason.into()))
        }
        r = admit(conn, request) => r,
    }
}

async fn admit(conn: &mut Conn, request: &UpgradeRequest) -> Result<Admitted, Refuse> {
    refuse_over_limit(conn)?;
    let user = authenticate(conn, request).await?;
    conn.who = Some(Rc::from(user.as_str()));
    conn.state(ConnState::Authenticated);
    if conn.gw.bugs.orchestrator_singleton {
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

/// 1013 for a connection beyond `max_connections` (this one counted).
fn refuse_over_limit(conn: &Conn) -> Result<(), Refuse> {
    let mutant = conn.gw.bugs.mutant;
    let limit = conn.gw.config.max_connections;
    let off_by_one = u32::from(mutant == Some(Mutant::AdmitOneOverLimit));
    if conn.boot.active.get() <= limit + off_by_one {
        return Ok(());
    }
    conn.probe(Probe::ConnectionLimitRefused);
    let reason = if mutant == Some(Mutant::LimitReasonReworded) {
        "too many connections, try later".to_string()
    } else {
        format!("connection limit {limit} reached")
    };
    Err(Refuse::Close(1013, reason))
}

/// The user the request's tokens name: the first candidate auth accepts,
/// or the defective bypass's name; else the refusal.
async fn authenticate(conn: &Conn, request: &UpgradeRequest) -> Result<String, Refuse> {
    let mut candidates = request.creds.candidates();
    if conn.gw.bugs.header_only_token {
        // The defective extraction never looked at the subprotocol.
        candidates.retain(|(via, _)| *via == TokenVia::Header);
    }
    let mut refusals = Vec::new();
    for (via, token) in &candidates {
        match validate(conn, *via, token, &request.request_id).await? {
            Ok(user) => return Ok(user),
            Err(reason) => refusals.push(format!("{via}: {reason}")),
        }
    }
    if conn.gw.auth_bypass() {
        // The defective bypass admits anyone, under the name the token claims.
        let claimed = candidates
            .iter()
            .find_map(|(_, t)| crate::tokens::unverified_subject(t));
        let id = claimed.unwrap_or_else(|| "staging-debug-user".to_string());
        conn.log(ConnEvent::Bypassed {
            environment: conn.gw.environment.clone(),
            user: id.clone(),
        });
        return Ok(id);
    }
    if candidates.is_empty() {
        return Err(auth_refusal(conn, "missing token".into()));
    }
    Err(auth_refusal(
        conn,
        format!("invalid token ({})", refusals.join("; ")),
    ))
}

/// One token through the auth client: `Ok(Ok(user))` accepted,
/// `Ok(Err(reason))` refused (the next candidate may do), `Err` when auth
/// could not be reached at all.
async fn validate(
    conn: &Conn,
    via: TokenVia,
    token: &str,
    request_id: &str,
) -> Result<Result<String, String>, Refuse> {
    let bugs = conn.gw.bugs;
    // The defective gateway calls auth once and lets a transport error
    // escape (`[bugs] no_auth_retry`).
    let retries = if bugs.no_auth_retry {
        0
    } else {
        conn.gw.config.auth_retries
    };
    // Each connection jitters from its own stream, keyed by its id.
    let mut rng = crate::seed::rng(conn.gw.seed, &format!("gateway/{}/auth", conn.id));
    let answer = auth_client::validate(
        token,
        request_id,
        retries,
        conn.gw.config.auth_backoff,
        &mut rng,
        |attempt| conn.log(ConnEvent::AuthCall { attempt, via }),
        |attempt, error, delay| {
            conn.log(ConnEvent::AuthRetry {
                attempt,
                error: error.to_string(),
                delay,
            });
            conn.probe(Probe::AuthRetried);
        },
    )
    .await;
    match answer {
        AuthAnswer::User(user) => {
            conn.log(ConnEvent::TokenAccepted {
                via,
                user: user.clone(),
            });
            Ok(Ok(user))
        }
        AuthAnswer::Refused(reason) => {
            conn.log(ConnEvent::TokenRefused {
                via,
                reason: reason.clone(),
            });
            conn.probe(Probe::TokenRefused);
            Ok(Err(reason))
        }
        AuthAnswer::Unreachable {
            attempts,
            last_error,
        } if bugs.no_auth_retry => Err(Refuse::Crash(
            Component::AuthClient,
            format!("{last_error} on call {attempts}, not retried"),
        )),
        AuthAnswer::Unreachable {
            attempts,
            last_error,
        } => {
            conn.probe(Probe::AuthUnreachable);
            Err(Refuse::Close(
                1013,
                format!("auth unreachable after {attempts} attempts ({last_error})"),
            ))
        }
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
