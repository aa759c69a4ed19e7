//! The database pool the agents' tool calls draw from: a bounded semaphore
//! with an acquire timeout (`[agents] db_pool`, `db_acquire_timeout`).

use std::rc::Rc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

pub struct DbPool {
    permits: std::sync::Arc<Semaphore>,
    acquire_timeout: Duration,
    size: usize,
}

/// A connection borrowed from the pool; returned on drop.
pub struct DbConn {
    _permit: OwnedSemaphorePermit,
}

impl DbPool {
    pub fn new(size: u32, acquire_timeout: Duration) -> Rc<Self> {
        Rc::new(Self {
            permits: std::sync::Arc::new(Semaphore::new(size as usize)),
            acquire_timeout,
            size: size as usize,
        })
    }

    /// Wait up to the acquire timeout for a connection; `None` when the pool
    /// stayed exhausted that long (the caller reports `overloaded`).
    pub async fn acquire(&self) -> Option<DbConn> {
        let wait = self.permits.clone().acquire_owned();
        match tokio::time::timeout(self.acquire_timeout, wait).await {
            Ok(Ok(permit)) => Some(DbConn { _permit: permit }),
            _ => None,
        }
    }

    /// The defective acquire (`[bugs] pool_exhaustion_error`): takes a
    /// connection only if one is free right now, and fails otherwise.
    pub fn try_acquire_now(&self) -> Option<DbConn> {
        self.permits
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| DbConn { _permit: permit })
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
