//! The guided corpus: the drawn cases worth mutating, and every probe
//! bucket reached so far.
//!
//! Part of `explore`: `a generation's runs -> their coverage, in run order
//! -> Corpus::admit (kept if it reached a bucket no earlier run reached) ->
//! the next generation's mutations pick their parents here`. A bucket is a
//! probe's hit count in one run, rounded as AFL rounds branch counts
//! (1, 2-3, 4-7, 8+): a run that retries auth eight times is a different
//! run from one that retries it once, and is kept for it.

use crate::coverage::Coverage;
use crate::trace::Probe;

use super::mutate::Drawn;

/// How many buckets a probe's hit count falls into, besides "not reached".
pub const BUCKETS: usize = 4;

/// The bucket of `hits` reached in one run: `None` for 0, then 0 for 1,
/// 1 for 2-3, 2 for 4-7, 3 for 8 or more.
pub fn bucket(hits: u64) -> Option<usize> {
    match hits {
        0 => None,
        1 => Some(0),
        2..=3 => Some(1),
        4..=7 => Some(2),
        _ => Some(3),
    }
}

/// The probe buckets some runs reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Buckets {
    /// One bit per bucket, per probe (in `Probe::ALL` order).
    reached: [u8; Probe::ALL.len()],
}

impl Buckets {
    /// The buckets of one run's coverage.
    pub fn of(run: &Coverage) -> Self {
        let mut b = Buckets::default();
        for &p in Probe::ALL {
            if let Some(i) = bucket(run.hits(p)) {
                b.reached[p.index()] |= 1 << i;
            }
        }
        b
    }

    /// The buckets `other` reached that `self` did not, as (probe, bucket).
    pub fn adds(&self, other: &Buckets) -> Vec<(Probe, usize)> {
        other
            .each()
            .filter(|(p, b)| self.reached[p.index()] & (1 << b) == 0)
            .collect()
    }

    /// Every bucket reached, as (probe, bucket).
    pub fn each(&self) -> impl Iterator<Item = (Probe, usize)> + '_ {
        Probe::ALL.iter().flat_map(move |p| {
            (0..BUCKETS)
                .filter(move |b| self.reached[p.index()] & (1 << b) != 0)
                .map(move |b| (*p, b))
        })
    }

    pub fn merge(&mut self, other: &Buckets) {
        for (mine, theirs) in self.reached.iter_mut().zip(&other.reached) {
            *mine |= theirs;
        }
    }

    /// Buckets reached, over every probe.
    pub fn count(&self) -> u32 {
        self.reached.iter().map(|b| b.count_ones()).sum()
    }
}

/// A case kept for mutation.
#[derive(Debug, Clone)]
pub struct Kept {
    pub drawn: Drawn,
    /// The buckets it reached that no earlier run had, as (probe, bucket).
    pub news: Vec<(Probe, usize)>,
}

/// The cases kept for mutation, in the order they were kept, and how
/// often each bucket was reached.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Every bucket any run considered so far reached.
    pub seen: Buckets,
    pub kept: Vec<Kept>,
    /// Runs considered so far.
    runs: u64,
    /// Runs that reached each bucket, per probe.
    bucket_runs: [[u64; BUCKETS]; Probe::ALL.len()],
}

impl Corpus {
    /// Take one run into account, in run order: true (and the case kept,
    /// if it can be mutated) when it reached a bucket no earlier run did.
    pub fn admit(&mut self, drawn: &Drawn, coverage: &Coverage) -> bool {
        let buckets = Buckets::of(coverage);
        self.runs += 1;
        for (p, b) in buckets.each() {
            self.bucket_runs[p.index()][b] += 1;
        }
        let news = self.seen.adds(&buckets);
        if news.is_empty() {
            return false;
        }
        self.seen.merge(&buckets);
        if drawn.draft.is_some() {
            self.kept.push(Kept {
                drawn: drawn.clone(),
                news,
            });
        }
        true
    }

    /// A kept case's weight as a parent: one more than the base-2 log of
    /// runs so far over the runs that reached the rarest bucket it was kept
    /// for. A case that opened a window few runs reach (the pool's 8+
    /// waits, a token expiring mid-session) is mutated more often than one
    /// kept for a common probe's first hit, but on a log scale: weighted
    /// by the plain ratio, the one or two rarest cases took nearly every
    /// mutation, and 2,000 runs from run 1 never reached
    /// `pool_acquire_timed_out` (docs/explore.md).
    fn weight(&self, kept: &Kept) -> u64 {
        let rarest = kept
            .news
            .iter()
            .map(|(p, b)| self.bucket_runs[p.index()][*b])
            .min()
            .unwrap_or(0);
        1 + u64::from((self.runs / rarest.max(1)).max(1).ilog2())
    }

    /// A parent for a mutation, drawn by weight with `pick` (any `u64`);
    /// `None` when nothing is kept.
    pub fn parent(&self, pick: u64) -> Option<&Drawn> {
        let total: u64 = self.kept.iter().map(|k| self.weight(k)).sum();
        if total == 0 {
            return None;
        }
        let mut left = pick % total;
        for k in &self.kept {
            let w = self.weight(k);
            if left < w {
                return Some(&k.drawn);
            }
            left -= w;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hit_counts_fall_into_afl_buckets() {
        let got: Vec<Option<usize>> = [0, 1, 2, 3, 4, 7, 8, 1000].map(bucket).to_vec();
        assert_eq!(
            got,
            [
                None,
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2),
                Some(3),
                Some(3)
            ]
        );
    }
}
