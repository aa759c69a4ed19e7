//! From `[[users]]` groups to one plan per user, and users to client hosts;
//! what the trace declares about them at time zero.
//!
//! Part of `Scenario -> users`: a simulation (`world`) makes each client
//! host a turmoil host, live mode (`live`) runs them on its own thread.

use std::rc::Rc;
use std::time::Duration;

use rand::RngExt;

use super::UserPlan;
use crate::net::USERS_PER_GATEWAY_PORT;
use crate::scenario::{Scenario, TokenKind, TokenVia};
use crate::trace::{FaultEvent, Kind, Recorder};

/// How many client hosts carry `users` users: few, because every host adds
/// to turmoil's per-tick cost; more than one only when one host's ephemeral
/// ports and buffers would be crowded. Past four hosts' worth, one more per
/// [`USERS_PER_GATEWAY_PORT`]: every user of a host connects to `lb:8080`,
/// and a host has one connection to an address per ephemeral port.
pub fn client_hosts(users: usize) -> Vec<String> {
    let count = match users {
        0..=200 => 1,
        201..=2000 => 2,
        _ => users.div_ceil(USERS_PER_GATEWAY_PORT as usize).max(4),
    };
    (1..=count).map(|k| format!("clients-{k}")).collect()
}

/// Every user of the scenario, numbered from `user-0001` in group order,
/// with an arrival time drawn from the user's own stream.
pub fn plan(scenario: &Scenario, seed: u64) -> Vec<UserPlan> {
    let total: usize = scenario.users.iter().map(|g| g.count as usize).sum();
    let hosts: Vec<Rc<str>> = client_hosts(total).into_iter().map(Rc::from).collect();
    let mut plans = Vec::with_capacity(total);
    for (group, g) in scenario.users.iter().enumerate() {
        for _ in 0..g.count {
            let index = plans.len();
            let name: Rc<str> = Rc::from(format!("user-{:04}", index + 1));
            let mut rng = crate::seed::rng(seed, &format!("arrival/{name}"));
            let arrive = rng.random_range(g.arrive.min..=g.arrive.max);
            plans.push(UserPlan {
                name,
                group,
                host: hosts[index % hosts.len()].clone(),
                token: g.token,
                via: g.send_token_via.clone(),
                arrive,
                messages: g.messages,
                agent: g.agent,
                reconnect: g.reconnect.clone(),
                misbehave: g.misbehave,
                think: g.think,
                token_lifetime: g.token_lifetime,
                refresh_token: g.refresh_token,
            });
        }
    }
    plans
}

/// Record what the run starts with (the headers `lb` strips, every user and
/// whether a valid token can reach the gateway) and return the users of each
/// client host, in host order. A simulation makes each a turmoil host; live
/// mode runs them on its own thread.
pub fn declare(
    scenario: &Scenario,
    seed: u64,
    recorder: &Recorder,
) -> Vec<(String, Vec<UserPlan>)> {
    let sim_host: Rc<str> = Rc::from("sim");
    for header in &scenario.load_balancer.strip_headers {
        let strip = FaultEvent::StripHeader {
            header: header.clone(),
        };
        recorder.record_at(Duration::ZERO, &sim_host, None, Kind::Fault(strip));
    }
    let plans = plan(scenario, seed);
    let header_survives = !scenario
        .load_balancer
        .strip_headers
        .iter()
        .any(|h| h == "authorization");
    for plan in &plans {
        let delivered = plan.via.contains(&TokenVia::Subprotocol)
            || (plan.via.contains(&TokenVia::Header) && header_survives);
        let declared = Kind::UserDeclared {
            group: plan.group,
            token: plan.token,
            via: plan.via.clone(),
            messages: plan.messages,
            entitled: plan.token == TokenKind::Valid && delivered,
            misbehave: plan.misbehave,
        };
        recorder.record_at(Duration::ZERO, &plan.host, Some(&plan.name), declared);
    }
    client_hosts(plans.len())
        .into_iter()
        .map(|host| {
            let mine = plans.iter().filter(|p| *p.host == *host).cloned().collect();
            (host, mine)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every host's users connect to `lb:8080`, at most one connection per
    /// ephemeral port (16,384): past four hosts' worth, one more host per
    /// 12,000 users; below, the counts every existing trace was made with.
    #[test]
    fn no_client_host_carries_more_users_than_its_ports() {
        let hosts = |users| client_hosts(users).len();
        assert_eq!(
            [hosts(200), hosts(201), hosts(2_000), hosts(2_001)],
            [1, 2, 2, 4]
        );
        assert_eq!([hosts(10_000), hosts(48_000)], [4, 4]);
        assert_eq!([hosts(48_001), hosts(100_000)], [5, 9]);
        for users in [17_000usize, 65_537, 100_000] {
            assert!(users.div_ceil(hosts(users)) < 16_384, "{users}");
        }
    }
}
