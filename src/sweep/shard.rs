//! `--shard I/N`: split a seed range among N machines, contiguously, with no
//! overlap and no gap.

use std::fmt;
use std::str::FromStr;

/// Shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`--shard` takes I/N, shard I of N with 1 <= I <= N (like 2/4); got `{}`",
                s.escape_debug()
            )
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u64 = i.trim().parse().map_err(|_| bad())?;
        let count: u64 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The seeds of `shard` out of `seeds` seeds starting at `start`: a
/// contiguous block, sizes differing by at most one. Seeds past `u64::MAX`
/// do not exist and are left out (the CLI refuses such a range first); the
/// products are taken in `u128` so no shard count overflows them.
pub fn seeds_for(start: u64, seeds: u64, shard: Shard) -> Vec<u64> {
    let at = |i: u64| (u128::from(seeds) * u128::from(i) / u128::from(shard.count.max(1))) as u64;
    let (lo, hi) = (at(shard.index.saturating_sub(1)), at(shard.index));
    (lo..hi).map_while(|k| start.checked_add(k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_cover_the_range_with_no_overlap_and_no_gap() {
        for seeds in [0u64, 1, 2, 7, 100, 101, 1000] {
            for count in 1..=9u64 {
                let mut all: Vec<u64> = Vec::new();
                for index in 1..=count {
                    let part = seeds_for(5, seeds, Shard { index, count });
                    let size = part.len() as u64;
                    assert!(size == seeds / count || size == seeds / count + 1);
                    all.extend(part);
                }
                let expected: Vec<u64> = (5..5 + seeds).collect();
                assert_eq!(all, expected, "seeds={seeds} count={count}");
            }
        }
    }

    #[test]
    fn extreme_values_neither_overflow_nor_wrap() {
        let last = Shard {
            index: u64::MAX,
            count: u64::MAX,
        };
        assert_eq!(seeds_for(1, 3, last), vec![3]);
        assert_eq!(seeds_for(u64::MAX, 1, Shard::WHOLE), vec![u64::MAX]);
        assert_eq!(
            seeds_for(u64::MAX - 1, 5, Shard::WHOLE),
            vec![u64::MAX - 1, u64::MAX]
        );
    }

    #[test]
    fn parses_and_rejects() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in [
            "0/4",
            "5/4",
            "1/0",
            "0/0",
            "x",
            "1-4",
            "/4",
            "-1/2",
            "1/18446744073709551616",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
