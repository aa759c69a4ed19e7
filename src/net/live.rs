//! The real network and clock, for live mode: where each service listens on
//! the machine and how long the run has been going.
//!
//! `net::go_live(LiveNet) -> services and users on this thread use tokio's
//! sockets and time`. Nothing in a simulation reaches this module: the
//! switch is a thread-local that only live mode sets, and a simulation runs
//! on threads that never set it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime};

/// The live network: one address per service name, and the moment the run
/// started.
pub struct LiveNet {
    started: Instant,
    /// The token signing secret, when not the default.
    secret: Option<String>,
    addrs: BTreeMap<String, SocketAddr>,
    /// Listeners bound before the services start (on free ports), handed to
    /// the service of that name when it first listens.
    prebound: RefCell<BTreeMap<String, std::net::TcpListener>>,
}

impl LiveNet {
    /// Bind each service name to its address (port 0: a free port, as
    /// tests do on 127.0.0.1); the listeners wait for their services.
    pub fn bind(names: &[(&str, SocketAddr)]) -> io::Result<Self> {
        let mut addrs = BTreeMap::new();
        let mut prebound = BTreeMap::new();
        for (name, want) in names {
            let listener = std::net::TcpListener::bind(want)?;
            listener.set_nonblocking(true)?;
            addrs.insert(name.to_string(), listener.local_addr()?);
            prebound.insert(name.to_string(), listener);
        }
        Ok(Self {
            started: Instant::now(),
            secret: None,
            addrs,
            prebound: RefCell::new(prebound),
        })
    }

    /// The service `name` is not ours: it is reached at `addr` (a backend
    /// under test, behind our `lb`).
    pub fn with_address(mut self, name: &str, addr: SocketAddr) -> Self {
        self.addrs.insert(name.to_string(), addr);
        self
    }

    /// Sign and check tokens with `secret` instead of the default.
    pub fn with_secret(mut self, secret: Option<String>) -> Self {
        self.secret = secret;
        self
    }

    pub(super) fn secret(&self) -> Option<String> {
        self.secret.clone()
    }

    /// Where the service `name` listens.
    pub fn addr(&self, name: &str) -> Option<SocketAddr> {
        self.addrs.get(name).copied()
    }

    pub(super) fn listener(&self, name: &str) -> io::Result<tokio::net::TcpListener> {
        if let Some(bound) = self.prebound.borrow_mut().remove(name) {
            return tokio::net::TcpListener::from_std(bound);
        }
        // A service that listens again (after a drain) rebinds its address.
        let addr = self.addr_of(name)?;
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.set_reuseaddr(true)?;
        socket.bind(addr)?;
        socket.listen(1024)
    }

    pub(super) fn addr_of(&self, name: &str) -> io::Result<SocketAddr> {
        self.addr(name).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                format!("no live address for `{name}`"),
            )
        })
    }

    /// Wall time since the live run started.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// Real time since the Unix epoch: tokens minted and checked live must agree
/// with every other client and server on the machine.
pub(super) fn since_epoch() -> Duration {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
}

thread_local! {
    static LIVE: RefCell<Option<Rc<LiveNet>>> = const { RefCell::new(None) };
}

/// The live network of this thread, if live mode is on.
pub(super) fn current() -> Option<Rc<LiveNet>> {
    LIVE.with(|l| l.borrow().clone())
}

/// Live mode on this thread until the guard is dropped.
#[must_use = "live mode ends when the guard is dropped"]
pub struct LiveGuard(());

pub fn go_live(net: LiveNet) -> (LiveGuard, Rc<LiveNet>) {
    let net = Rc::new(net);
    LIVE.with(|l| *l.borrow_mut() = Some(net.clone()));
    (LiveGuard(()), net)
}

impl Drop for LiveGuard {
    fn drop(&mut self) {
        LIVE.with(|l| *l.borrow_mut() = None);
    }
}

/// This process's soft limit on open descriptors (`RLIMIT_NOFILE`), read
/// from `/proc/self/limits`; `None` where that cannot be read (not Linux)
/// or says `unlimited`. Live mode sizes `lb`'s connection cap by it.
pub fn descriptor_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files")
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
