//! The queue against the tokio channel it replaces: the same random
//! operations on both, every result and every wake compared.

use super::*;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::Wake;
use tokio::sync::mpsc;

/// A waker that counts its wakes.
#[derive(Default)]
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Two wakers per side, so that a receiver polled by another waker than
/// the one registered is exercised too.
struct Wakers {
    counters: [Arc<Counter>; 2],
    wakers: [Waker; 2],
}

impl Wakers {
    fn new() -> Self {
        let counters = [Arc::new(Counter::default()), Arc::new(Counter::default())];
        let wakers = [
            Waker::from(counters[0].clone()),
            Waker::from(counters[1].clone()),
        ];
        Self { counters, wakers }
    }

    fn wakes(&self) -> [usize; 2] {
        [0, 1].map(|i| self.counters[i].0.load(Ordering::SeqCst))
    }
}

/// xorshift64: the operations are the same on every run.
struct Draws(u64);

impl Draws {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One run of `ops` random operations on both queues, from `seed`.
fn same_as_tokio(seed: u64, capacity: usize, ops: usize) {
    let mut draws = Draws(seed);
    let (tokio_tx, tokio_rx) = mpsc::channel::<u64>(capacity);
    let (queue_tx, queue_rx) = channel::<u64>(capacity);
    let mut receivers = Receivers {
        tokio: Some(tokio_rx),
        queue: Some(queue_rx),
        tokio_wakers: Wakers::new(),
        queue_wakers: Wakers::new(),
    };
    let mut log = Log {
        seed,
        capacity,
        lines: Vec::new(),
    };
    let mut next_value = 0;
    let mut step = 0;
    {
        // Permits held across operations, as many as the capacity allows.
        let mut held = Vec::new();
        while step < ops {
            step += 1;
            match draws.below(9) {
                0..=2 => {
                    let (a, b) = (tokio_tx.try_reserve(), queue_tx.try_reserve());
                    let what = format!("send {next_value}");
                    log.compare(&receivers, what, kind(&a), kind(&b));
                    if let (Ok(a), Ok(b)) = (a, b) {
                        a.send(next_value);
                        b.send(next_value);
                    }
                    next_value += 1;
                }
                3 => {
                    let (a, b) = (tokio_tx.try_reserve(), queue_tx.try_reserve());
                    log.compare(&receivers, "reserve".into(), kind(&a), kind(&b));
                    if let (Ok(a), Ok(b)) = (a, b) {
                        held.push((a, b));
                    }
                }
                4 => {
                    let Some((a, b)) = held.pop() else { continue };
                    if draws.below(2) == 0 {
                        drop((a, b));
                        log.compare(&receivers, "drop a permit".into(), "", "");
                    } else {
                        a.send(next_value);
                        b.send(next_value);
                        let what = format!("send {next_value} with a permit");
                        log.compare(&receivers, what, "", "");
                        next_value += 1;
                    }
                }
                5 if draws.below(8) == 0 => break,
                _ => receivers.receive(&mut draws, &mut log),
            }
        }
    }
    drop((tokio_tx, queue_tx));
    log.compare(&receivers, "drop the sender".into(), "", "");
    while step < ops {
        step += 1;
        receivers.receive(&mut draws, &mut log);
    }
}

fn kind<E>(result: &Result<E, TrySendError<()>>) -> &'static str {
    match result {
        Ok(_) => "Ok",
        Err(TrySendError::Full(())) => "Full",
        Err(TrySendError::Closed(())) => "Closed",
    }
}

/// The operations so far, printed when the two differ.
struct Log {
    seed: u64,
    capacity: usize,
    lines: Vec<String>,
}

impl Log {
    /// The results of one operation on both, and every wake so far.
    fn compare(&mut self, receivers: &Receivers, what: String, tokio: &str, queue: &str) {
        self.lines.push(format!("{what}: {tokio}"));
        assert_eq!(
            (tokio, receivers.tokio_wakers.wakes()),
            (queue, receivers.queue_wakers.wakes()),
            "seed {}, capacity {}: the queue differs from tokio's channel after {what}; \
             operations so far:\n{}",
            self.seed,
            self.capacity,
            self.lines.join("\n")
        );
    }
}

/// Both receiving ends, and the wakers each is polled with.
struct Receivers {
    tokio: Option<mpsc::Receiver<u64>>,
    queue: Option<Receiver<u64>>,
    tokio_wakers: Wakers,
    queue_wakers: Wakers,
}

impl Receivers {
    /// A receive of some kind, or the receiver's drop, on both.
    fn receive(&mut self, draws: &mut Draws, log: &mut Log) {
        let (Some(a), Some(b)) = (self.tokio.as_mut(), self.queue.as_mut()) else {
            return;
        };
        match draws.below(12) {
            0 => {
                (self.tokio, self.queue) = (None, None);
                log.compare(self, "drop the receiver".into(), "", "");
            }
            1..=3 => {
                let (x, y) = (a.try_recv(), b.try_recv());
                log.compare(
                    self,
                    "try_recv".into(),
                    &format!("{x:?}"),
                    &format!("{y:?}"),
                );
            }
            _ => {
                let i = draws.below(2) as usize;
                let x = a.poll_recv(&mut Context::from_waker(&self.tokio_wakers.wakers[i]));
                let y = b.poll_recv(&mut Context::from_waker(&self.queue_wakers.wakers[i]));
                let what = format!("poll_recv by waker {i}");
                log.compare(self, what, &format!("{x:?}"), &format!("{y:?}"));
            }
        }
    }
}

#[test]
fn behaves_as_tokio_s_channel() {
    for seed in 1..=400u64 {
        let capacity = 1 + (seed % 5) as usize;
        same_as_tokio(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), capacity, 300);
    }
}

/// How many values one poll of a task receives before its budget runs
/// out, after `empty_polls` polls of the empty receiver and with
/// `queued` values (none if `closed`: then every receive is the close).
fn received_in_one_poll<R>(
    mut make: impl FnMut(usize) -> R,
    empty_polls: usize,
    queued: u64,
) -> usize
where
    R: Queue,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let mut queue = make(queued as usize + 1);
        let waker = Waker::from(Arc::new(Counter::default()));
        let mut cx = Context::from_waker(&waker);
        for _ in 0..empty_polls {
            assert!(queue.poll(&mut cx).is_pending());
        }
        for value in 0..queued {
            queue.send(value);
        }
        if queued == 0 {
            queue.close();
        }
        let mut received = 0;
        while queue.poll(&mut cx).is_ready() {
            received += 1;
            assert!(received < 1000, "no budget taken");
        }
        received
    })
}

/// Both queues behind one interface, for the budget test.
trait Queue {
    fn send(&mut self, value: u64);
    fn close(&mut self);
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<u64>>;
}

impl Queue for (Option<mpsc::Sender<u64>>, mpsc::Receiver<u64>) {
    fn send(&mut self, value: u64) {
        self.0.as_ref().unwrap().try_send(value).unwrap();
    }
    fn close(&mut self) {
        self.0 = None;
    }
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<u64>> {
        self.1.poll_recv(cx)
    }
}

impl Queue for (Option<Sender<u64>>, Receiver<u64>) {
    fn send(&mut self, value: u64) {
        self.0
            .as_ref()
            .unwrap()
            .try_reserve()
            .ok()
            .unwrap()
            .send(value);
    }
    fn close(&mut self) {
        self.0 = None;
    }
    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<Option<u64>> {
        self.1.poll_recv(cx)
    }
}

#[test]
fn takes_the_task_s_budget_as_tokio_s_channel() {
    let tokio = |capacity| {
        let (tx, rx) = mpsc::channel(capacity);
        (Some(tx), rx)
    };
    let queue = |capacity| {
        let (tx, rx) = channel(capacity);
        (Some(tx), rx)
    };
    for (empty_polls, queued) in [(0, 300), (40, 300), (0, 0), (40, 0), (0, 5)] {
        let expected = received_in_one_poll(tokio, empty_polls, queued);
        let got = received_in_one_poll(queue, empty_polls, queued);
        assert_eq!(
            got, expected,
            "values received in one poll after {empty_polls} empty polls, {queued} queued"
        );
        if queued != 5 {
            assert!(expected < 300, "tokio's budget should bound a poll");
        }
    }
}

#[test]
fn an_idle_queue_holds_no_buffer() {
    let (tx, mut rx) = channel::<u64>(4);
    for value in 0..3 {
        tx.try_reserve().ok().unwrap().send(value);
    }
    assert!(tx.shared.state().queue.capacity() >= 3);
    while rx.try_recv().is_ok() {}
    assert_eq!(tx.shared.state().queue.capacity(), 0);
}

#[test]
fn both_ends_can_move_between_threads() {
    fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Sender<crate::host::SequencedSegment>>();
    send_and_sync::<Receiver<crate::host::SequencedSegment>>();
}

#[test]
#[should_panic(expected = "mpsc bounded channel requires buffer > 0")]
fn refuses_a_capacity_of_zero() {
    let _ = channel::<u64>(0);
}
