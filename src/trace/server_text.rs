//! The words of server events, as a reviewer reads them in a
//! full-trace snapshot. They keep the log lines of the first version
//! (`g1.2 state ACCEPTED`, `POST /v1/validate -> 200 user-0001`, ...) so
//! that trace diffs stay small; nothing parses them back.

use std::fmt::{self, Display, Formatter};

use super::server::{
    AuthEvent, Component, ConnEvent, ConnId, ConnState, GatewayEvent, LbEvent, PipelineEvent,
    RequestId, RunId, TransportEnd,
};

impl Display for ConnId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "g{}.{}", self.boot, self.n)
    }
}

impl Display for RunId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}.r{}", self.conn, self.n)
    }
}

impl Display for RequestId {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        write!(f, "{}/c{}", self.user, self.conn)
    }
}

impl Display for Component {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(self.words())
    }
}

impl Display for ConnState {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnState::Authenticated => "AUTHENTICATED",
            ConnState::ServicesReady => "SERVICES_READY",
            ConnState::ProcessingReady => "PROCESSING_READY",
            ConnState::Closed => "CLOSED",
        })
    }
}

impl Display for LbEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LbEvent::Forwarded {
                method,
                path,
                stripped,
            } => {
                write!(f, "{method} {path} -> gateway")?;
                if !stripped.is_empty() {
                    write!(f, " (stripped {})", stripped.join(","))?;
                }
                Ok(())
            }
            LbEvent::NoGateway { reason } => write!(f, "503 no ready gateway instance ({reason})"),
            LbEvent::UpstreamError { error } => write!(f, "502 upstream error: {error}"),
            LbEvent::UpstreamTimeout => f.write_str("504 upstream timed out"),
            LbEvent::Answered { status } => write!(f, "{status} from gateway"),
            LbEvent::SpliceFailed => f.write_str("upgrade failed on one side"),
            LbEvent::Refused { status, reason } => write!(f, "{status} refused by lb: {reason}"),
        }
    }
}

impl Display for TransportEnd {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            TransportEnd::LostBeforeEstablished(e) => write!(f, "lost before established: {e}"),
            TransportEnd::SendFailed(e) => write!(f, "transport lost: {e}"),
            TransportEnd::Ended => f.write_str("transport ended"),
            TransportEnd::Error(e) => write!(f, "transport error: {e}"),
        }
    }
}

impl Display for ConnEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            ConnEvent::Accepted { request: None } => f.write_str("state ACCEPTED"),
            ConnEvent::Accepted { request: Some(r) } => write!(f, "state ACCEPTED request={r}"),
            ConnEvent::HandshakeFailed { reason } => write!(f, "handshake failed: {reason}"),
            ConnEvent::HandshakeTimedOut => f.write_str("handshake timed out"),
            ConnEvent::State(state) => write!(f, "state {state}"),
            ConnEvent::AuthCall { attempt, via } => {
                write!(f, "auth call {attempt} with the token via {via}")
            }
            ConnEvent::AuthRetry {
                attempt,
                error,
                delay,
            } => write!(
                f,
                "auth call {attempt} failed ({error}); retry in {}ms",
                delay.as_millis()
            ),
            ConnEvent::TokenAccepted { via, user } => {
                write!(f, "token via {via} accepted for {user}")
            }
            ConnEvent::TokenRefused { via, reason } => {
                write!(f, "token via {via} refused: {reason}")
            }
            ConnEvent::Bypassed { environment, user } => {
                write!(f, "auth bypass ({environment}): admitted as {user}")
            }
            ConnEvent::Routed {
                run,
                agent,
                message_id,
            } => write!(f, "{run} supervisor -> {agent} for {message_id}"),
            ConnEvent::RunLimitReached {
                message_id,
                in_flight,
                limit,
            } => write!(
                f,
                "{message_id} refused overloaded: {in_flight} runs in flight, limit {limit}"
            ),
            ConnEvent::UnknownType { kind } => write!(f, "unknown message type {kind}"),
            ConnEvent::ClientClosed { code } => write!(f, "client closed {code}"),
            ConnEvent::Close { code, reason, .. } => write!(f, "close {code} {reason}"),
            ConnEvent::Transport(end) => end.fmt(f),
        }
    }
}

impl Display for GatewayEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            GatewayEvent::Boot {
                boot,
                startup,
                max_connections,
            } => write!(
                f,
                "gateway boot {boot} (startup {}ms, max {max_connections} connections)",
                startup.as_millis()
            ),
            GatewayEvent::Listening => f.write_str("gateway listening"),
            GatewayEvent::Draining { code, connections } => {
                write!(
                    f,
                    "gateway draining with {code} ({connections} connections)"
                )
            }
            GatewayEvent::Stopped => f.write_str("gateway stopped"),
            GatewayEvent::Conn { conn, event } => write!(f, "{conn} {event}"),
        }
    }
}

impl Display for PipelineEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            PipelineEvent::Initialising { startup, db_pool } => write!(
                f,
                "pipeline initialising ({}ms, db pool of {db_pool})",
                startup.as_millis()
            ),
            PipelineEvent::Ready => f.write_str("pipeline ready"),
            PipelineEvent::PoolAcquired { run } => write!(f, "{run} db connection taken"),
            PipelineEvent::PoolReleased { run } => write!(f, "{run} db connection returned"),
            PipelineEvent::PoolTimeout {
                run,
                waited,
                in_use,
            } => write!(
                f,
                "{run} db pool exhausted for {}ms ({in_use} in use)",
                waited.as_millis()
            ),
            PipelineEvent::OutputLost { run, to, kind } => {
                write!(f, "{run} {kind} lost: context of {to} is closed")
            }
        }
    }
}

impl Display for AuthEvent {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            // The leeway is shown only when set, so traces without one read
            // (and hash) as before it was recorded.
            AuthEvent::Booting { startup, leeway } if leeway.is_zero() => {
                write!(f, "auth booting (startup {}ms)", startup.as_millis())
            }
            AuthEvent::Booting { startup, leeway } => write!(
                f,
                "auth booting (startup {}ms, leeway {}ms)",
                startup.as_millis(),
                leeway.as_millis()
            ),
            AuthEvent::Ready => f.write_str("auth ready"),
            AuthEvent::Validated { user } => write!(f, "POST /v1/validate -> 200 {user}"),
            AuthEvent::Refused { reason } => {
                write!(f, "POST /v1/validate -> 401 {}", reason.as_str())
            }
            AuthEvent::NoToken => f.write_str("POST /v1/validate -> 400 no token in body"),
            AuthEvent::NotFound { method, path } => write!(f, "{method} {path} -> 404"),
        }
    }
}
