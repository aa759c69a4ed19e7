//! The simulation's maps, keyed by addresses, socket pairs and sequence
//! numbers, hashed with rustc's Fx hash instead of SipHash.
//!
//! Every lookup of a host, a link, a socket or a buffered segment hashes its
//! key, several times per host per step: with SipHash that was 8% of a
//! simulation's instructions. SipHash resists keys chosen by an attacker;
//! these keys come from the simulation itself. An [`IndexMap`] iterates in
//! insertion order whatever its hasher, so the order the simulation visits
//! hosts, links and sockets, and so every run, is unchanged.

use rustc_hash::FxBuildHasher;

/// [`indexmap::IndexMap`] with the Fx hasher.
pub(crate) type IndexMap<K, V> = indexmap::IndexMap<K, V, FxBuildHasher>;

/// `IndexMap::new()` for the Fx-hashed map (indexmap's own `new` is for
/// its default hasher only), so that the code building these maps reads as
/// before.
pub(crate) trait NewMap {
    fn new() -> Self;
}

impl<K, V> NewMap for IndexMap<K, V> {
    fn new() -> Self {
        IndexMap::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_in_insertion_order() {
        let mut map: IndexMap<u64, u64> = IndexMap::new();
        for key in [9, 3, 7, 1, 5] {
            map.insert(key, key * 10);
        }
        map.swap_remove(&3);
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), [9, 5, 7, 1]);
        assert_eq!(map.get(&7), Some(&70));
    }
}
