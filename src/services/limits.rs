//! How much a client may hold of the services, and for how long: the
//! socket-level caps and timeouts that keep `lb` and the gateway serving
//! when clients are hostile (issue 21: idle floods, slowloris, descriptor
//! exhaustion, one connection starting unlimited runs).
//!
//! Plain data, chosen once where the services are built
//! (`services::backend`): [`Limits::simulated`] for a simulation,
//! [`Limits::live`] for `stagesim serve` and `stagesim live`, whose flags
//! may change it. The simulated set keeps only what the services always
//! had (the handshake and upstream connect timeouts, and the run limit,
//! which is a count and no timer), so that no new timer changes the
//! schedule of a simulated run and every trace stays byte for byte the
//! same. docs/wire-protocol.md ("Timeouts and caps") lists the defaults.

use std::time::Duration;

/// The defaults, named for the documents.
pub mod defaults {
    use std::time::Duration;

    /// `lb`: the whole request head must arrive within this (slowloris).
    pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
    /// The gateway: the WebSocket upgrade must complete within this.
    pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
    /// The echo route: a connection that sends nothing for this long is
    /// closed 1001.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// `lb`: how long it waits for the gateway to accept.
    pub const UPSTREAM_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
    /// The echo route's open connections.
    pub const ECHO_MAX_CONNECTIONS: u32 = 64;
    /// Agent runs in flight on one chat connection.
    pub const MAX_RUNS_PER_CONNECTION: u32 = 8;
    /// `lb`'s cap is this share of the process's descriptor limit: each
    /// spliced connection holds three descriptors (lb's two and the
    /// gateway's), and auth calls and listeners need some left.
    pub const LB_SHARE_OF_DESCRIPTORS: u64 = 4;
    /// `lb`'s cap when the descriptor limit cannot be read, and its bounds.
    pub const LB_MAX_CONNECTIONS: u32 = 256;
    pub const LB_MAX_CONNECTIONS_FLOOR: u32 = 16;
    pub const LB_MAX_CONNECTIONS_CEILING: u32 = 10_000;
}

/// The caps and timeouts in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `lb`: a request head (the first one, or the next on a kept-alive
    /// connection) not complete within this closes the connection. `None`:
    /// no limit (a simulation: hyper's timer would add one per request).
    pub header_read_timeout: Option<Duration>,
    /// The gateway: the WebSocket upgrade's deadline from TCP accept.
    pub handshake_timeout: Duration,
    /// The echo route: silence from the client longer than this closes
    /// the connection 1001. `None`: no limit.
    pub idle_timeout: Option<Duration>,
    /// `lb`: the deadline for the gateway to accept (503 after it).
    pub upstream_connect_timeout: Duration,
    /// `lb`: connections open at once (from accept to the end of the
    /// splice); past it a new one is answered 503 and closed. `None`: no cap.
    pub lb_max_connections: Option<u32>,
    /// The echo route: open connections; past it a new one is closed 1013.
    /// `None`: no cap.
    pub echo_max_connections: Option<u32>,
    /// A chat connection: agent runs in flight; a message past it is
    /// answered `error` `overloaded` and starts no run.
    pub max_runs_per_connection: u32,
    /// The ports the gateway listens on, from `net::GATEWAY_PORT` on, and
    /// `lb` connects to: more than one only in a simulation of more users
    /// than one port can carry (`net::gateway_ports`).
    pub gateway_ports: u16,
}

impl Limits {
    /// A simulation's: only the limits the services always had, so no
    /// simulated schedule changes.
    pub fn simulated() -> Self {
        Limits {
            header_read_timeout: None,
            handshake_timeout: defaults::HANDSHAKE_TIMEOUT,
            idle_timeout: None,
            upstream_connect_timeout: defaults::UPSTREAM_CONNECT_TIMEOUT,
            lb_max_connections: None,
            echo_max_connections: None,
            max_runs_per_connection: defaults::MAX_RUNS_PER_CONNECTION,
            gateway_ports: 1,
        }
    }

    /// A simulation of `users` users: [`Self::simulated`] with as many
    /// gateway ports as they need.
    pub fn simulated_for(users: u32) -> Self {
        Limits {
            gateway_ports: crate::net::gateway_ports(users),
            ..Self::simulated()
        }
    }

    /// On real sockets: every limit on, `lb`'s cap sized to this process's
    /// descriptor limit.
    pub fn live() -> Self {
        Limits {
            header_read_timeout: Some(defaults::HEADER_READ_TIMEOUT),
            idle_timeout: Some(defaults::IDLE_TIMEOUT),
            lb_max_connections: Some(lb_cap(crate::net::descriptor_limit())),
            echo_max_connections: Some(defaults::ECHO_MAX_CONNECTIONS),
            ..Self::simulated()
        }
    }
}

/// `lb`'s default cap for a descriptor limit (`None`: unknown): a quarter
/// of it, within the floor and the ceiling.
pub fn lb_cap(descriptors: Option<u64>) -> u32 {
    use defaults::*;
    let Some(n) = descriptors else {
        return LB_MAX_CONNECTIONS;
    };
    let share = n / LB_SHARE_OF_DESCRIPTORS;
    share.clamp(
        u64::from(LB_MAX_CONNECTIONS_FLOOR),
        u64::from(LB_MAX_CONNECTIONS_CEILING),
    ) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lb_s_cap_is_a_quarter_of_the_descriptors_within_bounds() {
        assert_eq!(lb_cap(Some(1024)), 256);
        assert_eq!(lb_cap(Some(20_000)), 5_000);
        assert_eq!(lb_cap(Some(32)), 16);
        assert_eq!(lb_cap(Some(1 << 20)), 10_000);
        assert_eq!(lb_cap(None), 256);
    }

    #[test]
    fn a_simulation_gets_no_new_timer() {
        let sim = Limits::simulated();
        assert_eq!(sim.header_read_timeout, None);
        assert_eq!(sim.idle_timeout, None);
        assert_eq!(sim.handshake_timeout, Duration::from_secs(10));
        assert_eq!(sim.upstream_connect_timeout, Duration::from_secs(1));
    }

    #[test]
    fn a_second_gateway_port_only_past_what_one_carries() {
        let ports = |users| Limits::simulated_for(users).gateway_ports;
        assert_eq!(ports(1), 1);
        assert_eq!(ports(12_000), 1);
        assert_eq!(ports(12_001), 2);
        assert_eq!(ports(100_000), 9);
        assert_eq!(Limits::live().gateway_ports, 1);
    }
}
