//! Seed derivation: every random draw in a run comes from the run's seed.
//!
//! Sits under everything that draws: the world builder seeds turmoil with
//! [`turmoil_seed`], and each component (a user, the auth service, one agent
//! run) gets its own `StdRng` from [`rng`] keyed by a fixed name. Keying by
//! name rather than sharing one stream means an extra draw in one component
//! never shifts the draws of another, so adding a user does not change what
//! the other users do (the TigerBeetle VOPR habit).

use rand::SeedableRng;
use rand::rngs::StdRng;
use sha2::{Digest, Sha256};

/// A 64-bit sub-seed for `component`, stable across machines and versions
/// (SHA-256, not `Hash`, whose output is not guaranteed stable).
pub fn derive(seed: u64, component: &str) -> u64 {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(component.as_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// The generator of one named component of one run.
pub fn rng(seed: u64, component: &str) -> StdRng {
    StdRng::seed_from_u64(derive(seed, component))
}

/// The seed handed to turmoil's own RNG (network latency, host runtimes).
pub fn turmoil_seed(seed: u64) -> u64 {
    derive(seed, "turmoil")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_get_distinct_stable_streams() {
        assert_eq!(derive(7, "user-0001"), derive(7, "user-0001"));
        assert_ne!(derive(7, "user-0001"), derive(7, "user-0002"));
        assert_ne!(derive(7, "user-0001"), derive(8, "user-0001"));
    }
}
