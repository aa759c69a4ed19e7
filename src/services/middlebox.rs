//! Byte-level faults where a load balancer or middlebox hurts: `lb`'s splice
//! of a WebSocket connection, with the faults the driver switched on.
//!
//! Data flow: the fault driver (`faults::sim`, or `faults::live`) sets and clears
//! [`Faults`] on the one [`Middlebox`] `lb` holds, and fires resets; every
//! spliced connection forwards its bytes through [`Middlebox::splice`],
//! which reads the faults in force for each chunk it forwards:
//! - `slice`: each chunk is written in pieces of at most `bytes`, each its
//!   own segment, so WebSocket frames arrive in fragments;
//! - `bandwidth`: pieces are paced to `rate` bytes a second;
//! - `latency`: chunks flowing one way are delivered `delay` later, in
//!   order, without slowing the reader (a queue between reading and
//!   writing);
//! - `slow_close`: a side's end of stream (its FIN) is passed on `delay`
//!   later;
//! - `reset`: every connection being spliced at that moment is closed with
//!   a RST on both sides.
//!
//! The faults act on the bytes `lb` forwards after the upgrade: the HTTP
//! exchange before it is hyper's, and not faulted.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::sync::watch;
use tokio::time::Instant;

use super::tap::ConnTap;
use crate::net::TcpStream;

/// Bytes read at a time per direction (chat frames are a few hundred bytes).
const CHUNK: usize = 2 * 1024;

/// Which way bytes flow through `lb`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// From a client towards the gateway.
    Up,
    /// From the gateway towards a client.
    Down,
}

/// The byte faults in force.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Faults {
    pub slice: Option<usize>,
    /// Bytes a second.
    pub rate: Option<u64>,
    pub slow_close: Option<Duration>,
    pub latency_up: Option<Duration>,
    pub latency_down: Option<Duration>,
}

impl Faults {
    fn latency(&self, flow: Flow) -> Option<Duration> {
        match flow {
            Flow::Up => self.latency_up,
            Flow::Down => self.latency_down,
        }
    }
}

/// The faults `lb` applies, shared by all its splices.
pub struct Middlebox {
    faults: RefCell<Faults>,
    /// Bumped by every reset; each splice watches it.
    resets: watch::Sender<u64>,
    /// Connections being spliced right now.
    open: Cell<u64>,
    /// What every splice reads into, borrowed within one poll only: a
    /// direction waiting for bytes, as nearly all are, holds no buffer
    /// (a 2 KiB buffer each was 4 KiB per connected user).
    scratch: RefCell<Box<[u8; CHUNK]>>,
}

impl Default for Middlebox {
    fn default() -> Self {
        Middlebox {
            faults: RefCell::default(),
            resets: watch::Sender::new(0),
            open: Cell::new(0),
            scratch: RefCell::new(Box::new([0; CHUNK])),
        }
    }
}

impl Middlebox {
    /// Change the faults in force.
    pub fn set(&self, change: impl FnOnce(&mut Faults)) {
        change(&mut self.faults.borrow_mut());
    }

    fn now(&self) -> Faults {
        self.faults.borrow().clone()
    }

    /// Reset every connection being spliced; how many there were.
    pub fn reset_all(&self) -> u64 {
        self.resets.send_modify(|n| *n += 1);
        self.open.get()
    }

    /// Forward bytes both ways between `client` and `gateway` until both
    /// directions end, or a reset closes both with a RST. `client_early`
    /// and `gateway_early` are bytes each side sent that were read before
    /// the splice began (hyper's read-ahead), forwarded first. `tap`, if
    /// any, sees every chunk read and the end (`stagesim record`).
    pub async fn splice(
        &self,
        mut client: TcpStream,
        client_early: Bytes,
        mut gateway: TcpStream,
        gateway_early: Bytes,
        tap: Option<&dyn ConnTap>,
    ) {
        let mut resets = self.resets.subscribe();
        resets.mark_unchanged();
        self.open.set(self.open.get() + 1);
        let reset = {
            let (client_r, client_w) = tokio::io::split(&mut client);
            let (gateway_r, gateway_w) = tokio::io::split(&mut gateway);
            // Up, then down, in every poll, as a plain splice polls them:
            // the order segments leave in is part of a run's schedule. The
            // two directions are made inside the block: made outside, the
            // block would hold each twice (captured, and in the join).
            let both = async {
                tokio::join!(
                    biased;
                    self.forward(client_r, client_early, gateway_w, Flow::Up, tap),
                    self.forward(gateway_r, gateway_early, client_w, Flow::Down, tap),
                )
            };
            tokio::select! {
                biased;
                _ = resets.changed() => true,
                _ = both => false,
            }
        };
        self.open.set(self.open.get() - 1);
        if let Some(tap) = tap {
            tap.ended(reset);
        }
        if reset {
            client.reset();
            gateway.reset();
        }
    }

    /// One direction: read, and write each chunk at once or, under a
    /// latency fault, when it falls due (in order); pass the end of stream
    /// on after any `slow_close`. One loop, so that without a fault the
    /// bytes go through exactly as a plain splice forwards them.
    async fn forward(
        &self,
        mut from: impl AsyncRead + Unpin,
        early: Bytes,
        mut to: impl AsyncWrite + Unpin,
        flow: Flow,
        tap: Option<&dyn ConnTap>,
    ) {
        let seen = |bytes: &[u8]| {
            if let Some(tap) = tap
                && !bytes.is_empty()
            {
                tap.bytes(flow, bytes);
            }
        };
        seen(&early);
        let written = self.write_chunk(&mut to, &early).await;
        // A parameter lives as long as the future: without this, hyper's
        // read-ahead buffer (8 KiB, even when empty of data) stays alive
        // for the whole connection, twice per user.
        drop(early);
        if written.is_err() {
            return;
        }
        // Chunks waiting for their latency: bounded by what one connection
        // sends within a latency window.
        let mut queued: VecDeque<(Instant, Bytes)> = VecDeque::new();
        let mut ended = false;
        while !(ended && queued.is_empty()) {
            let head = queued.front().map(|(due, _)| *due);
            tokio::select! {
                biased;
                _ = sleep_until_some(head) => {
                    let (_, chunk) = queued.pop_front().expect("a head was due");
                    if self.write_chunk(&mut to, &chunk).await.is_err() {
                        return;
                    }
                }
                // Reading is cancel-safe: a read that loses the race to the
                // timer loses no bytes.
                read = self.read_chunk(&mut from), if !ended => match read {
                    Err(_) => ended = true,
                    Ok(chunk) if chunk.is_empty() => ended = true,
                    Ok(chunk) => {
                        seen(&chunk);
                        let delay = self.now().latency(flow);
                        if delay.is_none() && queued.is_empty() {
                            if self.write_chunk(&mut to, &chunk).await.is_err() {
                                return;
                            }
                        } else {
                            let due = Instant::now() + delay.unwrap_or_default();
                            queued.push_back((due, chunk));
                        }
                    }
                },
            }
        }
        if let Some(delay) = self.now().slow_close {
            tokio::time::sleep(delay).await;
        }
        let _ = to.shutdown().await;
    }

    /// What one read of `from` gives, at most `CHUNK` bytes (empty at the
    /// end of stream), as a plain `read` into a buffer of that size gives
    /// it, read into the shared scratch buffer and copied out. Cancel-safe:
    /// bytes are taken from `from` only in the poll that returns them.
    async fn read_chunk(&self, from: &mut (impl AsyncRead + Unpin)) -> std::io::Result<Bytes> {
        std::future::poll_fn(|cx| {
            let mut scratch = self.scratch.borrow_mut();
            let mut buf = ReadBuf::new(&mut scratch[..]);
            ready!(Pin::new(&mut *from).poll_read(cx, &mut buf))?;
            Poll::Ready(Ok(Bytes::copy_from_slice(buf.filled())))
        })
        .await
    }

    /// One chunk, in slices and at the rate in force when each slice goes.
    async fn write_chunk(
        &self,
        to: &mut (impl AsyncWrite + Unpin),
        chunk: &[u8],
    ) -> std::io::Result<()> {
        let mut rest = chunk;
        while !rest.is_empty() {
            let faults = self.now();
            let n = faults.slice.unwrap_or(rest.len()).clamp(1, rest.len());
            if let Some(rate) = faults.rate.filter(|r| *r > 0) {
                let nanos = (n as u128 * 1_000_000_000 / u128::from(rate)) as u64;
                tokio::time::sleep(Duration::from_nanos(nanos)).await;
            }
            to.write_all(&rest[..n]).await?;
            to.flush().await?;
            rest = &rest[n..];
        }
        Ok(())
    }
}

/// Sleep until `due`, or forever without one. A due time already reached
/// is ready at once: a timer would wait for the clock's next tick.
async fn sleep_until_some(due: Option<Instant>) {
    match due {
        Some(due) if due > Instant::now() => tokio::time::sleep_until(due).await,
        Some(_) => {}
        None => std::future::pending().await,
    }
}
