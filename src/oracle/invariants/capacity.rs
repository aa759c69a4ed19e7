//! `capacity`: the backend keeps within its own limits. A gateway boot
//! never holds more admitted connections open than its `max_connections`;
//! the database pool never lends more connections than it has; and every
//! connection a run takes goes back, at the latest when the run's
//! WebSocket connection closes (the run is cancelled then).
//!
//! Judged from the servers' typed events alone: the limit and the pool
//! size from the boot's own events, admissions and closes from the
//! gateway, takes and returns from the pool ([`Servers`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::rc::Rc;
use std::time::Duration;

use crate::oracle::Violation;
use crate::oracle::server::Servers;
use crate::scenario::Cause;
use crate::trace::{
    ConnEvent, ConnId, ConnState, Event, GatewayEvent, Kind, PipelineEvent, RunId, Trace,
};

/// How long after a connection's close its cancelled runs may take to
/// record their pool returns. In a simulation it is the same instant; live,
/// on the wall clock, microseconds later. A leak never returns, so the
/// grace costs no detection.
const CANCEL_GRACE: Duration = Duration::from_secs(1);

/// Every admission within the limit, every pool within its size, and no
/// pool connection held past its run's connection.
pub fn capacity(trace: &Trace, servers: &Servers, out: &mut Vec<Violation>) {
    let mut open = OpenConns::default();
    let mut leaks = Leaks::default();
    for e in &trace.events {
        leaks.check_closed_before(e.at, out);
        match &e.kind {
            Kind::Gateway(GatewayEvent::Conn { conn, event }) => {
                open.event(e, *conn, event, servers, out);
                leaks.conn_event(e, *conn, event);
            }
            Kind::Pipeline(p) => leaks.pipeline(p),
            _ => {}
        }
    }
    leaks.check_closed_before(Duration::MAX, out);
    pool_over_capacity(servers, out);
}

fn capacity_violation(
    cause: Cause,
    e_at: Duration,
    user: Option<&Rc<str>>,
    detail: String,
) -> Violation {
    Violation {
        invariant: cause.invariant(),
        cause,
        user: user.map(|u| u.to_string()),
        host: "gateway".into(),
        at: e_at,
        conn: None,
        detail,
        component: None,
        reason: None,
        count: 1,
    }
}

/// Admitted connections open on each boot.
#[derive(Default)]
struct OpenConns {
    admitted: BTreeSet<ConnId>,
    ended: BTreeSet<ConnId>,
    /// How many of `admitted` are on each boot: counted as they come and
    /// go, since counting the set per admission is quadratic in users.
    open_on_boot: BTreeMap<u32, usize>,
}

impl OpenConns {
    fn event(
        &mut self,
        e: &Event,
        id: ConnId,
        event: &ConnEvent,
        servers: &Servers,
        out: &mut Vec<Violation>,
    ) {
        match event {
            ConnEvent::State(
                ConnState::Authenticated | ConnState::ServicesReady | ConnState::ProcessingReady,
            )
            | ConnEvent::Routed { .. } => {
                if self.ended.contains(&id) || !self.admitted.insert(id) {
                    return;
                }
                let open = self.open_on_boot.entry(id.boot).or_default();
                *open += 1;
                let open = *open;
                let Some(max) = servers.boots.get(&id.boot).and_then(|b| b.max_connections) else {
                    return;
                };
                if open > max as usize {
                    let detail = format!(
                        "{id} admitted with {open} admitted connections open on boot {} (max_connections {max})",
                        id.boot
                    );
                    out.push(capacity_violation(
                        Cause::OverConnectionLimit,
                        e.at,
                        e.user.as_ref(),
                        detail,
                    ));
                }
            }
            // The first sign of the end: the gateway's own count drops
            // later, so counting from here never blames it unfairly.
            ConnEvent::Close { .. }
            | ConnEvent::Transport(_)
            | ConnEvent::State(ConnState::Closed) => {
                if self.admitted.remove(&id) {
                    *self.open_on_boot.entry(id.boot).or_default() -= 1;
                }
                self.ended.insert(id);
            }
            _ => {}
        }
    }
}

/// Pool connections held per run, and connections whose runs must have
/// returned theirs.
#[derive(Default)]
struct Leaks {
    held: BTreeMap<RunId, u32>,
    /// Connections that closed, with when and whose, oldest first (the
    /// trace is in time order): their runs are cancelled right after, so
    /// they are checked once [`CANCEL_GRACE`] has passed (or at the
    /// trace's end).
    closed: VecDeque<(ConnId, Duration, Option<Rc<str>>)>,
}

impl Leaks {
    fn pipeline(&mut self, event: &PipelineEvent) {
        match event {
            PipelineEvent::PoolAcquired { run } => *self.held.entry(*run).or_default() += 1,
            PipelineEvent::PoolReleased { run } => {
                let n = self.held.entry(*run).or_default();
                *n = n.saturating_sub(1);
            }
            _ => {}
        }
    }

    fn conn_event(&mut self, e: &Event, id: ConnId, event: &ConnEvent) {
        // The connection's last event: its runs' task set is dropped right
        // after it.
        if matches!(event, ConnEvent::State(ConnState::Closed)) {
            self.closed.push_back((id, e.at, e.user.clone()));
        }
    }

    /// Report runs still holding a pool connection after their connection
    /// closed before `now`.
    fn check_closed_before(&mut self, now: Duration, out: &mut Vec<Violation>) {
        // Called for every event: only the due front is touched.
        while let Some((_, at, _)) = self.closed.front() {
            if at.saturating_add(CANCEL_GRACE) >= now {
                break;
            }
            let (conn, at, user) = self.closed.pop_front().expect("front was just read");
            let runs = RunId { conn, n: 0 }..=RunId { conn, n: u64::MAX };
            for (run, n) in self.held.range(runs).filter(|(_, n)| **n > 0) {
                let detail = format!(
                    "{run} still held {n} db connection(s) after its connection {conn} closed"
                );
                out.push(capacity_violation(
                    Cause::PoolSlotLeaked,
                    at,
                    user.as_ref(),
                    detail,
                ));
            }
        }
    }
}

/// A pool that lent more connections than it has.
fn pool_over_capacity(servers: &Servers, out: &mut Vec<Violation>) {
    for (boot, view) in &servers.boots {
        let Some(size) = view.db_pool else { continue };
        if let Some((at, n)) = view.pool.iter().find(|(_, n)| *n > size) {
            let detail = format!("boot {boot}'s db pool of {size} had {n} connections out");
            out.push(capacity_violation(
                Cause::PoolOverCapacity,
                *at,
                None,
                detail,
            ));
        }
    }
}
