//! `no_1011`: no client receives close code 1011. The violation names the
//! component the gateway's close blamed, from the gateway's own event for
//! that connection, and the reason the user received.

use super::violation;
use crate::oracle::Violation;
use crate::oracle::index::Users;
use crate::scenario::Cause;

pub fn no_1011(users: &Users, out: &mut Vec<Violation>) {
    for (name, view) in users {
        for (n, conn) in &view.conns {
            if let Some((at, 1011, reason, false)) = &conn.closed {
                let component = conn
                    .server
                    .as_ref()
                    .and_then(|s| s.close)
                    .filter(|(_, code, _)| *code == 1011)
                    .and_then(|(_, _, component)| component);
                let mut v = violation(
                    Cause::Closed1011,
                    name,
                    view,
                    *at,
                    Some(*n),
                    format!("c{n} closed 1011: {reason}"),
                );
                v.component = component;
                v.reason = Some(reason.clone());
                out.push(v);
            }
        }
    }
}
