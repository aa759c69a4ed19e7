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
        let bad = || format!("`{s}` is not a shard; expected I/N with 1 <= I <= N, like 2/4");
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
/// contiguous block, sizes differing by at most one.
pub fn seeds_for(start: u64, seeds: u64, shard: Shard) -> Vec<u64> {
    let lo = seeds * (shard.index - 1) / shard.count;
    let hi = seeds * shard.index / shard.count;
    (start + lo..start + hi).collect()
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
    fn parses_and_rejects() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "1/0", "x", "1-4", "/4"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
