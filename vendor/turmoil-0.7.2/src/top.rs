use crate::envelope::{Envelope, Protocol};
use crate::host::Host;
use crate::rt::Rt;
use crate::{config, TRACING_TARGET};

use crate::fx_map::{IndexMap, NewMap as _};
use rand::{Rng, RngCore};
use rand_distr::{Distribution, Exp};
use std::collections::{BTreeMap, VecDeque};
use std::io::{Error, ErrorKind, Result};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use tokio::time::Instant;

mod next_due;
mod stall;

use next_due::NextDue;

/// Describes the network topology.
pub(crate) struct Topology {
    config: config::Link,

    /// Specific configuration overrides between specific hosts.
    links: IndexMap<Pair, Link>,

    /// We don't use a Rt for async. Right now, we just use it to tick time
    /// forward in the same way we do it elsewhere. We'd like to represent
    /// network state with async in the future.
    rt: Rt<'static>,

    /// The network's time. Tick by tick it is read from `rt`; fast-forwarding
    /// ([`Topology::advance_by`]) moves it by arithmetic instead, so an idle
    /// network costs no runtime tick.
    now: Instant,
}

/// This type is used as the key in the [`Topology::links`] map. See [`new`]
/// which orders the addrs, such that this type uniquely identifies the link
/// between two hosts on the network.
#[derive(Debug, Clone, Hash, Eq, PartialEq)]
struct Pair(IpAddr, IpAddr);

impl Pair {
    fn new(a: IpAddr, b: IpAddr) -> Pair {
        assert_ne!(a, b);

        if a < b {
            Pair(a, b)
        } else {
            Pair(b, a)
        }
    }
}

/// An iterator for the network topology, providing access to all active links
/// in the simulated network.
pub struct LinksIter<'a> {
    iter: indexmap::map::IterMut<'a, Pair, Link>,
}

/// An iterator for the link, providing access to sent messages that have not
/// yet been delivered.
pub struct LinkIter<'a> {
    a: IpAddr,
    b: IpAddr,
    now: Instant,
    iter: std::collections::vec_deque::IterMut<'a, Sent>,
}

impl LinkIter<'_> {
    /// The [`IpAddr`] pair for the link. Always ordered to uniquely identify
    /// the link.
    pub fn pair(&self) -> (IpAddr, IpAddr) {
        (self.a, self.b)
    }

    /// Schedule all messages on the link for delivery the next time the
    /// simulation steps, consuming the iterator.
    pub fn deliver_all(self) {
        for sent in self {
            sent.deliver();
        }
    }
}

/// Provides a reference to a message that is currently inflight on the network
/// from one host to another.
pub struct SentRef<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    now: Instant,
    sent: &'a mut Sent,
}

impl SentRef<'_> {
    /// The (src, dst) [`SocketAddr`] pair for the message.
    pub fn pair(&self) -> (SocketAddr, SocketAddr) {
        (self.src, self.dst)
    }

    /// The message [`Protocol`].
    pub fn protocol(&self) -> &Protocol {
        &self.sent.protocol
    }

    /// Schedule the message for delivery the next time the simulation steps,
    /// consuming the item.
    pub fn deliver(self) {
        self.sent.deliver(self.now);
    }
}

impl<'a> Iterator for LinksIter<'a> {
    type Item = LinkIter<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let (pair, link) = self.iter.next()?;

        Some(LinkIter {
            a: pair.0,
            b: pair.1,
            now: link.now,
            iter: link.sent.iter_mut(),
        })
    }
}

impl<'a> Iterator for LinkIter<'a> {
    type Item = SentRef<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        let sent = self.iter.next()?;

        Some(SentRef {
            src: sent.src,
            dst: sent.dst,
            now: self.now,
            sent,
        })
    }
}

/// A two-way link between two hosts on the network.
struct Link {
    /// The state of the link from node 'a' to node 'b'.
    /// Of the two nodes attached to a link, 'a' is the
    /// one whose ip address sorts smallest.
    state_a_b: State,
    /// The state of the link from node 'b' to node 'a'.
    /// Of the two nodes attached to a link, 'b' is the
    /// one whose ip address sorts greatest.
    state_b_a: State,

    /// Optional, per-link configuration.
    config: config::Link,

    /// Sent messages that are either scheduled for delivery in the future
    /// or are on hold.
    sent: VecDeque<Sent>,

    /// Messages that are ready to be delivered.
    deliverable: IndexMap<IpAddr, VecDeque<Envelope>>,

    /// How many messages `deliverable` holds, for either end: every host
    /// that runs asks every link for its messages, each step, and a link
    /// with none is passed over without looking at its queues.
    queued: usize,

    /// No segment kept by a TCP-faithful partition gives up before this
    /// (it may be earlier than any does; `None`: none is kept). Links are
    /// processed every step, and the give-up scan runs only once it is due.
    next_give_up: Option<Instant>,

    /// No message in `sent` is due before this (see [`NextDue`]).
    next_due: NextDue,

    /// The current network time, moved forward with [`Link::tick`].
    now: Instant,

    /// Connections (source, destination) whose segments, kept by a
    /// TCP-faithful partition, are scheduled for their retransmission after
    /// the repair, with the time the last of them arrives: a segment the
    /// connection sends later is not delivered before it, as TCP queues new
    /// data behind a retransmission.
    retransmitting: BTreeMap<(SocketAddr, SocketAddr), Instant>,
}

/// States that a link between two nodes can be in.
#[derive(Clone, Copy)]
enum State {
    /// The link is healthy.
    Healthy,

    /// The link was explicitly partitioned.
    ExplicitPartition,

    /// The link was randomly partitioned.
    RandPartition,

    /// Messages are being held indefinitely.
    Hold,

    /// A TCP-faithful partition: nothing gets through, but TCP segments are
    /// kept, to arrive when the sender would have retransmitted them after
    /// the repair (see `top/stall.rs`).
    TcpPartition,
}

impl Topology {
    pub(crate) fn new(config: config::Link) -> Topology {
        let rt = Rt::no_software();
        let now = rt.now();
        Topology {
            config,
            links: IndexMap::new(),
            rt,
            now,
        }
    }

    /// Register a link between two hosts
    pub(crate) fn register(&mut self, a: IpAddr, b: IpAddr) {
        let pair = Pair::new(a, b);
        assert!(self.links.insert(pair, Link::new(self.now)).is_none());
    }

    pub(crate) fn set_max_message_latency(&mut self, value: Duration) {
        self.config.latency_mut().max_message_latency = value;
    }

    pub(crate) fn set_link_message_latency(&mut self, a: IpAddr, b: IpAddr, value: Duration) {
        let pair = Pair::new(a, b);
        let latency = self
            .links
            .get_mut(&pair)
            .unwrap_or_else(|| panic!("unable to find link between {pair:?}"))
            .latency(self.config.latency());
        latency.min_message_latency = value;
        latency.max_message_latency = value;
    }

    pub(crate) fn set_link_max_message_latency(&mut self, a: IpAddr, b: IpAddr, value: Duration) {
        let pair = Pair::new(a, b);
        self.links
            .get_mut(&pair)
            .unwrap_or_else(|| panic!("unable to find link between {pair:?}"))
            .latency(self.config.latency())
            .max_message_latency = value;
    }

    pub(crate) fn set_message_latency_curve(&mut self, value: f64) {
        self.config.latency_mut().latency_distribution = Exp::new(value).unwrap();
    }

    pub(crate) fn set_fail_rate(&mut self, value: f64) {
        self.config.message_loss_mut().fail_rate = value;
    }

    pub(crate) fn set_link_fail_rate(&mut self, a: IpAddr, b: IpAddr, value: f64) {
        let pair = Pair::new(a, b);
        self.links
            .get_mut(&pair)
            .unwrap_or_else(|| panic!("unable to find link between {pair:?}"))
            .message_loss(self.config.message_loss())
            .fail_rate = value;
    }

    // Send a `message` from `src` to `dst`. This method returns immediately,
    // and message delivery happens at a later time (or never, if the link is
    // broken).
    pub(crate) fn enqueue_message(
        &mut self,
        rand: &mut dyn RngCore,
        src: SocketAddr,
        dst: SocketAddr,
        message: Protocol,
    ) -> Result<()> {
        if let Some(link) = self.links.get_mut(&Pair::new(src.ip(), dst.ip())) {
            link.enqueue_message(&self.config, rand, src, dst, message)
        } else {
            Err(Error::new(
                ErrorKind::ConnectionRefused,
                "Connection refused",
            ))
        }
    }

    // Move messages from any network links to the `dst` host.
    pub(crate) fn deliver_messages(&mut self, rand: &mut dyn RngCore, dst: &mut Host) {
        for (pair, link) in &mut self.links {
            if link.queued > 0
                && (pair.0 == dst.addr || pair.1 == dst.addr)
                && link.has_deliverable(dst.addr)
            {
                link.deliver_messages(&self.config, rand, dst);
            }
        }
    }

    pub(crate) fn hold(&mut self, a: IpAddr, b: IpAddr) {
        self.get_link_mut(&Pair::new(a, b)).hold();
    }

    pub(crate) fn release(&mut self, a: IpAddr, b: IpAddr) {
        self.get_link_mut(&Pair::new(a, b)).release();
    }

    pub(crate) fn partition(&mut self, a: IpAddr, b: IpAddr) {
        self.get_link_mut(&Pair::new(a, b)).explicit_partition();
    }

    pub(crate) fn partition_oneway(&mut self, a: IpAddr, b: IpAddr) {
        let link = &mut self.get_link_mut(&Pair::new(a, b));
        link.partition_oneway(a, b);
    }

    /// Partition `a` and `b` as TCP would see it (see `top/stall.rs`).
    pub(crate) fn partition_tcp(&mut self, a: IpAddr, b: IpAddr) {
        self.links
            .get_mut(&Pair::new(a, b))
            .unwrap_or_else(|| panic!("unable to find link between {a} and {b}"))
            .stall(&self.config);
    }

    /// Ends a partition. Segments kept by a TCP-faithful one are scheduled
    /// for their senders' next retransmission, with a latency drawn from
    /// `rand`.
    pub(crate) fn repair(&mut self, rand: &mut dyn RngCore, a: IpAddr, b: IpAddr) {
        let link = self
            .links
            .get_mut(&Pair::new(a, b))
            .unwrap_or_else(|| panic!("unable to find link between {a} and {b}"));
        link.unstall(&self.config, rand);
        link.explicit_repair();
    }

    pub(crate) fn repair_oneway(&mut self, a: IpAddr, b: IpAddr) {
        let link = &mut self.get_link_mut(&Pair::new(a, b));
        link.repair_oneway(a, b);
    }

    pub(crate) fn tick_by(&mut self, duration: Duration) {
        let _ = self.rt.tick(duration);
        self.now = self.rt.now();
        for link in self.links.values_mut() {
            link.tick(self.now);
        }
    }

    /// Moves the network's time on by `duration` without ticking its
    /// runtime, then makes due messages deliverable, as [`Topology::tick_by`]
    /// does. Used when fast-forwarding.
    pub(crate) fn advance_by(&mut self, duration: Duration) {
        self.now += duration;
        for link in self.links.values_mut() {
            link.tick(self.now);
        }
    }

    /// How long until the earliest message in flight becomes deliverable
    /// (zero if one already is), or a sender gives up on a segment kept by
    /// a TCP-faithful partition; `None` if nothing is in flight. Held
    /// messages wait for a release, not for time.
    pub(crate) fn next_delivery_in(&self) -> Option<Duration> {
        let mut next: Option<Duration> = None;
        for link in self.links.values() {
            if link.queued > 0 {
                return Some(Duration::ZERO);
            }
            for sent in &link.sent {
                let at = match sent.status {
                    DeliveryStatus::DeliverAfter(at) => at,
                    DeliveryStatus::Stalled { give_up } => give_up,
                    DeliveryStatus::Hold => continue,
                };
                let due = at.saturating_duration_since(self.now);
                next = Some(next.map_or(due, |n| n.min(due)));
            }
        }
        next
    }

    pub(crate) fn iter_mut(&mut self) -> LinksIter<'_> {
        // Whoever iterates may `deliver` any message now.
        for link in self.links.values_mut() {
            link.next_due = NextDue::Unknown;
        }
        LinksIter {
            iter: self.links.iter_mut(),
        }
    }

    #[inline]
    fn get_link_mut(&mut self, pair: &Pair) -> &mut Link {
        self.links
            .get_mut(pair)
            .unwrap_or_else(|| panic!("unable to find link between {pair:?}"))
    }
}

/// Represents a message sent between two hosts on the network.
struct Sent {
    src: SocketAddr,
    dst: SocketAddr,
    status: DeliveryStatus,
    protocol: Protocol,
    /// When the message was first sent: a kept TCP segment's
    /// retransmissions are counted from it.
    sent_at: Instant,
}

impl Sent {
    fn deliver(&mut self, now: Instant) {
        self.status = DeliveryStatus::DeliverAfter(now);
    }
}

enum DeliveryStatus {
    DeliverAfter(Instant),
    Hold,
    /// Kept by a TCP-faithful partition; at `give_up` its sender gives up
    /// and the connection is reset, unless a repair came first.
    Stalled {
        give_up: Instant,
    },
}

impl Link {
    fn new(now: Instant) -> Link {
        Link {
            state_a_b: State::Healthy,
            state_b_a: State::Healthy,
            config: config::Link::default(),
            sent: VecDeque::new(),
            deliverable: IndexMap::new(),
            queued: 0,
            next_give_up: None,
            next_due: NextDue::Never,
            now,
            retransmitting: BTreeMap::new(),
        }
    }

    fn enqueue_message(
        &mut self,
        global_config: &config::Link,
        rand: &mut dyn RngCore,
        src: SocketAddr,
        dst: SocketAddr,
        message: Protocol,
    ) -> Result<()> {
        tracing::trace!(target: TRACING_TARGET, ?src, ?dst, protocol = %message, "Send");

        self.rand_partition_or_repair(global_config, rand);
        let result = self.enqueue(global_config, rand, src, dst, message);
        self.process_deliverables();
        result
    }

    fn get_state_for_message(&self, src: IpAddr, dst: IpAddr) -> State {
        // Between each pair of ip-addresses there can exist a link.
        // A link between two such pairs can be constructed as
        // Pair::new(x,y) or Pair::new(y,x). These two expressions create
        // the exact same link. We denote one of the ends of the link as 'a',
        // and the other 'b'. 'a' is always the one that compares smaller, i.e,
        // `a < b` holds.
        if src < dst {
            self.state_a_b
        } else {
            self.state_b_a
        }
    }

    // src -> link -> dst
    //        ^-- you are here!
    //
    // Messages may be dropped, sit on the link for a while (due to latency, or
    // because the link has stalled), or be delivered immediately.
    // Link will return an Err(()) if the socket buffer is full.
    fn enqueue(
        &mut self,
        global_config: &config::Link,
        rand: &mut dyn RngCore,
        src: SocketAddr,
        dst: SocketAddr,
        message: Protocol,
    ) -> Result<()> {
        let state = self.get_state_for_message(src.ip(), dst.ip());
        let status = match state {
            State::Healthy => {
                let delay = self.delay(global_config.latency(), rand);
                let at = self.behind_retransmission(src, dst, &message, self.now + delay);
                DeliveryStatus::DeliverAfter(at)
            }
            State::TcpPartition => match self.stalled_status(global_config, &message) {
                Some(status) => {
                    self.note_stalled(&status);
                    status
                }
                None => {
                    tracing::trace!(target: TRACING_TARGET,?src, ?dst, protocol = %message, "Drop");
                    return Ok(());
                }
            },
            // Only A->B is blocked, so B can send, so we can send if src is B
            State::Hold => {
                tracing::trace!(target: TRACING_TARGET,?src, ?dst, protocol = %message, "Hold");
                DeliveryStatus::Hold
            }
            _ => {
                tracing::trace!(target: TRACING_TARGET,?src, ?dst, protocol = %message, "Drop");
                return Ok(());
            }
        };

        let sent = Sent {
            src,
            dst,
            status,
            protocol: message,
            sent_at: self.now,
        };

        if let DeliveryStatus::DeliverAfter(at) = sent.status {
            self.next_due = self.next_due.with(at);
        }
        self.sent.push_back(sent);
        Ok(())
    }

    fn tick(&mut self, now: Instant) {
        self.now = now;
        if !self.sent.is_empty() {
            self.process_deliverables();
        }
    }

    fn has_deliverable(&self, dst: IpAddr) -> bool {
        // At most two queues (one per end): a scan is cheaper than hashing.
        self.queued > 0
            && self
                .deliverable
                .iter()
                .any(|(addr, queue)| *addr == dst && !queue.is_empty())
    }

    /// Queues `envelope` for delivery to its destination host.
    fn push_deliverable(&mut self, envelope: Envelope) {
        self.deliverable
            .entry(envelope.dst.ip())
            .or_default()
            .push_back(envelope);
        self.queued += 1;
    }

    fn process_deliverables(&mut self) {
        self.give_up_due();
        let now = self.now;
        if self.next_due.nothing_due_at(now) {
            return;
        }
        let mut next_due = NextDue::Never;
        let mut first = None;
        for (i, sent) in self.sent.iter().enumerate() {
            match sent.status {
                DeliveryStatus::DeliverAfter(at) if at <= now => {
                    first = Some(i);
                    break;
                }
                DeliveryStatus::DeliverAfter(at) => next_due = next_due.with(at),
                _ => {}
            }
        }
        if let Some(first) = first {
            next_due = self.deliver_due_from(first, next_due);
        }
        self.next_due = next_due;
    }

    /// Makes every message due at `now` deliverable, in the order sent,
    /// looking from `first`, the first one due; returns the bound on the
    /// rest. A due message leaves the front, any other goes to the back, so
    /// the messages kept stay in their order and the deque never reallocates
    /// (removing each due message from the middle shifted the rest: 29% of a
    /// 30,000-user run). Rotating first puts the messages before `first` at
    /// the back, where the kept ones then follow them.
    fn deliver_due_from(&mut self, first: usize, mut next_due: NextDue) -> NextDue {
        let now = self.now;
        let from_first = self.sent.len() - first;
        self.sent.rotate_left(first);
        for _ in 0..from_first {
            let sent = self.sent.pop_front().expect("counted above");
            match sent.status {
                DeliveryStatus::DeliverAfter(at) if at <= now => {
                    self.push_deliverable(Envelope {
                        src: sent.src,
                        dst: sent.dst,
                        message: sent.protocol,
                    });
                    continue;
                }
                DeliveryStatus::DeliverAfter(at) => next_due = next_due.with(at),
                _ => {}
            }
            self.sent.push_back(sent);
        }
        next_due
    }

    // FIXME: This implementation does not respect message delivery order. If
    // host A and host B are ordered (by addr), and B sends before A, then this
    // method will deliver A's message before B's.
    fn deliver_messages(
        &mut self,
        global_config: &config::Link,
        rand: &mut dyn RngCore,
        host: &mut Host,
    ) {
        let deliverable = self
            .deliverable
            .entry(host.addr)
            .or_default()
            .drain(..)
            .collect::<Vec<Envelope>>();
        self.queued -= deliverable.len();

        for message in deliverable {
            let (src, dst) = (message.src, message.dst);
            if let Err(message) = host.receive_from_network(message) {
                let _ = self.enqueue_message(global_config, rand, dst, src, message);
            }
        }
    }

    // Randomly break or repair this link.
    fn rand_partition_or_repair(&mut self, global_config: &config::Link, rand: &mut dyn RngCore) {
        let do_rand = self.rand_partition(global_config.message_loss(), rand);
        match (self.state_a_b, self.state_b_a) {
            (State::Healthy, _) | (_, State::Healthy) if do_rand => {
                self.state_a_b = State::RandPartition;
                self.state_b_a = State::RandPartition;

                self.sent.clear();
            }
            (State::RandPartition, _) | (_, State::RandPartition)
                if self.rand_repair(global_config.message_loss(), rand) =>
            {
                self.release();
            }
            _ => {}
        }
    }

    fn hold(&mut self) {
        self.state_a_b = State::Hold;
        self.state_b_a = State::Hold;

        for sent in &mut self.sent {
            sent.status = DeliveryStatus::Hold;
        }
    }

    // This link becomes healthy, and any held messages are scheduled for delivery.
    fn release(&mut self) {
        self.state_a_b = State::Healthy;
        self.state_b_a = State::Healthy;
        for sent in &mut self.sent {
            if let DeliveryStatus::Hold = sent.status {
                sent.deliver(self.now);
            }
        }
        self.next_due = NextDue::Unknown;
    }

    fn explicit_partition(&mut self) {
        self.state_a_b = State::ExplicitPartition;
        self.state_b_a = State::ExplicitPartition;

        self.sent.clear();
    }

    fn partition_oneway(&mut self, from: IpAddr, to: IpAddr) {
        if from < to {
            self.state_a_b = State::ExplicitPartition;
        } else {
            self.state_b_a = State::ExplicitPartition;
        }

        self.sent.retain(|sent| sent.src.ip() != from);
    }

    fn repair_oneway(&mut self, from: IpAddr, to: IpAddr) {
        if from < to {
            self.state_a_b = State::Healthy;
        } else {
            self.state_b_a = State::Healthy;
        }
    }

    // Repair the link, without releasing any held messages.
    fn explicit_repair(&mut self) {
        self.state_a_b = State::Healthy;
        self.state_b_a = State::Healthy;
    }

    /// Should the link be randomly partitioned
    fn rand_partition(&self, global: &config::MessageLoss, rand: &mut dyn RngCore) -> bool {
        let config = self.config.message_loss.as_ref().unwrap_or(global);
        let fail_rate = config.fail_rate;
        fail_rate > 0.0 && rand.random_bool(fail_rate)
    }

    fn rand_repair(&self, global: &config::MessageLoss, rand: &mut dyn RngCore) -> bool {
        let config = self.config.message_loss.as_ref().unwrap_or(global);
        let repair_rate = config.repair_rate;
        repair_rate > 0.0 && rand.random_bool(repair_rate)
    }

    fn delay(&self, global: &config::Latency, rand: &mut dyn RngCore) -> Duration {
        let config = self.config.latency.as_ref().unwrap_or(global);

        let mult = config.latency_distribution.sample(rand);
        let range = (config.max_message_latency - config.min_message_latency).as_millis() as f64;
        let delay = config.min_message_latency + Duration::from_millis((range * mult) as _);

        std::cmp::min(delay, config.max_message_latency)
    }

    fn latency(&mut self, global: &config::Latency) -> &mut config::Latency {
        self.config.latency.get_or_insert_with(|| global.clone())
    }

    fn message_loss(&mut self, global: &config::MessageLoss) -> &mut config::MessageLoss {
        self.config
            .message_loss
            .get_or_insert_with(|| global.clone())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Link;

    use super::*;

    #[test]
    #[should_panic(expected = "unable to find link between Pair(10.0.0.1, 192.168.0.1)")]
    fn link_access_gives_useful_panic_message() {
        let mut topo = Topology::new(Link::default());
        topo.hold("10.0.0.1".parse().unwrap(), "192.168.0.1".parse().unwrap());
    }
}
