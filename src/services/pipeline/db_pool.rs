//! The database pool the agents' tool calls draw from: a bounded semaphore
//! with an acquire timeout (`[agents] db_pool`, `db_acquire_timeout`).
//!
//! Every connection taken and given back is a typed trace event
//! (`PoolAcquired`, `PoolReleased`), recorded by the pool itself: the
//! release when the [`DbConn`] drops, so a run cancelled mid-tool (its
//! connection closed) records its release at the moment of cancellation.
//! The oracle rebuilds the pool's occupancy from these alone, to judge
//! that an `overloaded` answer came from a really saturated pool and that
//! no connection leaks (docs/design.md, "The oracle").

use std::rc::Rc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::trace::{Kind, PipelineEvent, Recorder, RunId};

pub struct DbPool {
    permits: std::sync::Arc<Semaphore>,
    acquire_timeout: Duration,
    size: usize,
    recorder: Recorder,
    host: Rc<str>,
}

/// A connection borrowed from the pool by one run; returned (and the
/// return recorded) on drop.
pub struct DbConn {
    _permit: OwnedSemaphorePermit,
    recorder: Recorder,
    host: Rc<str>,
    user: Rc<str>,
    run: RunId,
}

impl Drop for DbConn {
    fn drop(&mut self) {
        // Recorded before the permit (a field) goes back to the semaphore.
        let released = PipelineEvent::PoolReleased { run: self.run };
        self.recorder
            .record(&self.host, Some(&self.user), Kind::Pipeline(released));
    }
}

impl DbPool {
    pub fn new(
        size: u32,
        acquire_timeout: Duration,
        recorder: Recorder,
        host: Rc<str>,
    ) -> Rc<Self> {
        Rc::new(Self {
            permits: std::sync::Arc::new(Semaphore::new(size as usize)),
            acquire_timeout,
            size: size as usize,
            recorder,
            host,
        })
    }

    /// Wait up to the acquire timeout for a connection for `run` of
    /// `user`; `None` when the pool stayed exhausted that long (the caller
    /// reports `overloaded`).
    pub async fn acquire(&self, run: RunId, user: &Rc<str>) -> Option<DbConn> {
        let wait = self.permits.clone().acquire_owned();
        match tokio::time::timeout(self.acquire_timeout, wait).await {
            Ok(Ok(permit)) => Some(self.lend(permit, run, user)),
            _ => None,
        }
    }

    /// The defective acquire (`[bugs] pool_exhaustion_error`): takes a
    /// connection only if one is free right now, and fails otherwise.
    pub fn try_acquire_now(&self, run: RunId, user: &Rc<str>) -> Option<DbConn> {
        let permit = self.permits.clone().try_acquire_owned().ok()?;
        Some(self.lend(permit, run, user))
    }

    fn lend(&self, permit: OwnedSemaphorePermit, run: RunId, user: &Rc<str>) -> DbConn {
        let acquired = PipelineEvent::PoolAcquired { run };
        self.recorder
            .record(&self.host, Some(user), Kind::Pipeline(acquired));
        DbConn {
            _permit: permit,
            recorder: self.recorder.clone(),
            host: self.host.clone(),
            user: user.clone(),
            run,
        }
    }

    /// Whether every connection is taken, so an acquire must wait.
    pub fn exhausted(&self) -> bool {
        self.permits.available_permits() == 0
    }

    /// Connections in use right now (for trace notes).
    pub fn in_use(&self) -> usize {
        self.size - self.permits.available_permits()
    }
}
