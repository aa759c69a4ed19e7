use std::cell::Cell;
use std::future::Future;
use std::mem;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use rand::rngs::SmallRng;
use rand::SeedableRng;
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio::task::LocalSet;
use tokio::time::{sleep, Duration, Instant};

use super::Result;
use crate::task_order::TaskOrder;

// To support re-creation, we need to store a factory of the future that
// represents the software. This is somewhat annoying in that it requires
// boxxing to avoid generics.
type Software<'a> = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Result>>> + 'a>;

/// Runtime kinds.
pub enum Kind<'a> {
    /// A runtime for executing test code.
    Client,

    /// A runtime that is running simulated host software.
    Host { software: Software<'a> },

    /// A runtime without any software. The network topology uses this for
    /// time tracking and message delivery.
    NoSoftware,
}

/// Runtime configuration.
#[derive(Clone, Default)]
pub struct Config {
    /// Whether io is enabled on the runtime.
    pub enable_io: bool,

    /// Rng used to seed the tokio runtime.
    ///
    /// Only used if the `tokio_unstable` cfg flag is set.
    #[cfg_attr(not(tokio_unstable), expect(dead_code))]
    pub rng: Option<SmallRng>,

    /// Which ready task the host polls next.
    pub task_order: TaskOrderConfig,
}

/// A host's [`TaskOrder`], with the RNG that seeds the choices of each of
/// its incarnations (its own, apart from the one seeding tokio).
#[derive(Clone, Default)]
pub struct TaskOrderConfig {
    order: TaskOrder,
    rng: Option<SmallRng>,
}

impl TaskOrderConfig {
    pub(crate) fn new(order: TaskOrder, nodename: &str) -> Self {
        let rng = order.host_seed(nodename).map(SmallRng::seed_from_u64);
        TaskOrderConfig { order, rng }
    }

    /// Makes `local` poll its tasks in this order (nothing for
    /// [`TaskOrder::Fifo`]).
    fn install(&mut self, local: &LocalSet) {
        let Some(rng) = &mut self.rng else { return };
        let Some(choose) = self.order.chooser(rng) else { return };
        #[cfg(tokio_unstable)]
        local.set_task_order(choose);
        #[cfg(not(tokio_unstable))]
        {
            let _ = (local, choose);
            panic!("turmoil: Builder::task_order other than Fifo needs tokio built with --cfg tokio_unstable");
        }
    }
}

/// Per host simulated runtime.
///
/// The tokio runtime is paused (see [`Builder::start_paused`]), which gives us
/// control over when and how to advance time. In particular, see [`Rt::tick`],
/// which lets the runtime do a bit more work.
pub struct Rt<'a> {
    pub kind: Kind<'a>,

    /// Handle to the Tokio runtime driving this simulated host. Each runtime
    /// may have a different sense of "now" which simulates clock skew.
    tokio: Runtime,

    /// Local task set used for running !Send tasks.
    local: LocalSet,

    /// A user readable name to identify the node.
    pub nodename: Arc<str>,

    /// Optional handle to a host's software. When software finishes, the handle is
    /// consumed to check for error, which is propagated up to fail the simulation.
    handle: Option<JoinHandle<Result>>,

    /// Runtime configuration.
    config: Config,

    /// Raised when a task of this host is scheduled from outside a poll of
    /// its `LocalSet` (a timer, a network delivery, another host), and when
    /// a tick ends with tasks still queued: the host has work to do. Only
    /// maintained by [`Rt::tick_fast`].
    ready: Arc<AtomicBool>,

    /// Simulated time this host has not been run for (fast-forwarding only);
    /// its clock catches up when it next runs.
    pub(crate) behind: Duration,

    /// The flag-raising waker of the last tick and the waker it wraps, reused
    /// while `block_on` hands out the same one.
    flag_waker: Option<(Waker, Waker)>,

    /// How long after the end of its last tick this host's next timer is due
    /// (`Some(None)`: no timer), or `None` when that is not known. Timers are
    /// registered only by polls of the host's own tasks, so this holds until
    /// the host runs again or its runtime is replaced.
    timer_after_tick: Option<Option<Duration>>,
}

impl<'a> Rt<'a> {
    pub(crate) fn client<F>(nodename: Arc<str>, client: F, mut config: Config) -> Self
    where
        F: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let handle = with(&tokio, &local, || tokio::task::spawn_local(client));

        Self {
            kind: Kind::Client,
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
            ready: Arc::new(AtomicBool::new(true)),
            behind: Duration::ZERO,
            flag_waker: None,
            timer_after_tick: None,
        }
    }

    pub(crate) fn host<F, Fut>(nodename: Arc<str>, software: F, mut config: Config) -> Self
    where
        F: Fn() -> Fut + 'a,
        Fut: Future<Output = Result> + 'static,
    {
        let (tokio, local) = init(&mut config);

        let software: Software = Box::new(move || Box::pin(software()));
        let handle = with(&tokio, &local, || tokio::task::spawn_local(software()));

        Self {
            kind: Kind::Host { software },
            tokio,
            local,
            nodename,
            handle: Some(handle),
            config,
            ready: Arc::new(AtomicBool::new(true)),
            behind: Duration::ZERO,
            flag_waker: None,
            timer_after_tick: None,
        }
    }

    pub(crate) fn no_software() -> Self {
        let mut config = Config::default();
        let (tokio, local) = init(&mut config);

        Self {
            kind: Kind::NoSoftware,
            tokio,
            local,
            nodename: String::new().into(),
            handle: None,
            config,
            ready: Arc::new(AtomicBool::new(true)),
            behind: Duration::ZERO,
            flag_waker: None,
            timer_after_tick: None,
        }
    }

    pub(crate) fn is_client(&self) -> bool {
        matches!(self.kind, Kind::Client)
    }

    fn is_host(&self) -> bool {
        matches!(self.kind, Kind::Host { .. })
    }

    pub(crate) fn is_software_running(&self) -> bool {
        self.handle.is_some()
    }

    pub(crate) fn now(&self) -> Instant {
        let _guard = self.tokio.enter();
        Instant::now()
    }

    // This method is called by [`Sim::run`], which iterates through all the
    // runtimes and ticks each one. The magic of this method is described in the
    // documentation for [`LocalSet::run_until`], but it may not be entirely
    // obvious how things fit together.
    //
    // A [`LocalSet`] tracks the tasks to run, which may in turn spawn more
    // tasks. `run_until` drives a top level task to completion, but not its
    // children. If you look below, you may be confused. The task we run here
    // just sleeps and has no children! However, it's the _same `LocalSet`_ that
    // is used to run software on the host.
    //
    // In this way, every time `tick` is called, the following unfolds:
    //
    // 1. Time advances on the runtime
    // 2. We schedule a new task that simply sleeps
    // 3. Other tasks on the `LocalSet` get a chance to run
    // 4. The sleep finishes
    // 5. The runtime pauses
    //
    // Returns whether the software has finished successfully or the error
    // that caused failure. Subsequent calls do not return the error as it is
    // expected to fail the simulation.
    pub(crate) fn tick(&mut self, duration: Duration) -> Result<bool> {
        self.tokio.block_on(async {
            self.local
                .run_until(async {
                    sleep(duration).await;
                })
                .await
        });

        self.software_result()
    }

    /// Like [`Rt::tick`], for a simulation that fast-forwards: first moves
    /// the clock on by `behind` (time the host was not run for, in which it
    /// had nothing due), so that tasks run at the simulation's time, then
    /// runs the host for `duration`, keeping track of whether it is left
    /// with work to do ([`Rt::is_ready`]).
    pub(crate) fn tick_fast(&mut self, duration: Duration, behind: Duration) -> Result<bool> {
        let ready = self.ready.clone();
        let local = &self.local;
        let cache = &mut self.flag_waker;
        self.tokio.block_on(async {
            if !behind.is_zero() {
                tokio::time::advance(behind).await;
            }
            let outer = Rc::new(Cell::new(None));
            let sleep = Unflagged {
                outer: outer.clone(),
                sleep: Box::pin(sleep(duration)),
            };
            let run = std::pin::pin!(local.run_until(sleep));
            Flagged {
                ready,
                outer,
                cache,
                run,
            }
            .await
        });
        self.timer_after_tick = Some(self.read_next_timer());

        self.software_result()
    }

    /// Whether this host has something to do within the next `tick`: a task
    /// scheduled, or a timer due by the end of the tick (counting the time
    /// it is behind).
    pub(crate) fn is_ready(&self, tick: Duration) -> bool {
        self.has_work() || self.next_timer_in().is_some_and(|t| t <= tick)
    }

    /// Whether a task of this host is scheduled to run.
    pub(crate) fn has_work(&self) -> bool {
        self.ready.load(Ordering::SeqCst) || self.tokio.metrics().global_queue_depth() > 0
    }

    /// How long until this host's next timer is due, in simulated time (the
    /// host's clock is `behind` the simulation's).
    pub(crate) fn next_timer_in(&self) -> Option<Duration> {
        let after_tick = match self.timer_after_tick {
            Some(known) => known,
            None => self.read_next_timer(),
        };
        after_tick.map(|t| t.saturating_sub(self.behind))
    }

    /// How long until the next timer is due by the host's own clock.
    fn read_next_timer(&self) -> Option<Duration> {
        let deadline = self.tokio.handle().next_timer_deadline()?;
        Some(deadline.saturating_duration_since(self.now()))
    }

    /// Marks the host as having work: new software was spawned outside a
    /// tick.
    fn mark_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    fn software_result(&mut self) -> Result<bool> {
        // pull for software completion
        match &self.handle {
            Some(handle) if handle.is_finished() => {
                // Consume handle to extract task result
                if let Some(h) = self.handle.take() {
                    match self.tokio.block_on(h) {
                        // If the host was crashed the JoinError is cancelled, which
                        // needs to be handled to not fail the simulation.
                        Err(je) if je.is_cancelled() => {}
                        res => res??,
                    }
                };
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Ok(true),
        }
    }

    pub(crate) fn crash(&mut self) {
        if !self.is_host() {
            panic!("can only crash host's software");
        }

        if self.handle.take().is_some() {
            self.cancel_tasks();
        };
    }

    pub(crate) fn bounce(&mut self) {
        if !self.is_host() {
            panic!("can only bounce host's software");
        }

        self.cancel_tasks();

        if let Kind::Host { software } = &self.kind {
            let handle = with(&self.tokio, &self.local, || {
                tokio::task::spawn_local(software())
            });
            self.handle.replace(handle);
            self.mark_ready();
        };
    }

    /// Cancel all tasks within the [`Rt`] by dropping the current tokio
    /// [`Runtime`].
    ///
    /// Dropping the runtime blocks the calling thread until all futures have
    /// completed, which is desired here to ensure host software completes and
    /// all resources are dropped.
    ///
    /// Both the [`Runtime`] and [`LocalSet`] are replaced with new instances.
    fn cancel_tasks(&mut self) {
        let (tokio, local) = init(&mut self.config);

        _ = mem::replace(&mut self.tokio, tokio);
        drop(mem::replace(&mut self.local, local));
        self.flag_waker = None;
        self.timer_after_tick = None;
    }
}

fn init(config: &mut Config) -> (Runtime, LocalSet) {
    let mut tokio_builder = tokio::runtime::Builder::new_current_thread();

    #[cfg(tokio_unstable)]
    tokio_builder.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    if config.enable_io {
        tokio_builder.enable_io();
    }

    #[cfg(tokio_unstable)]
    if let Some(rng) = &mut config.rng {
        let bytes: [u8; 32] = rand::Rng::random(rng);
        let seed = tokio::runtime::RngSeed::from_bytes(&bytes);
        tokio_builder.rng_seed(seed);
    }

    let tokio = tokio_builder
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();

    tokio.block_on(async {
        // Sleep to "round" `Instant::now()` to the closest `ms`
        tokio::time::sleep(Duration::from_millis(1)).await;
    });

    let local = new_local();
    config.task_order.install(&local);
    (tokio, local)
}

fn new_local() -> LocalSet {
    #[cfg(not(tokio_unstable))]
    let local = LocalSet::new();

    #[cfg(tokio_unstable)]
    let mut local = LocalSet::new();

    #[cfg(tokio_unstable)]
    local.unhandled_panic(tokio::runtime::UnhandledPanic::ShutdownRuntime);

    local
}

fn with<R>(tokio: &Runtime, local: &LocalSet, f: impl FnOnce() -> R) -> R {
    tokio.block_on(async { local.run_until(async { f() }).await })
}

/// Polls a host's `LocalSet` (through `run_until`) with a waker that raises
/// the host's ready flag, so that the `LocalSet` registers it and raises it
/// whenever a task is scheduled from outside a poll. The flag is cleared at
/// each poll that runs the `LocalSet` (that poll runs whatever was
/// scheduled), and kept when the tick ends without running it.
struct Flagged<'c, F> {
    ready: Arc<AtomicBool>,
    /// The block_on waker, for the tick's own sleep (see [`Unflagged`]).
    outer: Rc<Cell<Option<Waker>>>,
    cache: &'c mut Option<(Waker, Waker)>,
    run: F,
}

impl<F: Future + Unpin> Future for Flagged<'_, F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.outer.set(Some(cx.waker().clone()));
        let flag = match &*self.cache {
            Some((inner, flag)) if inner.will_wake(cx.waker()) => flag.clone(),
            _ => {
                let flag = Waker::from(Arc::new(RaiseFlag {
                    ready: self.ready.clone(),
                    inner: cx.waker().clone(),
                }));
                *self.cache = Some((cx.waker().clone(), flag.clone()));
                flag
            }
        };
        let before = self.ready.swap(false, Ordering::SeqCst);
        let poll = Pin::new(&mut self.run).poll(&mut Context::from_waker(&flag));
        if poll.is_ready() && before {
            // The tick ended before the LocalSet ran what was scheduled.
            self.ready.store(true, Ordering::SeqCst);
        }
        poll
    }
}

/// The tick's sleep, polled with the block_on waker rather than the flag
/// waker: the end of a tick is not work for the host.
struct Unflagged<S> {
    outer: Rc<Cell<Option<Waker>>>,
    sleep: S,
}

impl<S: Future + Unpin> Future for Unflagged<S> {
    type Output = S::Output;

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<S::Output> {
        let waker = self.outer.take().expect("polled through Flagged");
        let poll = Pin::new(&mut self.sleep).poll(&mut Context::from_waker(&waker));
        self.outer.set(Some(waker));
        poll
    }
}

struct RaiseFlag {
    ready: Arc<AtomicBool>,
    inner: Waker,
}

impl Wake for RaiseFlag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::SeqCst);
        self.inner.wake_by_ref();
    }
}
