//! Which ready task a host polls next ([`Builder::task_order`](crate::Builder::task_order)).
//!
//! Each host runs its tasks on a tokio `LocalSet`, which polls them first
//! woken, first polled. A race between two tasks of one host (both ready in
//! the same tick, each assuming it runs first) then goes one way on every
//! seed. [`TaskOrder::Random`] and [`TaskOrder::Pct`] choose the next task
//! instead, from a seed of their own, so exploring seeds explores orders.
//! Neither draws from the simulation's RNG: a simulation with
//! [`TaskOrder::Fifo`] is the one turmoil has always run.

use std::collections::BTreeMap;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio::task::Id;

/// How each host chooses the next of its ready tasks to poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskOrder {
    /// First woken, first polled: tokio's own order (the default).
    #[default]
    Fifo,
    /// A ready task chosen uniformly at random before each poll.
    Random {
        /// Seeds every host's choices (each host mixes in its name).
        seed: u64,
    },
    /// Probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi,
    /// Nagarakatte, "A Randomized Scheduler with Probabilistic Guarantees of
    /// Finding Bugs", ASPLOS 2010), per host: each task gets a random
    /// priority when first seen ready, the ready task with the highest one
    /// runs, and at `depth - 1` polls drawn uniformly from the first
    /// `polls`, the task about to run drops below every other (to `depth - i`
    /// at the `i`-th), so another runs instead. A bug that needs `depth`
    /// ordering constraints among `n` tasks is found with probability at
    /// least `1 / (n * polls^(depth - 1))` per run.
    Pct {
        /// Seeds every host's priorities and change points.
        seed: u64,
        /// The bug depth the schedule targets, at least 1 (1: fixed random
        /// priorities, no change point).
        depth: u32,
        /// How many polls a host makes, about: the change points are drawn
        /// from the first `polls` polls.
        polls: u64,
    },
}

/// A host's choice of the next task: the ids of the ready tasks in, the
/// index of the one to poll out (`tokio::task::LocalSet::set_task_order`).
pub(crate) type Choose = Box<dyn FnMut(&[Id]) -> usize>;

impl TaskOrder {
    /// The seed of the host named `nodename`: each host draws its own
    /// stream, so a task added on one host does not move another's choices.
    pub(crate) fn host_seed(&self, nodename: &str) -> Option<u64> {
        match *self {
            TaskOrder::Fifo => None,
            TaskOrder::Random { seed } | TaskOrder::Pct { seed, .. } => {
                // FNV-1a over the name: stable across builds and platforms.
                let name = nodename.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
                Some(seed ^ name)
            }
        }
    }

    /// The chooser of one incarnation of a host (a bounce starts another,
    /// with the next seed from `rng`); `None` for first in, first out.
    pub(crate) fn chooser(&self, rng: &mut SmallRng) -> Option<Choose> {
        match *self {
            TaskOrder::Fifo => None,
            TaskOrder::Random { .. } => {
                let mut rng = SmallRng::seed_from_u64(rng.random());
                Some(Box::new(move |ids: &[Id]| rng.random_range(0..ids.len())))
            }
            TaskOrder::Pct { depth, polls, .. } => {
                let mut pct = Pct::new(SmallRng::seed_from_u64(rng.random()), depth, polls);
                Some(Box::new(move |ids: &[Id]| pct.choose(ids)))
            }
        }
    }
}

/// The state of one host's PCT schedule.
struct Pct {
    rng: SmallRng,
    /// Each task's priority, drawn when it is first seen ready: at least
    /// `depth`, so above every lowered task. (Finished tasks' entries stay:
    /// one per task the host ever ran.)
    priority: BTreeMap<Id, u64>,
    /// The change points not reached yet, as (poll, priority to drop to),
    /// latest first.
    change_points: Vec<(u64, u64)>,
    depth: u64,
    /// Polls chosen so far.
    polls: u64,
}

impl Pct {
    fn new(mut rng: SmallRng, depth: u32, polls: u64) -> Pct {
        let depth = u64::from(depth.max(1));
        let mut change_points: Vec<(u64, u64)> = (1..depth)
            .map(|i| (rng.random_range(0..polls.max(1)), depth - i))
            .collect();
        change_points.sort_unstable_by(|a, b| b.cmp(a));
        Pct {
            rng,
            priority: BTreeMap::new(),
            change_points,
            depth,
            polls: 0,
        }
    }

    fn choose(&mut self, ids: &[Id]) -> usize {
        for id in ids {
            let (rng, depth) = (&mut self.rng, self.depth);
            self.priority
                .entry(*id)
                .or_insert_with(|| rng.random_range(depth..u64::MAX));
        }
        let mut chosen = self.highest(ids);
        // Several change points may fall on one poll: each lowers the task
        // about to run.
        while let Some(&(at, lowered)) = self.change_points.last() {
            if at != self.polls {
                break;
            }
            self.change_points.pop();
            self.priority.insert(ids[chosen], lowered);
            chosen = self.highest(ids);
        }
        self.polls += 1;
        chosen
    }

    /// The index of the ready task with the highest priority (the first
    /// woken of equals).
    fn highest(&self, ids: &[Id]) -> usize {
        let mut best = 0;
        for (i, id) in ids.iter().enumerate() {
            if self.priority[id] > self.priority[&ids[best]] {
                best = i;
            }
        }
        best
    }
}
