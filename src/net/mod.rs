//! The one place services and users get their sockets and clock from: the
//! simulation's (turmoil) unless live mode is on for this thread
//! ([`go_live`]), then the machine's (tokio and the wall clock).
//!
//! `service / user -> net::{TcpListener, TcpStream, connect, elapsed,
//! since_epoch} -> turmoil | tokio`. In a simulation, names are turmoil
//! hosts and ports are fixed so traces read the same everywhere; live, each
//! name has an address on the machine ([`LiveNet`]). Every connect has a
//! timeout because a connect to a crashed host never answers in turmoil, and
//! one across a `partition` waits for its SYN's retransmissions
//! (docs/design.md, "The simulated world").

mod accept;
mod clock;
mod live;
mod socket;

use std::io;
use std::time::Duration;

pub use accept::{Acceptor, next_of};
pub use clock::HostClock;
pub use live::{LiveGuard, LiveNet, descriptor_limit, go_live};
pub use socket::{TcpListener, TcpStream};

pub const LB_PORT: u16 = 8080;
/// The gateway's first port, and its only one up to [`USERS_PER_GATEWAY_PORT`].
pub const GATEWAY_PORT: u16 = 9000;
pub const AUTH_PORT: u16 = 7000;

/// Users per port the simulated gateway listens on. A connection is one
/// (local, remote) address pair, so one host holds at most one connection
/// per ephemeral port (turmoil's 16,384) to one address: `lb`, which opens
/// one upstream connection per user, cannot reach a single gateway port
/// from more, and a real proxy at that scale needs more backend addresses
/// too. Below 16,384 for the ports of connections still closing; the same
/// bound sets how many users a client host carries (`client::plan::client_hosts`).
pub const USERS_PER_GATEWAY_PORT: u32 = 12_000;

/// The ports the simulated gateway listens on for `users` users, from
/// [`GATEWAY_PORT`] on: one up to [`USERS_PER_GATEWAY_PORT`] users (every
/// scenario smaller than that runs exactly as before), then one more per
/// as many. `lb` moves to the next only when every one of its ports already
/// has a connection to the last (`AddrNotAvailable`).
pub fn gateway_ports(users: u32) -> u16 {
    users.div_ceil(USERS_PER_GATEWAY_PORT).clamp(1, 64) as u16
}

/// Host names (also the trace's host column).
pub const LB: &str = "lb";
pub const GATEWAY: &str = "gateway";
pub const AUTH: &str = "auth";

/// Connect to the service `host` on `port`, giving up after `timeout`.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    match tokio::time::timeout(timeout, TcpStream::connect(host, port)).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// Time since the run started: simulated, or real in live mode. Zero
/// outside both (a unit test calling a service directly).
pub fn elapsed() -> Duration {
    match live::current() {
        None => turmoil::sim_elapsed().unwrap_or_default(),
        Some(net) => net.elapsed(),
    }
}

/// The token secret live mode was given, if any (a simulation always signs
/// with `tokens::DEFAULT_SECRET`).
pub fn live_secret() -> Option<String> {
    live::current().and_then(|net| net.secret())
}

/// Time since the Unix epoch, which tokens are minted and checked against:
/// the simulation's fixed epoch plus its time, or the machine's clock live.
pub fn since_epoch() -> Duration {
    match live::current() {
        None => turmoil::since_epoch().unwrap_or_default(),
        Some(_) => live::since_epoch(),
    }
}

/// WebSocket buffers for both ends. tungstenite's default is a 128 KiB read
/// buffer, and it zero-fills the buffer's free space up to that size before
/// every read: with thousands of simulated users that was most of the memory
/// and an eighth of the CPU. Chat frames are a few hundred bytes; at 1 KiB
/// the zero-filling is 1% of a run's instructions (5% at 4 KiB), and a
/// larger frame is read in more pieces. Writes go out at once.
pub fn ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .read_buffer_size(1024)
        .write_buffer_size(0)
}

/// A short reason for a connect error, for the trace.
pub fn reason(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "refused",
        io::ErrorKind::TimedOut => "timed out",
        io::ErrorKind::ConnectionReset => "reset",
        _ => "io error",
    }
}
