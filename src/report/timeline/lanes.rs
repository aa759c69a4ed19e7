//! The rows: the server hosts, the client hosts, and one lane per user,
//! from the trace's `UserDeclared` events.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{Host, SERVER_HOSTS, User};
use crate::trace::{Kind, Trace};

/// Hosts (servers, then client hosts), users in declaration order, and
/// each user's index by name.
pub(super) fn lanes(trace: &Trace) -> (Vec<Host>, Vec<User>, BTreeMap<Rc<str>, usize>) {
    let mut hosts: Vec<Host> = SERVER_HOSTS
        .iter()
        .map(|h| Host {
            name: h.to_string(),
            clients: false,
        })
        .collect();
    let mut users = Vec::new();
    let mut user_index = BTreeMap::new();
    for e in &trace.events {
        let (
            Kind::UserDeclared {
                group,
                token,
                via,
                messages,
                entitled,
                ..
            },
            Some(name),
        ) = (&e.kind, &e.user)
        else {
            continue;
        };
        if user_index.contains_key(name) {
            continue;
        }
        // A client host is a host users are declared on. Users are declared
        // in order and dealt to the client hosts from `clients-1`, so the
        // hosts come in their numeric order.
        let host = match hosts.iter().position(|h| h.name == *e.host) {
            Some(h) => h,
            None => {
                hosts.push(Host {
                    name: e.host.to_string(),
                    clients: true,
                });
                hosts.len() - 1
            }
        };
        let via: Vec<&str> = via.iter().map(|v| v.as_str()).collect();
        let via = if via.is_empty() {
            "nothing".to_string()
        } else {
            via.join("+")
        };
        user_index.insert(name.clone(), users.len());
        users.push(User {
            name: name.to_string(),
            host,
            group: *group,
            token: format!("{} via {via}", token.as_str()),
            entitled: *entitled,
            messages: *messages,
            codes: Vec::new(),
            http: Vec::new(),
            outcome: None,
            violated: false,
        });
    }
    (hosts, users, user_index)
}
