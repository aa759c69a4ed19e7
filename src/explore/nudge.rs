//! A guided mutation that moves one world setting of a kept draft, within
//! the range the envelope draws it from (`envelope::world_draft`): the
//! database pool, its acquire timeout, tools per run, the LLM's latency, the
//! connection limit, auth's retries and backoff. Halving or doubling, as
//! AFL's arithmetic mutations do, or one end of the range, so a case that
//! made the pool wait can be pushed until the pool times out.
//!
//! Part of `mutate`: `kept draft -> nudge -> envelope::build` (which derives
//! budgets and the duration from the new setting, so the case stays valid).
//! A setting whose family is off keeps its default: it is not nudged.

use rand::RngExt;

use crate::envelope::{Draft, Families};

/// Move one setting; false when the one picked does not apply (its family
/// is off).
pub fn nudge_world(draft: &mut Draft, families: Families, rng: &mut impl RngExt) -> bool {
    let w = &mut draft.world;
    match rng.random_range(0..6u8) {
        0 if families.pool_pressure => w.db_pool = scaled(w.db_pool.into(), 1, 20, rng) as u32,
        1 if families.pool_pressure => {
            w.db_acquire_timeout_ms = scaled(w.db_acquire_timeout_ms, 1_000, 10_000, rng);
        }
        2 => {
            let most = rng.random_range(1..=3u32);
            w.tools_per_run = (rng.random_range(0..=most), most);
        }
        3 => {
            let most = scaled(w.llm_latency_ms.1, 100, 900, rng);
            w.llm_latency_ms = (w.llm_latency_ms.0.min(most), most);
        }
        4 if w.connection_limit_permille.is_some() => {
            let permille = w.connection_limit_permille.unwrap_or(500);
            w.connection_limit_permille = Some(scaled(permille, 100, 900, rng));
        }
        5 => {
            w.auth_retries = rng.random_range(2..=4);
            w.auth_backoff_ms = scaled(w.auth_backoff_ms, 500, 1_500, rng);
        }
        _ => return false,
    }
    true
}

/// `value` halved or doubled, kept within `least..=most`; a third of the
/// time, one end of the range instead (AFL's "interesting values": the
/// pool of one connection with the shortest acquire timeout is where it
/// times out, and halving walks there only through kept cases).
fn scaled(value: u64, least: u64, most: u64, rng: &mut impl RngExt) -> u64 {
    let moved = match rng.random_range(0..6u8) {
        0 => least,
        1 => most,
        2 | 3 => value / 2,
        _ => value.saturating_mul(2),
    };
    moved.clamp(least, most)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nudged_setting_stays_in_the_envelope_s_range() {
        let mut rng = crate::seed::rng(1, "test");
        for n in 1..40 {
            let fresh = super::super::mutate::fresh(n);
            let mut draft = fresh.draft.expect("a draft");
            for _ in 0..20 {
                nudge_world(&mut draft, fresh.families, &mut rng);
                let w = &draft.world;
                assert!((1..=20).contains(&w.db_pool), "run {n}: {w:?}");
                assert!(w.tools_per_run.0 <= w.tools_per_run.1 && w.tools_per_run.1 <= 3);
                assert!(w.llm_latency_ms.0 <= w.llm_latency_ms.1);
                assert!((2..=4).contains(&w.auth_retries));
                if !fresh.families.pool_pressure {
                    assert_eq!((w.db_pool, w.db_acquire_timeout_ms), (10, 5_000));
                }
            }
        }
    }
}
