//! The determinism guard, second half: before a command simulates anything,
//! check that the runtimes turmoil builds really are seeded.
//!
//! `build.rs` and the `compile_error!` in `lib.rs` refuse a build without
//! `--cfg tokio_unstable`; this module checks the effect rather than the
//! flag. It runs the same two-host-free probe simulation twice with one
//! seed: a task makes tokio's `select!` pick between two ready branches 64
//! times. A seeded runtime picks the same 64 branches both times; an
//! unseeded one agrees with probability 2^-64. It costs well under a
//! millisecond and runs once per process (`cli` calls [`check`]).

use std::cell::Cell;
use std::rc::Rc;
use std::sync::OnceLock;

/// How many `select!` picks one probe records, one bit each.
const PICKS: u32 = 64;

/// `Ok` when a seeded simulation's runtimes draw the same `select!` branch
/// order on every run; otherwise what is wrong and how to fix it. The
/// answer is computed once per process.
pub fn check() -> Result<(), String> {
    static VERDICT: OnceLock<Result<(), String>> = OnceLock::new();
    VERDICT
        .get_or_init(|| {
            let (first, second) = (probe_simulation(1), probe_simulation(1));
            if first == second {
                Ok(())
            } else {
                Err(format!(
                    "the simulated runtimes are not seeded: two runs with one seed made \
                     different select! choices ({first:016x} vs {second:016x}), so runs \
                     would not be reproducible. Rebuild with RUSTFLAGS=\"--cfg \
                     tokio_unstable\" (a RUSTFLAGS in the environment replaces the flags \
                     in .cargo/config.toml)"
                ))
            }
        })
        .clone()
}

/// The `select!` picks of one turmoil simulation seeded with `seed`.
fn probe_simulation(seed: u64) -> u64 {
    let picks = Rc::new(Cell::new(0u64));
    let out = picks.clone();
    let mut sim = turmoil::Builder::new().rng_seed(seed).build();
    sim.client("determinism-probe", async move {
        out.set(select_picks().await);
        Ok(())
    });
    // A probe of ready futures cannot fail; if turmoil ever did, the two
    // probes would differ and the check would say so.
    let _ = sim.run();
    picks.get()
}

/// Which of two always-ready branches `select!` polled first, 64 times, as
/// bits. Without `biased;`, tokio draws the start branch from the current
/// runtime's RNG.
pub async fn select_picks() -> u64 {
    let mut bits = 0u64;
    for i in 0..PICKS {
        let first = tokio::select! {
            _ = std::future::ready(()) => 0u64,
            _ = std::future::ready(()) => 1u64,
        };
        bits |= first << i;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picks_on(runtime: tokio::runtime::Runtime) -> u64 {
        runtime.block_on(select_picks())
    }

    fn runtime(seed: Option<&[u8]>) -> tokio::runtime::Runtime {
        let mut b = tokio::runtime::Builder::new_current_thread();
        if let Some(bytes) = seed {
            b.rng_seed(tokio::runtime::RngSeed::from_bytes(bytes));
        }
        b.build().expect("a current-thread runtime")
    }

    #[test]
    fn the_probe_tells_a_seeded_runtime_from_an_unseeded_one() {
        // The check's premise, shown on plain runtimes: seeded ones agree,
        // unseeded ones (what a build without tokio_unstable gives turmoil)
        // do not.
        assert_eq!(picks_on(runtime(Some(b"x"))), picks_on(runtime(Some(b"x"))));
        assert_ne!(picks_on(runtime(None)), picks_on(runtime(None)));
    }

    #[test]
    fn this_build_passes_the_check() {
        assert_eq!(check(), Ok(()));
        assert_ne!(
            probe_simulation(1),
            probe_simulation(2),
            "the probe sees the seed"
        );
    }
}
