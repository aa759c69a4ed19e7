//! Scale (issue 24): `bench/users_100k.toml`, 100,000 users connected at
//! once and chatting for 2 simulated minutes, judged by the oracle. Past
//! 16,384 users it needs what the port patch and the extra gateway ports
//! give (docs/performance.md, "100,000 users"). Ignored by default: it
//! takes minutes and about 3 GiB; run it with
//! `cargo test --release --test world scale:: -- --ignored`.

use stagesim::oracle::Verdict;
use stagesim::trace::Kind;

use crate::support::{self, reproduce};

#[test]
#[ignore = "minutes and about 3 GiB: cargo test --release --test world scale:: -- --ignored"]
fn a_hundred_thousand_users_connect_chat_and_pass() {
    let rel = "bench/users_100k.toml";
    let seed = 1;
    let outcome = support::run(rel, seed);
    let opened = (outcome.trace.events.iter())
        .filter(|e| matches!(e.kind, Kind::Opened { .. }))
        .count();
    assert_eq!(
        outcome.verdict,
        Verdict::Pass,
        "violations: {:?}\nreproduce: {}",
        &outcome.violations[..outcome.violations.len().min(5)],
        reproduce(rel, seed)
    );
    assert!(
        opened >= 100_000 && outcome.summary.messages.answered >= 100_000,
        "{opened} connections opened, {} messages answered: every user must \
         connect and chat\nreproduce: {}",
        outcome.summary.messages.answered,
        reproduce(rel, seed)
    );
}
