//! One user's life: arrive, connect, chat, reconnect on transient failures,
//! stop when every message is answered or the reconnect budget is spent.

use std::time::Duration;

use rand::RngExt;

use super::session::{self, Progress, SessionEnd};
use super::token::HeldToken;
use super::{ClientEnv, UserPlan};
use crate::trace::{Kind, Probe, UserEnd};

/// Backoff never grows past this, as browsers' reconnect loops cap it.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub async fn run_user(plan: UserPlan, env: ClientEnv) {
    let mut rng = crate::seed::rng(env.seed, &format!("user/{}", plan.name));
    tokio::time::sleep(plan.arrive).await;
    let record = |kind| env.recorder.record(&plan.host, Some(&plan.name), kind);
    let (mut token, minted) = HeldToken::mint(&plan, env.clock.clone());
    record(minted);

    // The next message is `answered + 1`; an unanswered one is re-sent on
    // the next connection.
    let mut progress = Progress::default();
    let mut conn = 0u32;
    // Failed attempts in a row; reset when a connection is established.
    let mut failures = 0u32;
    let mut ever_established = false;
    loop {
        if env.heal.raised() && ever_established && progress.next_is_new() {
            // The heal began while the user was away with nothing in
            // flight: it was let in before and is owed nothing new.
            record(Kind::StoppedAtHeal {
                answered: progress.answered,
            });
            return record(Kind::Finished {
                outcome: outcome(SessionEnd::Healed),
            });
        }
        conn += 1;
        if conn > 1
            && let Some(refreshed) = token.refresh_if_due(&plan.name)
        {
            record(refreshed);
            record(Kind::Probe(Probe::TokenRefreshed));
        }
        record(Kind::Connecting {
            conn,
            attempt: failures + 1,
        });
        let end = session::drive(
            &plan,
            &env,
            token.text.as_deref(),
            conn,
            &mut progress,
            &mut rng,
        )
        .await;
        if end.was_open() && token.expired() {
            // Accepted when the connection opened, expired before it ended.
            record(Kind::Probe(Probe::TokenExpiredMidSession));
        }
        let established = match retry_or_finish(&plan, end, &mut failures) {
            Ok(established) => established,
            Err(outcome) => return record(Kind::Finished { outcome }),
        };
        ever_established |= established;
        if established {
            record(Kind::Probe(Probe::Reconnected));
        }
        let delay = backoff(&plan, failures, &mut rng);
        record(Kind::Backoff { delay });
        tokio::time::sleep(delay).await;
    }
}

/// After a session: `Ok(established)` to reconnect (counting the failure
/// in a row), or `Err` with what `finished` says when the story ends here:
/// a final answer, or the reconnect budget spent.
fn retry_or_finish(plan: &UserPlan, end: SessionEnd, failures: &mut u32) -> Result<bool, UserEnd> {
    let (established, why) = match end {
        SessionEnd::Retry { established, why } => (established, why),
        ended => return Err(outcome(ended)),
    };
    *failures = if established { 1 } else { *failures + 1 };
    if *failures > plan.reconnect.attempts {
        let why = format!("gave up after {} attempts: {why}", *failures);
        return Err(UserEnd::Stopped(why));
    }
    Ok(established)
}

/// How a session that ends the user's story ends it, as `finished` says.
fn outcome(end: SessionEnd) -> UserEnd {
    match end {
        SessionEnd::Done => UserEnd::Done,
        SessionEnd::Healed => UserEnd::StoppedAtHeal,
        SessionEnd::Fatal(why) => UserEnd::Stopped(why),
        SessionEnd::Retry { why, .. } => UserEnd::Stopped(why),
    }
}

/// The wait before the next attempt after `failures` in a row: exponential,
/// capped, jittered in [d/2, d] from the user's own stream. Saturating: a
/// huge `backoff` doubled must cap, not overflow.
fn backoff(plan: &UserPlan, failures: u32, rng: &mut rand::rngs::StdRng) -> Duration {
    let doubling = 2u32.saturating_pow(failures - 1);
    let base = plan
        .reconnect
        .backoff
        .checked_mul(doubling)
        .map_or(MAX_BACKOFF, |b| b.min(MAX_BACKOFF));
    rng.random_range(base / 2..=base)
}
