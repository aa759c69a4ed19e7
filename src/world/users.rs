//! From `[[users]]` groups to one plan per user, and users to client hosts.

use std::rc::Rc;

use rand::RngExt;

use crate::client::UserPlan;
use crate::scenario::Scenario;

/// How many client hosts carry `users` users: few, because every host adds
/// to turmoil's per-tick cost; more than one only when one host's ephemeral
/// ports and buffers would be crowded.
pub fn client_hosts(users: usize) -> Vec<String> {
    let count = match users {
        0..=200 => 1,
        201..=2000 => 2,
        _ => 4,
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
