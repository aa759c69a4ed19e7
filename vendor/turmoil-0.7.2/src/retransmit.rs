//! TCP's retransmission schedule, for links cut by
//! [`Sim::partition_tcp`](crate::Sim::partition_tcp).
//!
//! turmoil's TCP has no acknowledgements and never retransmits: a segment
//! the network drops is lost for good, and its connection stalls. A real
//! sender keeps every unacknowledged segment and sends it again each time
//! its retransmission timer (RTO) fires, doubling the timer every time,
//! until it gives up and aborts the connection. The topology keeps the
//! segments sent into a TCP-faithful partition, and this module says when
//! the sender would have sent them again: at the repair, each connection's
//! segments arrive with the first retransmission at or after it, or, if the
//! sender gave up first, the connection is reset.
//!
//! The constants are Linux's defaults:
//!
//! - data and FIN on an established connection: the first RTO is 200 ms
//!   (`TCP_RTO_MIN`, the floor Linux applies; Linux adds the smoothed round
//!   trip, a few milliseconds in a simulation, which is left out), doubled
//!   after each retransmission and capped at 120 s (`TCP_RTO_MAX`). After
//!   `tcp_retries2 = 15` retransmissions the sender gives up: 924.6 s after
//!   the first transmission (retransmissions at 0.2, 0.6, 1.4, 3.0, 6.2,
//!   12.6, 25.4, 51.0, 102.2, 204.6, 324.6, ..., 804.6 s).
//! - SYN: the first RTO is 1 s (`TCP_TIMEOUT_INIT`), doubled, and after
//!   `tcp_syn_retries = 6` retransmissions (at 1, 3, 7, 15, 31 and 63 s) the
//!   connect fails, 127 s after the first SYN.
//!
//! A user timeout ([`Builder::tcp_user_timeout`](crate::Builder::tcp_user_timeout),
//! Linux's `TCP_USER_TIMEOUT` socket option, RFC 5482) replaces both limits:
//! the sender retransmits on the same schedule and gives up exactly when a
//! segment has gone unacknowledged that long.

use std::time::Duration;

use crate::envelope::{Protocol, Segment};

/// `TCP_RTO_MIN`: the first retransmission timeout of data.
pub(crate) const DATA_RTO_INITIAL: Duration = Duration::from_millis(200);
/// `tcp_retries2`: retransmissions of data before the sender gives up.
pub(crate) const DATA_RETRIES: u32 = 15;
/// `TCP_TIMEOUT_INIT`: the first retransmission timeout of a SYN.
pub(crate) const SYN_RTO_INITIAL: Duration = Duration::from_secs(1);
/// `tcp_syn_retries`: retransmissions of a SYN before the connect fails.
pub(crate) const SYN_RETRIES: u32 = 6;
/// `TCP_RTO_MAX`: the timeout stops doubling here.
pub(crate) const RTO_MAX: Duration = Duration::from_secs(120);

/// What a sender does with a message the network did not deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resend {
    /// A SYN: retransmitted until the connect fails.
    Syn,
    /// Data or FIN: retransmitted until the connection is aborted.
    Data,
    /// An RST (never retransmitted, RFC 9293 3.10.7) or a UDP datagram.
    Never,
}

impl Resend {
    pub(crate) fn of(message: &Protocol) -> Resend {
        match message {
            Protocol::Tcp(Segment::Syn(_)) => Resend::Syn,
            Protocol::Tcp(Segment::Data(..) | Segment::Fin(_)) => Resend::Data,
            Protocol::Tcp(Segment::Rst) | Protocol::Udp(_) => Resend::Never,
        }
    }
}

/// When one segment's sender retransmits it and when it gives up, counted
/// from the segment's first transmission.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schedule {
    first_rto: Duration,
    give_up: Duration,
}

impl Schedule {
    /// The schedule of a segment of kind `resend` (`None` for one that is
    /// never retransmitted), with an optional user timeout.
    pub(crate) fn of(resend: Resend, user_timeout: Option<Duration>) -> Option<Schedule> {
        let (first_rto, retries) = match resend {
            Resend::Syn => (SYN_RTO_INITIAL, SYN_RETRIES),
            Resend::Data => (DATA_RTO_INITIAL, DATA_RETRIES),
            Resend::Never => return None,
        };
        // Giving up is the timeout after the last retransmission expiring.
        let give_up = user_timeout.unwrap_or_else(|| offset(first_rto, retries + 1));
        Some(Schedule { first_rto, give_up })
    }

    /// How long after the first transmission the sender gives up.
    pub(crate) fn give_up(&self) -> Duration {
        self.give_up
    }

    /// The first retransmission at or after `elapsed` since the first
    /// transmission, as a time since the first transmission; `None` if the
    /// sender gives up before sending one.
    pub(crate) fn next_at_or_after(&self, elapsed: Duration) -> Option<Duration> {
        (1..)
            .map(|k| offset(self.first_rto, k))
            .take_while(|at| *at < self.give_up)
            .find(|at| *at >= elapsed)
    }
}

/// The time of retransmission `k` (1-based) after the first transmission:
/// the sum of the first `k` timeouts, each double the one before, capped.
fn offset(first_rto: Duration, k: u32) -> Duration {
    (0..k)
        .map(|i| first_rto.saturating_mul(1u32 << i.min(31)).min(RTO_MAX))
        .fold(Duration::ZERO, Duration::saturating_add)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn data_gives_up_after_linux_tcp_retries2() {
        let s = Schedule::of(Resend::Data, None).unwrap();
        assert_eq!(s.give_up(), Duration::from_millis(924_600));
        assert_eq!(offset(DATA_RTO_INITIAL, 10), Duration::from_millis(204_600));
        assert_eq!(offset(DATA_RTO_INITIAL, 15), Duration::from_millis(804_600));
    }

    #[test]
    fn syn_gives_up_after_linux_tcp_syn_retries() {
        let s = Schedule::of(Resend::Syn, None).unwrap();
        assert_eq!(s.give_up(), Duration::from_secs(127));
        let at: Vec<_> = (1..=6).map(|k| offset(SYN_RTO_INITIAL, k)).collect();
        assert_eq!(at, [1, 3, 7, 15, 31, 63].map(Duration::from_secs));
    }

    #[test]
    fn the_next_retransmission_follows_the_doubling_timeout() {
        let s = Schedule::of(Resend::Data, None).unwrap();
        assert_eq!(s.next_at_or_after(Duration::ZERO), Some(ms(200)));
        assert_eq!(s.next_at_or_after(ms(600)), Some(ms(600)));
        assert_eq!(s.next_at_or_after(ms(2000)), Some(ms(3000)));
        assert_eq!(s.next_at_or_after(ms(804700)), None);
        let syn = Schedule::of(Resend::Syn, None).unwrap();
        assert_eq!(syn.next_at_or_after(ms(1500)), Some(ms(3000)));
        assert_eq!(syn.next_at_or_after(ms(64000)), None);
    }

    #[test]
    fn a_user_timeout_replaces_the_retry_limit() {
        let s = Schedule::of(Resend::Data, Some(ms(10000))).unwrap();
        assert_eq!(s.give_up(), ms(10000));
        assert_eq!(s.next_at_or_after(ms(6300)), None);
        assert_eq!(s.next_at_or_after(ms(6000)), Some(ms(6200)));
        assert!(Schedule::of(Resend::Never, None).is_none());
    }
}
