//! The simulated network's fixed addresses and the connect helper every
//! caller uses.
//!
//! Ports are fixed so traces read the same everywhere. Every connect has a
//! timeout because a connect to a crashed or partitioned host never answers
//! in turmoil (docs/design.md, "The simulated world").

use std::io;
use std::time::Duration;

use turmoil::net::TcpStream;

pub const LB_PORT: u16 = 8080;
pub const GATEWAY_PORT: u16 = 9000;
pub const AUTH_PORT: u16 = 7000;

/// Host names (also the trace's host column).
pub const LB: &str = "lb";
pub const GATEWAY: &str = "gateway";
pub const AUTH: &str = "auth";

/// Connect to `host:port`, giving up after `timeout`.
pub async fn connect(host: &str, port: u16, timeout: Duration) -> io::Result<TcpStream> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(result) => result,
        Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
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
