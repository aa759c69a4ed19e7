//! Coverage probes: named "sometimes" points in the services and the users.
//!
//! Data flow: the code under test records a [`Probe`] as a typed trace event
//! (`Kind::Probe`) at the moment a rare condition holds (an auth retry, a
//! pool acquire that timed out, a restart that hit a running agent, ...);
//! [`crate::coverage`] counts them over a run, a sweep or an exploration and
//! lists the probes never reached, so a user can see whether the window a
//! flaky failure needs was ever opened. A probe is not a verdict: reaching
//! one is neither good nor bad, only evidence that a run went there.

crate::vocab::named_enum! {
    /// A named point a run may reach. The names are stable: reports and
    /// `--json` output use them.
    pub enum Probe as "coverage probe" {
        /// The gateway's auth call failed at the transport and is retried.
        AuthRetried = "auth_retried",
        /// Every auth retry failed: the connection is closed 1013.
        AuthUnreachable = "auth_unreachable",
        /// Auth refused a token (expired, forged, malformed).
        TokenRefused = "token_refused",
        /// A connection was authenticated while the agent pipeline was still
        /// initialising, and waits for it.
        WaitedForPipeline = "waited_for_pipeline",
        /// A user message arrived while the agent pipeline was initialising.
        MessageDuringInitialisation = "message_during_initialisation",
        /// The pipeline was not ready within `ready_timeout`: closed 1013.
        ReadyTimedOut = "ready_timed_out",
        /// The gateway refused a connection at `max_connections`: 1013.
        ConnectionLimitRefused = "connection_limit_refused",
        /// A tool call had to wait for a database connection.
        PoolWaited = "pool_waited",
        /// A tool call gave up waiting for a database connection.
        PoolAcquireTimedOut = "pool_acquire_timed_out",
        /// A drain closed an open connection (1001).
        DrainClosedConnection = "drain_closed_connection",
        /// A restart closed a connection while one of its agent runs was
        /// still working (1012).
        RestartHitRunningAgent = "restart_hit_running_agent",
        /// An agent run's event was handed to a connection that had closed.
        OutputLost = "output_lost",
        /// The load balancer found no gateway listening: 503.
        NoGateway = "no_gateway",
        /// The gateway closed a connection for an invalid frame (1003, 1007,
        /// 1009).
        InvalidFrameClosed = "invalid_frame_closed",
        /// The gateway answered an unknown message type with an `error` event.
        UnknownTypeAnswered = "unknown_type_answered",
        /// A user's token expired while its connection was open.
        TokenExpiredMidSession = "token_expired_mid_session",
        /// A user refreshed its token before reconnecting.
        TokenRefreshed = "token_refreshed",
        /// A user reconnected after losing an established connection.
        Reconnected = "reconnected",
    }
}

impl Probe {
    /// Whether only a defect can reach the probe: the fixed gateway admits
    /// nobody before the pipeline is ready (so no message arrives during
    /// initialisation), and cancels a connection's runs together with its
    /// context (so no output is handed to a closed one). A probe gate over
    /// the fixed backend leaves these out.
    pub fn needs_defect(self) -> bool {
        matches!(self, Probe::MessageDuringInitialisation | Probe::OutputLost)
    }

    /// One line on what reaching the probe means, for reports.
    pub fn what(self) -> &'static str {
        match self {
            Probe::AuthRetried => "an auth call failed and was retried",
            Probe::AuthUnreachable => "every auth retry failed (1013)",
            Probe::TokenRefused => "auth refused a token",
            Probe::WaitedForPipeline => "a connection waited for the pipeline to initialise",
            Probe::MessageDuringInitialisation => {
                "a message arrived while the pipeline was initialising"
            }
            Probe::ReadyTimedOut => "the pipeline was not ready in time (1013)",
            Probe::ConnectionLimitRefused => "the connection limit refused someone (1013)",
            Probe::PoolWaited => "a tool call waited for a database connection",
            Probe::PoolAcquireTimedOut => "a database pool acquire timed out",
            Probe::DrainClosedConnection => "a drain closed a connection (1001)",
            Probe::RestartHitRunningAgent => "a restart hit a running agent (1012)",
            Probe::OutputLost => "an agent event went to a closed connection",
            Probe::NoGateway => "the load balancer found no gateway (503)",
            Probe::InvalidFrameClosed => "an invalid frame closed a connection",
            Probe::UnknownTypeAnswered => "an unknown message type got an error event",
            Probe::TokenExpiredMidSession => "a token expired mid-session",
            Probe::TokenRefreshed => "a user refreshed its token",
            Probe::Reconnected => "a user reconnected after losing a connection",
        }
    }

    /// The probe's index in [`Probe::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_follow_the_declaration_order() {
        for (i, p) in Probe::ALL.iter().enumerate() {
            assert_eq!(p.index(), i);
            assert_eq!(p.as_str(), Probe::NAMES[i]);
            assert!(!p.what().is_empty());
        }
    }
}
