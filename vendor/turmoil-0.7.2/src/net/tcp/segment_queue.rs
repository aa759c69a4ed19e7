//! A TCP socket's receive queue: the segments the host has put in order
//! (`host.rs`, `StreamSocket::buffer`, the sending end) and the application
//! has not read yet (`ReadHalf` in `stream.rs`, the receiving end).
//!
//! It stands in for the `tokio::sync::mpsc::channel(capacity)` turmoil used
//! there, behaving the same way: the same capacity and `try_reserve`
//! results (`Closed` once the receiver is gone, before `Full`), first in
//! first out, the waiting receiver woken by each send and by the sender's
//! drop (one wake per registration, as tokio's `AtomicWaker` gives), queued
//! segments read before the close, and one unit of the task's cooperative
//! budget per successful receive, taken before the queue is looked at. It
//! differs only in memory: tokio's bounded channel allocates a block of 32
//! slots and its cache-padded shared state when it is created, about
//! 1.5 KiB a socket, while this queue is a small shared struct whose buffer
//! is allocated when a segment is queued and freed when the queue empties
//! (a socket holds a segment or two at a time, mostly none).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{ready, Context, Poll, Waker};

use tokio::sync::mpsc::error::{TryRecvError, TrySendError};

/// A queue of at most `capacity` values, as `mpsc::channel(capacity)`.
///
/// # Panics
///
/// As tokio's: when `capacity` is zero, or more than a semaphore can count.
pub(crate) fn channel<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(capacity > 0, "mpsc bounded channel requires buffer > 0");
    assert!(
        capacity <= MAX_PERMITS,
        "a semaphore may not have more than MAX_PERMITS permits ({MAX_PERMITS})"
    );
    let shared = Arc::new(Shared {
        capacity,
        state: Mutex::new(State {
            queue: VecDeque::new(),
            reserved: 0,
            waker: None,
            sender_dropped: false,
            receiver_dropped: false,
        }),
    });
    let sender = Sender {
        shared: shared.clone(),
    };
    (sender, Receiver { shared })
}

/// tokio's `batch_semaphore::Semaphore::MAX_PERMITS`, the largest capacity
/// its channel accepts.
const MAX_PERMITS: usize = usize::MAX >> 3;

/// What both ends share. A `Mutex` rather than a `RefCell` so that both
/// ends stay `Send` and `Sync`, as the channel's were: a stream's halves
/// move into tokio tasks.
struct Shared<T> {
    /// Values queued or reserved never exceed it.
    capacity: usize,
    state: Mutex<State<T>>,
}

struct State<T> {
    /// Sent and not yet received, oldest first. Empty means unallocated.
    queue: VecDeque<T>,
    /// Permits handed out by `try_reserve` and not yet used or dropped: a
    /// slot each, as a permit holds one of the channel's semaphore.
    reserved: usize,
    /// The receiver waiting for a value, taken by the wake that ends the
    /// wait.
    waker: Option<Waker>,
    /// Closes the queue for the receiver once it has read every value.
    sender_dropped: bool,
    /// Closes the queue for the sender at once.
    receiver_dropped: bool,
}

impl<T> Shared<T> {
    /// The state. No critical section can leave it half changed (each is a
    /// push, a pop or a flag, and values and wakers are dropped and woken
    /// outside it), so a panic elsewhere while it was held loses nothing.
    fn state(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The sending end; dropping it closes the queue.
pub(crate) struct Sender<T> {
    shared: Arc<Shared<T>>,
}

/// A slot reserved by [`Sender::try_reserve`]; given back when dropped
/// unused.
pub(crate) struct Permit<'a, T> {
    sender: &'a Sender<T>,
}

/// The receiving end; dropping it closes the queue and drops what it holds.
pub(crate) struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// A slot for one value, or `Closed` if the receiver is gone (whether
    /// or not the queue is full), or `Full` if `capacity` values are queued
    /// or reserved.
    pub(crate) fn try_reserve(&self) -> Result<Permit<'_, T>, TrySendError<()>> {
        let mut state = self.shared.state();
        if state.receiver_dropped {
            return Err(TrySendError::Closed(()));
        }
        if state.queue.len() + state.reserved >= self.shared.capacity {
            return Err(TrySendError::Full(()));
        }
        state.reserved += 1;
        Ok(Permit { sender: self })
    }
}

impl<T> Permit<'_, T> {
    /// Queues `value` in the reserved slot and wakes the receiver if it
    /// waits.
    pub(crate) fn send(self, value: T) {
        let waker = {
            let mut state = self.sender.shared.state();
            state.reserved -= 1;
            state.queue.push_back(value);
            state.waker.take()
        };
        // The slot is used: dropping the permit must not give it back.
        std::mem::forget(self);
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Drop for Permit<'_, T> {
    fn drop(&mut self) {
        self.sender.shared.state().reserved -= 1;
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let waker = {
            let mut state = self.shared.state();
            state.sender_dropped = true;
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

impl<T> Receiver<T> {
    /// The oldest value, or `None` once the sender is gone and every value
    /// has been read, or `Pending` (woken by the next send or the close).
    ///
    /// Like tokio's channel, it first takes a unit of the task's budget
    /// (`Pending`, and the task rescheduled, when none is left, even with
    /// values queued) and keeps it only when it returns `Ready`: a task
    /// reading a long burst yields as it did.
    pub(crate) fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let coop = ready!(tokio::task::coop::poll_proceed(cx));
        let mut state = self.shared.state();
        if let Some(value) = state.pop() {
            coop.made_progress();
            return Poll::Ready(Some(value));
        }
        if state.sender_dropped {
            coop.made_progress();
            return Poll::Ready(None);
        }
        match &mut state.waker {
            Some(waiting) if waiting.will_wake(cx.waker()) => {}
            waiting => *waiting = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// The oldest value if there is one, without waiting or budget.
    pub(crate) fn try_recv(&mut self) -> Result<T, TryRecvError> {
        let mut state = self.shared.state();
        match state.pop() {
            Some(value) => Ok(value),
            None if state.sender_dropped => Err(TryRecvError::Disconnected),
            None => Err(TryRecvError::Empty),
        }
    }
}

impl<T> State<T> {
    /// The oldest value; the buffer is freed when it was the last one, so
    /// an idle socket holds no buffer.
    fn pop(&mut self) -> Option<T> {
        let value = self.queue.pop_front()?;
        if self.queue.is_empty() {
            self.queue = VecDeque::new();
        }
        Some(value)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        let (queued, waker) = {
            let mut state = self.shared.state();
            state.receiver_dropped = true;
            (std::mem::take(&mut state.queue), state.waker.take())
        };
        // Dropped outside the lock, as tokio drops its receiver's waker
        // unwoken and then the values.
        drop(waker);
        drop(queued);
    }
}

#[cfg(test)]
mod tests;
