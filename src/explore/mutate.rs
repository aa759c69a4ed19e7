//! What one run draws, fresh or as a mutation of a kept case, and the
//! replay key that draws it again.
//!
//! Part of `explore`: `run number n -> fresh(n) (the swarm draw, as with
//! --guided off) or mutate(kept case, n) -> run -> oracle -> corpus`. A
//! mutation changes the *draft* (`envelope::Draft`), never the
//! scenario, and the envelope's `build` derives the rest, so every mutated
//! case stays inside the valid envelope: the fixed backend owes it a clean
//! run exactly as it does a fresh one.
//!
//! A mutation depends only on its parent and its own run number, so a
//! case is named by its lineage: the number of the fresh draw at its root
//! (guided, fresh draws are counted on their own), then each run that
//! mutated it (`12:340:1022`). `explore --replay KEY` redraws
//! it from that key alone, with no corpus.

use proptest::strategy::{Just, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use rand::RngExt;

use crate::envelope::{
    self, ARRIVE_MAX_MS, Case, Draft, FAULT_GAP_MAX_MS, Families, FaultDraft, Shape,
};
use crate::scenario::Misbehave;

use super::nudge::nudge_world;

/// How far a mutation moves a fault (its gap to the one before), either way.
const SHIFT_MAX_MS: u64 = 5_000;
/// Most groups a mutation adds up to: the envelope's own most (4 valid,
/// 5 refused, 3 misbehaving).
const GROUPS_MAX: usize = 12;
/// Most users a mutation adds up to: the envelope's own most, so that a
/// mutated run costs what a fresh one may.
const USERS_MAX: u32 = 100;

/// One run's draw.
#[derive(Debug, Clone)]
pub struct Drawn {
    /// The run that drew it.
    pub run: u64,
    /// The number of the fresh draw at its root (`fresh(m)`; unguided, the
    /// run itself), then each run that mutated it.
    pub lineage: Vec<u64>,
    pub families: Families,
    pub case: Case,
    /// What the case was built from; `None` around a scenario (`--from`),
    /// which is never mutated.
    pub draft: Option<Draft>,
    /// How it was drawn: `fresh`, or the mutations.
    pub how: String,
}

impl Drawn {
    /// `12:340:1022`: what `explore --replay` takes.
    pub fn key(&self) -> String {
        let runs: Vec<String> = self.lineage.iter().map(u64::to_string).collect();
        runs.join(":")
    }
}

/// A proptest runner whose draws are fixed by `(n, label)`.
fn runner(n: u64, label: &str) -> TestRunner {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&crate::seed::derive(n, label).to_le_bytes());
    seed[8..16].copy_from_slice(&n.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed);
    TestRunner::new_with_rng(Config::default(), rng)
}

/// Run `n`'s swarm draw: the families, then a case of them (what explore
/// has always drawn for run `n`).
pub fn fresh(n: u64) -> Drawn {
    let strategy =
        Families::swarm().prop_flat_map(|f| (Just(f), envelope::drafts_of(f, Shape::any())));
    let (families, draft) = strategy
        .new_tree(&mut runner(n, "explore"))
        .expect("the envelope's strategies never reject a draw")
        .current();
    named(n, vec![n], families, draft, "fresh".into())
}

fn named(n: u64, lineage: Vec<u64>, families: Families, draft: Draft, how: String) -> Drawn {
    let mut case = draft.case();
    // The task order, as `envelope::explore_case` draws it: from the seed.
    case.scenario.world.schedule = envelope::explore_schedule(case.seed);
    case.scenario.name = format!("explore_{n}");
    case.scenario.description = if lineage.len() == 1 {
        format!("drawn by stagesim explore, run {n}")
    } else {
        let key: Vec<String> = lineage.iter().map(u64::to_string).collect();
        format!(
            "drawn by stagesim explore, run {n} ({how}; stagesim explore --replay {})",
            key.join(":")
        )
    };
    Drawn {
        run: n,
        lineage,
        families,
        case,
        draft: Some(draft),
        how,
    }
}

/// Run `n`'s mutation of `parent`: one or two of a new seed, a fault
/// shifted, a user group added, a world setting moved (nudge.rs), or a
/// family flipped (which draws the case afresh with that family switched). A mutation that does not apply (no
/// fault to shift, no room for a group) gives a new seed instead.
pub fn mutate(parent: &Drawn, n: u64) -> Drawn {
    let base = parent
        .draft
        .as_ref()
        .expect("only cases with a draft are kept for mutation");
    let mut rng = crate::seed::rng(n, "explore/mutate");
    let mut draft = base.clone();
    let mut families = parent.families;
    let mut done = Vec::new();
    for _ in 0..rng.random_range(1..=2u8) {
        done.push(match rng.random_range(0..5u8) {
            1 if shift_fault(&mut draft, &mut rng) => "a fault shifted",
            2 if add_group(&mut draft, &mut rng) => "a user group added",
            4 if nudge_world(&mut draft, families, &mut rng) => "a world setting moved",
            3 => {
                flip(&mut families, rng.random_range(0..12));
                draft = redraw(families, rng.random());
                "a family flipped"
            }
            _ => {
                draft.seed = rng.random();
                "a new seed"
            }
        });
    }
    let mut lineage = parent.lineage.clone();
    lineage.push(n);
    named(n, lineage, families, draft, done.join(", "))
}

/// The case `key` names: its root drawn fresh, then each mutation in turn.
pub fn replay(key: &[u64]) -> Drawn {
    let (root, mutations) = key.split_first().expect("a replay key names a run");
    mutations
        .iter()
        .fold(fresh(*root), |drawn, n| mutate(&drawn, *n))
}

/// Move one fault's gap to the fault before it by up to 5 s either way
/// (the faults after it move with it; `build` lays them out).
fn shift_fault(draft: &mut Draft, rng: &mut impl RngExt) -> bool {
    if draft.faults.is_empty() {
        return false;
    }
    let i = rng.random_range(0..draft.faults.len());
    let gap = gap_ms(&mut draft.faults[i]);
    let shift = rng.random_range(1..=SHIFT_MAX_MS);
    *gap = if rng.random_bool(0.5) {
        gap.saturating_sub(shift)
    } else {
        (*gap + shift).min(FAULT_GAP_MAX_MS)
    };
    true
}

fn gap_ms(fault: &mut FaultDraft) -> &mut u64 {
    match fault {
        FaultDraft::Link { gap_ms, .. }
        | FaultDraft::Restart { gap_ms, .. }
        | FaultDraft::Skew { gap_ms, .. }
        | FaultDraft::Middlebox { gap_ms, .. } => gap_ms,
    }
}

/// Copy one group with a new size and arrival window, at a random place:
/// as valid, refused or misbehaving as the one copied.
fn add_group(draft: &mut Draft, rng: &mut impl RngExt) -> bool {
    let users: u32 = draft.groups.iter().map(|g| g.count).sum();
    if draft.groups.is_empty() || draft.groups.len() >= GROUPS_MAX || users >= USERS_MAX {
        return false;
    }
    let mut group = draft.groups[rng.random_range(0..draft.groups.len())].clone();
    // The envelope's own sizes: 1-15 valid users, 1-5 of the others.
    let most = if group.refused || group.misbehave != Misbehave::None {
        5
    } else {
        15
    };
    group.count = rng.random_range(1..=most).min(USERS_MAX - users);
    // Half the time the copy arrives with the one copied: more users at
    // once, which is what pool waits and connection limits need.
    if rng.random_bool(0.5) {
        group.arrive_max_ms = rng.random_range(0..=ARRIVE_MAX_MS);
    }
    let at = rng.random_range(0..=draft.groups.len());
    draft.groups.insert(at, group);
    true
}

/// Switch family `i` (in `Families::each` order).
fn flip(f: &mut Families, i: usize) {
    let switch = match i {
        0 => &mut f.link_faults,
        1 => &mut f.restarts,
        2 => &mut f.drains,
        3 => &mut f.slow_startups,
        4 => &mut f.header_stripping,
        5 => &mut f.pool_pressure,
        6 => &mut f.connection_limit,
        7 => &mut f.short_tokens,
        8 => &mut f.invalid_tokens,
        9 => &mut f.misbehaving_users,
        10 => &mut f.middlebox,
        _ => &mut f.clock_skew,
    };
    *switch = !*switch;
}

/// A whole new draft of `families`, fixed by `key` (drawn from the
/// mutating run's stream).
fn redraw(families: Families, key: u64) -> Draft {
    envelope::drafts_of(families, Shape::any())
        .new_tree(&mut runner(key, "explore/mutate/redraw"))
        .expect("the envelope's strategies never reject a draw")
        .current()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_flips_and_flips_back() {
        for i in 0..12 {
            let mut f = Families::NONE;
            flip(&mut f, i);
            assert_eq!(f.on().len(), 1, "family {i}");
            assert_eq!(f.on()[0], Families::NONE.each()[i].0);
            flip(&mut f, i);
            assert_eq!(f, Families::NONE);
        }
    }

    #[test]
    fn a_shift_stays_within_the_gap_the_envelope_draws() {
        let mut draft = fresh(1).draft.expect("a draft");
        let mut rng = crate::seed::rng(1, "test");
        draft.faults = vec![FaultDraft::Link {
            hold: false,
            gap_ms: FAULT_GAP_MAX_MS - 1,
            permille: 500,
        }];
        for _ in 0..200 {
            assert!(shift_fault(&mut draft, &mut rng));
            assert!(*gap_ms(&mut draft.faults[0]) <= FAULT_GAP_MAX_MS);
        }
    }
}
