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

    /// Whether `other` reached a bucket that `self` did not.
    pub fn adds(&self, other: &Buckets) -> bool {
        self.reached
            .iter()
            .zip(&other.reached)
            .any(|(mine, theirs)| theirs & !mine != 0)
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

/// The cases kept for mutation, in the order they were kept.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Every bucket any run considered so far reached.
    pub seen: Buckets,
    pub kept: Vec<Drawn>,
}

impl Corpus {
    /// Take one run into account, in run order: true (and the case kept,
    /// if it can be mutated) when it reached a bucket no earlier run did.
    pub fn admit(&mut self, drawn: &Drawn, coverage: &Coverage) -> bool {
        let buckets = Buckets::of(coverage);
        if !self.seen.adds(&buckets) {
            return false;
        }
        self.seen.merge(&buckets);
        if drawn.draft.is_some() {
            self.kept.push(drawn.clone());
        }
        true
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
