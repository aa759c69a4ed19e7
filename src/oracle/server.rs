//! The servers' own account of capacity, indexed once per run: each gateway
//! boot's connection limit and database pool size, the pool's occupancy
//! over time (rebuilt from the pool's take and return events, never from
//! what the pipeline claims), and every pool timeout.
//!
//! Read by the `capacity` invariant and by the evidence check of refusals
//! (an `overloaded` answer is legitimate only if the pool really was full
//! while the run waited). Like the per-user index, it only reads the trace.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::trace::{GatewayEvent, Kind, PipelineEvent, RunId, Trace};

/// One boot of the gateway, as its own events describe it.
#[derive(Debug, Default)]
pub struct BootView {
    pub max_connections: Option<u32>,
    pub db_pool: Option<u32>,
    /// The pool's occupancy after each take or return, in trace order.
    pub pool: Vec<(Duration, u32)>,
}

impl BootView {
    /// Whether every pool connection was taken at some moment from `from`
    /// to `to` (inclusive): the occupancy entering the window, or any
    /// change inside it, reached the pool's size.
    pub fn pool_full_during(&self, from: Duration, to: Duration) -> bool {
        let Some(size) = self.db_pool else {
            return false;
        };
        let entering = self
            .pool
            .iter()
            .take_while(|(at, _)| *at <= from)
            .last()
            .map_or(0, |(_, n)| *n);
        entering >= size
            || self
                .pool
                .iter()
                .any(|(at, n)| *at > from && *at <= to && *n >= size)
    }
}

/// A run that gave up waiting for a database connection.
#[derive(Debug, Clone, Copy)]
pub struct PoolTimeout {
    pub at: Duration,
    pub waited: Duration,
    pub run: RunId,
}

/// What the servers recorded about capacity.
#[derive(Debug, Default)]
pub struct Servers {
    pub boots: BTreeMap<u32, BootView>,
    /// Pool timeouts by run id as the wire carries it (`g1.2.r3`).
    pub pool_timeouts: BTreeMap<String, PoolTimeout>,
    /// Whether the trace has any gateway event at all: under `--target`
    /// the server is someone else's, and its side is not visible.
    pub visible: bool,
}

impl Servers {
    pub fn of(trace: &Trace) -> Self {
        let mut servers = Servers::default();
        // Pipeline events name no boot; they belong to the latest one.
        let mut boot = 0;
        let mut in_use: BTreeMap<u32, u32> = BTreeMap::new();
        for e in &trace.events {
            match &e.kind {
                Kind::Gateway(g) => {
                    servers.visible = true;
                    if let GatewayEvent::Boot {
                        boot: b,
                        max_connections,
                        ..
                    } = g
                    {
                        boot = *b;
                        servers.boots.entry(*b).or_default().max_connections =
                            Some(*max_connections);
                    }
                }
                Kind::Pipeline(p) => servers.pipeline(e.at, boot, p, &mut in_use),
                _ => {}
            }
        }
        servers
    }

    fn pipeline(
        &mut self,
        at: Duration,
        boot: u32,
        event: &PipelineEvent,
        in_use: &mut BTreeMap<u32, u32>,
    ) {
        match event {
            PipelineEvent::Initialising { db_pool, .. } => {
                self.boots.entry(boot).or_default().db_pool = Some(*db_pool);
            }
            PipelineEvent::PoolAcquired { run } | PipelineEvent::PoolReleased { run } => {
                let n = in_use.entry(run.conn.boot).or_default();
                *n = match event {
                    PipelineEvent::PoolAcquired { .. } => *n + 1,
                    _ => n.saturating_sub(1),
                };
                let level = *n;
                let view = self.boots.entry(run.conn.boot).or_default();
                view.pool.push((at, level));
            }
            PipelineEvent::PoolTimeout { run, waited, .. } => {
                let timeout = PoolTimeout {
                    at,
                    waited: *waited,
                    run: *run,
                };
                self.pool_timeouts.insert(run.to_string(), timeout);
            }
            PipelineEvent::Ready | PipelineEvent::OutputLost { .. } => {}
        }
    }
}
