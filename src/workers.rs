//! Worker threads for runs that are independent of each other: a sweep's
//! jobs and an exploration's draws.
//!
//! Parallelism is only ever between simulations: each simulation stays on
//! one thread and deterministic, so results never depend on the number of
//! workers, only the wall time does.

/// Run `worker` on `jobs` threads, this one included, and wait for all of
/// them; the number that ran. A thread that cannot be spawned (a process
/// limit) only means fewer workers: this thread always works.
pub fn on_workers(jobs: usize, worker: &(dyn Fn() + Sync)) -> usize {
    std::thread::scope(|scope| {
        let mut workers = 1;
        for _ in 1..jobs.max(1) {
            if std::thread::Builder::new()
                .spawn_scoped(scope, worker)
                .is_ok()
            {
                workers += 1;
            }
        }
        worker();
        workers
    })
}
