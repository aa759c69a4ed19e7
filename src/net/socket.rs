//! A TCP stream and listener that are turmoil's inside a simulation and
//! tokio's in live mode, so that the services and users are one code for
//! both. The choice is made once per socket, when it is opened.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::live;

pub enum TcpStream {
    Sim(turmoil::net::TcpStream),
    Live(tokio::net::TcpStream),
}

impl TcpStream {
    /// Connect to the service `host` on `port` (live: to its live address).
    pub(super) async fn connect(host: &str, port: u16) -> io::Result<Self> {
        match live::current() {
            None => Ok(Self::Sim(
                turmoil::net::TcpStream::connect((host, port)).await?,
            )),
            Some(net) => {
                let addr = net.addr_of(host)?;
                Ok(Self::Live(tokio::net::TcpStream::connect(addr).await?))
            }
        }
    }
}

impl TcpStream {
    /// Close abortively: the peer gets a RST, not a FIN (a load balancer
    /// resetting the connections crossing it). Live: `SO_LINGER` zero, then
    /// close, which is how a real socket sends a RST.
    pub fn reset(self) {
        match self {
            Self::Sim(s) => s.reset(),
            Self::Live(s) => {
                let _ = s.set_zero_linger();
            }
        }
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Sim(s) => Pin::new(s).poll_read(cx, buf),
            Self::Live(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Sim(s) => Pin::new(s).poll_write(cx, buf),
            Self::Live(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Sim(s) => Pin::new(s).poll_flush(cx),
            Self::Live(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Sim(s) => Pin::new(s).poll_shutdown(cx),
            Self::Live(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

pub enum TcpListener {
    Sim(turmoil::net::TcpListener),
    Live(tokio::net::TcpListener),
}

impl TcpListener {
    /// Listen as the service `host`: on `port` of every address in a
    /// simulation, on the service's live address otherwise.
    pub async fn bind(host: &str, port: u16) -> io::Result<Self> {
        match live::current() {
            None => Ok(Self::Sim(
                turmoil::net::TcpListener::bind(("0.0.0.0", port)).await?,
            )),
            Some(net) => Ok(Self::Live(net.listener(host)?)),
        }
    }

    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        match self {
            Self::Sim(l) => {
                let (s, a) = l.accept().await?;
                Ok((TcpStream::Sim(s), a))
            }
            Self::Live(l) => {
                let (s, a) = l.accept().await?;
                // Frames are small and interactive, as in the simulation.
                // A peer that already left makes this fail: the stream then
                // fails its first read, which its handler reports; the
                // listener is fine.
                let _ = s.set_nodelay(true);
                Ok((TcpStream::Live(s), a))
            }
        }
    }
}
