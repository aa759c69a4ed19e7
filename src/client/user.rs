//! One user's life: arrive, connect, chat, reconnect on transient failures,
//! stop when every message is answered or the reconnect budget is spent.

use std::time::Duration;

use rand::RngExt;

use super::session::{self, Progress, SessionEnd};
use super::token::HeldToken;
use super::{ClientEnv, UserPlan};
use crate::trace::{Kind, Probe};

/// Backoff never grows past this, as browsers' reconnect loops cap it.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

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
            record(Kind::Finished {
                outcome: "stopped at the heal".into(),
            });
            return;
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
        let end = session::run(
            &plan,
            &env,
            token.text.as_deref(),
            conn,
            &mut progress,
            &mut rng,
        )
        .await;
        let was_open = matches!(
            end,
            SessionEnd::Done
                | SessionEnd::Healed
                | SessionEnd::Retry {
                    established: true,
                    ..
                }
        );
        if was_open && token.expired() {
            // Accepted when the connection opened, expired before it ended.
            record(Kind::Probe(Probe::TokenExpiredMidSession));
        }
        let (established, why) = match end {
            SessionEnd::Done => {
                record(Kind::Finished {
                    outcome: "done".into(),
                });
                return;
            }
            SessionEnd::Healed => {
                record(Kind::Finished {
                    outcome: "stopped at the heal".into(),
                });
                return;
            }
            SessionEnd::Fatal(why) => {
                record(Kind::Finished { outcome: why });
                return;
            }
            SessionEnd::Retry { established, why } => (established, why),
        };
        ever_established |= established;
        failures = if established { 1 } else { failures + 1 };
        if failures > plan.reconnect.attempts {
            record(Kind::Finished {
                outcome: format!("gave up after {} attempts: {why}", failures),
            });
            return;
        }
        if established {
            record(Kind::Probe(Probe::Reconnected));
        }
        // Exponential backoff with jitter in [d/2, d].
        // Saturating: a huge `backoff` doubled must cap, not overflow.
        let doubling = 2u32.saturating_pow(failures - 1);
        let base = plan
            .reconnect
            .backoff
            .checked_mul(doubling)
            .map_or(MAX_BACKOFF, |b| b.min(MAX_BACKOFF));
        let delay = rng.random_range(base / 2..=base);
        record(Kind::Backoff { delay });
        tokio::time::sleep(delay).await;
    }
}
