//! TCP-faithful partitions: what a link cut by
//! [`Sim::partition_tcp`](crate::Sim::partition_tcp) does with the TCP
//! segments sent into it, at the repair, and when a sender gives up.
//!
//! `Sim::partition_tcp -> Link::stall`; segments sent while the link is down
//! are kept `Stalled` (`Link::stalled_status`); `Sim::repair ->
//! Link::unstall` schedules them for their senders' first retransmission at
//! or after the repair (`crate::retransmit`); `Link::give_up_due`, run
//! whenever the link processes its messages, resets the connections whose
//! sender gave up first. The model, per connection and direction (source
//! and destination socket):
//!
//! - Its retransmission timer runs for its oldest unacknowledged segment
//!   (RFC 6298, 5.1). When that one gets through, the segments sent after
//!   it follow at once, in order (Linux resends the queue after a timeout;
//!   the slow-start round trips that spread it out are left out). Until they
//!   have arrived, a segment the connection sends later waits behind them.
//! - A segment in flight when the partition starts is lost on the wire and
//!   retransmitted like the others, counted from its first transmission.
//! - When the oldest segment's sender gives up before a retransmission got
//!   through, the connection is reset: its segments are dropped in both
//!   directions and both ends receive an RST, so both see a reset rather
//!   than a stall. (Real TCP aborts the sender with ETIMEDOUT, and the peer
//!   learns from the RST answering its next segment; telling both at once
//!   is the simplification.) A SYN given up is dropped, which turmoil's
//!   connect reports as refused (Linux: ETIMEDOUT).
//! - A SYN whose connect was abandoned (the caller's timeout dropped it) is
//!   not retransmitted after the repair: its socket is closed.
//! - An RST or a UDP datagram is lost, as in a plain partition: neither is
//!   retransmitted.

use super::{DeliveryStatus, Link, State};
use crate::config;
use crate::envelope::{Envelope, Protocol, Segment};
use crate::retransmit::{Resend, Schedule};

use rand::RngCore;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use tokio::time::Instant;

/// One direction of one connection: (source, destination).
type Flow = (SocketAddr, SocketAddr);

impl Link {
    /// Cuts the link, keeping what is in flight to be retransmitted.
    pub(super) fn stall(&mut self, global: &config::Link) {
        self.state_a_b = State::TcpPartition;
        self.state_b_a = State::TcpPartition;
        self.retransmitting.clear();
        let now = self.now;
        self.sent.retain_mut(|sent| {
            let DeliveryStatus::DeliverAfter(at) = sent.status else {
                return true;
            };
            if at <= now {
                return true; // arrived before the cut
            }
            match Schedule::of(Resend::of(&sent.protocol), global.tcp_user_timeout) {
                Some(s) => {
                    sent.status = DeliveryStatus::Stalled {
                        give_up: sent.sent_at + s.give_up(),
                    };
                    true
                }
                None => false,
            }
        });
        self.next_give_up = self.earliest_give_up();
    }

    /// When the first kept segment's sender gives up (`None`: none kept).
    fn earliest_give_up(&self) -> Option<Instant> {
        self.sent
            .iter()
            .filter_map(|sent| match sent.status {
                DeliveryStatus::Stalled { give_up } => Some(give_up),
                _ => None,
            })
            .min()
    }

    /// Keeps [`Link::give_up_due`]'s lower bound below a segment just kept.
    pub(super) fn note_stalled(&mut self, status: &DeliveryStatus) {
        if let DeliveryStatus::Stalled { give_up } = *status {
            self.next_give_up = Some(self.next_give_up.map_or(give_up, |t| t.min(give_up)));
        }
    }

    /// How a message sent into a TCP-faithful partition now is kept;
    /// `None` if it is lost.
    pub(super) fn stalled_status(
        &self,
        global: &config::Link,
        message: &Protocol,
    ) -> Option<DeliveryStatus> {
        let s = Schedule::of(Resend::of(message), global.tcp_user_timeout)?;
        Some(DeliveryStatus::Stalled {
            give_up: self.now + s.give_up(),
        })
    }

    /// At the repair of a TCP-faithful partition: each connection's kept
    /// segments are due when its oldest is retransmitted (plus a latency).
    /// A connection whose sender will give up before retransmitting again
    /// stays kept, and is reset when it does.
    pub(super) fn unstall(&mut self, global: &config::Link, rand: &mut dyn RngCore) {
        let stalled = |s: State| matches!(s, State::TcpPartition);
        if !stalled(self.state_a_b) && !stalled(self.state_b_a) {
            return;
        }
        self.sent.retain(|sent| {
            !matches!(sent.status, DeliveryStatus::Stalled { .. })
                || !is_abandoned_syn(&sent.protocol)
        });
        let mut due: BTreeMap<Flow, Option<Instant>> = BTreeMap::new();
        for i in 0..self.sent.len() {
            let sent = &self.sent[i];
            if !matches!(sent.status, DeliveryStatus::Stalled { .. }) {
                continue;
            }
            let flow = (sent.src, sent.dst);
            let at = match due.get(&flow) {
                Some(at) => *at,
                None => {
                    let at = self.retransmitted_at(global, rand, i);
                    due.insert(flow, at);
                    at
                }
            };
            if let Some(at) = at {
                self.sent[i].status = DeliveryStatus::DeliverAfter(at);
                self.next_due = self.next_due.with(at);
            }
        }
        for (flow, at) in due {
            if let Some(at) = at {
                self.retransmitting.insert(flow, at);
            }
        }
    }

    /// When the retransmission of the kept segment `sent[i]` that follows
    /// the repair (now) arrives; `None` if its sender gives up first.
    fn retransmitted_at(
        &self,
        global: &config::Link,
        rand: &mut dyn RngCore,
        i: usize,
    ) -> Option<Instant> {
        let sent = &self.sent[i];
        let schedule = Schedule::of(Resend::of(&sent.protocol), global.tcp_user_timeout)?;
        let since = self.now.saturating_duration_since(sent.sent_at);
        let next = schedule.next_at_or_after(since)?;
        Some(sent.sent_at + next + self.delay(global.latency(), rand))
    }

    /// When a segment of `src -> dst` sent now, due at `at`, arrives: not
    /// before the connection's retransmitted segments.
    pub(super) fn behind_retransmission(
        &mut self,
        src: SocketAddr,
        dst: SocketAddr,
        message: &Protocol,
        at: Instant,
    ) -> Instant {
        if self.retransmitting.is_empty() || Resend::of(message) != Resend::Data {
            return at;
        }
        match self.retransmitting.get(&(src, dst)) {
            Some(&until) if until > self.now => at.max(until),
            Some(_) => {
                self.retransmitting.remove(&(src, dst));
                at
            }
            None => at,
        }
    }

    /// Resets every connection whose sender gave up on a kept segment by now.
    pub(super) fn give_up_due(&mut self) {
        let now = self.now;
        if self.next_give_up.is_none_or(|at| at > now) {
            return; // nothing kept gives up yet: no need to look
        }
        let mut flows: Vec<(Flow, Resend)> = Vec::new();
        for sent in &self.sent {
            if let DeliveryStatus::Stalled { give_up } = sent.status {
                let flow = (sent.src, sent.dst);
                if give_up <= now && !flows.iter().any(|(f, _)| *f == flow) {
                    flows.push((flow, Resend::of(&sent.protocol)));
                }
            }
        }
        for ((src, dst), resend) in flows {
            self.reset(src, dst, resend);
        }
        self.next_give_up = self.earliest_give_up();
    }

    /// Drops what is kept or in flight on the connection `src -> dst`, in
    /// both directions, and tells both ends of an established one with an
    /// RST.
    fn reset(&mut self, src: SocketAddr, dst: SocketAddr, resend: Resend) {
        tracing::trace!(target: crate::TRACING_TARGET, ?src, ?dst, "Retransmission timeout");
        let either =
            |a: SocketAddr, b: SocketAddr| (a == src && b == dst) || (a == dst && b == src);
        self.sent.retain(|sent| !either(sent.src, sent.dst));
        self.retransmitting.remove(&(src, dst));
        self.retransmitting.remove(&(dst, src));
        if resend != Resend::Data {
            return; // a SYN: dropping it fails the connect
        }
        for (from, to) in [(dst, src), (src, dst)] {
            self.push_deliverable(Envelope {
                src: from,
                dst: to,
                message: Protocol::Tcp(Segment::Rst),
            });
        }
    }
}

/// A SYN whose connect has been dropped by its caller.
fn is_abandoned_syn(message: &Protocol) -> bool {
    matches!(message, Protocol::Tcp(Segment::Syn(syn)) if syn.ack.is_closed())
}
