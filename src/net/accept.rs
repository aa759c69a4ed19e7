//! An accept loop that outlives its errors.
//!
//! `service -> Acceptor::next -> TcpListener::accept`, again and again.
//! A listener's `accept` fails for two kinds of reasons: the connection it
//! was about to hand over died in the backlog (aborted, reset), which says
//! nothing about the next one; or the process cannot take one now (out of
//! descriptors, `EMFILE`/`ENFILE`; out of buffers or memory). Returning on
//! either, as the services did, ends the service for good while its
//! process keeps running (issue 21: about 1,010 idle connections under a
//! 1,024 descriptor limit silenced `lb` and the gateway until restarted).
//! So the first kind is skipped, and the second waits 10 ms, doubling up
//! to 1 s, and tries again, for as long as it takes: while the descriptors
//! are gone every accept would fail at once, and the connection stays in
//! the backlog until there is room. Each burst of failures is reported
//! once on stderr when it starts and once when accepting works again.
//!
//! A simulated listener never fails (turmoil's `accept` only waits), so
//! none of this runs in a simulation.

use std::io::{self, Write};
use std::time::Duration;

use super::{TcpListener, TcpStream};

/// The first wait after a failed accept.
const FIRST_BACKOFF: Duration = Duration::from_millis(10);
/// The longest wait between two tries.
const MAX_BACKOFF: Duration = Duration::from_secs(1);
/// How long accepts must go without a failure before a burst is over:
/// near the limit, accepts fail and succeed in turn as descriptors come
/// and go, and that is one burst, reported once.
const QUIET: Duration = Duration::from_secs(1);

/// A run of failed accepts, as `net::elapsed` times.
struct Burst {
    started: Duration,
    last_failure: Duration,
    failures: u64,
}

/// A listener with its accept loop's memory of the current failure burst.
pub struct Acceptor {
    listener: TcpListener,
    /// The service's name, for the message.
    service: &'static str,
    burst: Option<Burst>,
    backoff: Duration,
}

impl Acceptor {
    pub fn new(listener: TcpListener, service: &'static str) -> Self {
        Acceptor {
            listener,
            service,
            burst: None,
            backoff: FIRST_BACKOFF,
        }
    }

    /// The next accepted connection. Never fails; cancel-safe (dropped
    /// during a wait, the next call goes on with the same burst).
    pub async fn next(&mut self) -> TcpStream {
        loop {
            match self.listener.accept().await {
                Ok((stream, _)) => {
                    self.accepted();
                    return stream;
                }
                Err(e) if about_that_connection(&e) => continue,
                Err(e) => {
                    self.failed(&e);
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn failed(&mut self, e: &io::Error) {
        let now = super::elapsed();
        match &mut self.burst {
            Some(burst) => {
                burst.failures += 1;
                burst.last_failure = now;
            }
            None => {
                self.burst = Some(Burst {
                    started: now,
                    last_failure: now,
                    failures: 1,
                });
                say(&format!(
                    "stagesim: {} cannot accept connections: {e}; retrying (after 10ms, \
                     doubling to 1s) until it can",
                    self.service
                ));
            }
        }
    }

    /// An accept worked: the wait starts small again, and a burst with no
    /// failure for `QUIET` is over, and said so.
    fn accepted(&mut self) {
        self.backoff = FIRST_BACKOFF;
        let now = super::elapsed();
        let Some(burst) = self
            .burst
            .take_if(|b| now.saturating_sub(b.last_failure) >= QUIET)
        else {
            return;
        };
        say(&format!(
            "stagesim: {} accepts connections again ({} failed accepts over {:.1}s)",
            self.service,
            burst.failures,
            burst
                .last_failure
                .saturating_sub(burst.started)
                .as_secs_f64()
        ));
    }
}

/// The next connection accepted by any of `acceptors` (the gateway on
/// several ports), polled in order; cancel-safe as [`Acceptor::next`] is.
/// One acceptor is polled exactly as on its own.
pub async fn next_of(acceptors: &mut [Acceptor]) -> TcpStream {
    match acceptors {
        [one] => one.next().await,
        many => {
            let nexts = many.iter_mut().map(|a| Box::pin(a.next()));
            futures_util::future::select_all(nexts).await.0
        }
    }
}

/// Whether an accept error concerns only the connection being accepted
/// (the peer gave up while it waited in the backlog): the next one is fine.
fn about_that_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionRefused
            | io::ErrorKind::Interrupted
    )
}

/// One line on stderr; a closed stderr loses it, nothing more.
fn say(line: &str) {
    let _ = writeln!(io::stderr(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_dead_connection_is_skipped_without_a_wait() {
        let emfile = io::Error::from_raw_os_error(24);
        assert!(!about_that_connection(&emfile), "{emfile}");
        let aborted = io::Error::from(io::ErrorKind::ConnectionAborted);
        assert!(about_that_connection(&aborted));
    }
}
