//! capacity: connections within max_connections, the pool within its
//! size, every slot back when its connection closes.

use super::*;

/// Gateway connection g1.n for user `u`, admitted at `at`, closed at `closed`.
fn admitted(s: &mut Story, u: &str, n: u64, at: u64, closed: Option<u64>) {
    s.user(u, TokenKind::Valid, &[TokenVia::Header], 0)
        .accepted(at, u, 1, n)
        .gateway(at, u, n, ConnEvent::State(ConnState::Authenticated));
    if let Some(c) = closed {
        s.gateway(c, u, n, ConnEvent::State(ConnState::Closed));
    }
}

fn capacity_causes(s: &mut Story) -> Vec<(Cause, String)> {
    check(
        &s.end(10_000),
        &Expect {
            all_answered: false,
            ..Expect::default()
        },
    )
    .into_iter()
    .filter(|v| v.invariant == Invariant::Capacity)
    .map(|v| (v.cause, v.detail))
    .collect()
}

#[test]
fn admitted_connections_stay_within_max_connections() {
    // Limit 2: two open and a third after one closed is fine.
    let mut s = Story::default();
    boot(&mut s, 2, 1);
    admitted(&mut s, "u1", 1, 10, Some(30));
    admitted(&mut s, "u2", 2, 20, None);
    admitted(&mut s, "u3", 3, 40, None);
    assert_eq!(capacity_causes(&mut s), []);
    // A gateway that admits max_connections + 1.
    let mut s = Story::default();
    boot(&mut s, 2, 1);
    admitted(&mut s, "u1", 1, 10, None);
    admitted(&mut s, "u2", 2, 20, None);
    admitted(&mut s, "u3", 3, 40, None);
    assert_eq!(
        capacity_causes(&mut s),
        [(
            Cause::OverConnectionLimit,
            "g1.3 admitted with 3 admitted connections open on boot 1 (max_connections 2)"
                .to_string()
        )]
    );
}

/// A gateway that crashed closes nothing in the trace: its connections stay
/// counted on its own boot, not on the next one. An oracle that counted one
/// total across boots would call a restarted gateway's second admission
/// over the limit.
#[test]
fn each_boot_is_held_to_its_own_max_connections() {
    let mut s = Story::default();
    boot(&mut s, 2, 1);
    admitted(&mut s, "u1", 1, 10, None);
    admitted(&mut s, "u2", 2, 20, None);
    let reboot = GatewayEvent::Boot {
        boot: 2,
        startup: ms(0),
        max_connections: 2,
    };
    s.push(ms(100), "gateway", None, Kind::Gateway(reboot));
    for (u, n, at) in [("u3", 1, 110), ("u4", 2, 120), ("u5", 3, 130)] {
        s.user(u, TokenKind::Valid, &[TokenVia::Header], 0);
        let request = Some(RequestId {
            user: Rc::from(u),
            conn: 1,
        });
        for event in [
            ConnEvent::Accepted { request },
            ConnEvent::State(ConnState::Authenticated),
        ] {
            let conn = ConnId { boot: 2, n };
            let kind = Kind::Gateway(GatewayEvent::Conn { conn, event });
            s.push(ms(at), "gateway", Some(u), kind);
        }
    }
    assert_eq!(
        capacity_causes(&mut s),
        [(
            Cause::OverConnectionLimit,
            "g2.3 admitted with 3 admitted connections open on boot 2 (max_connections 2)"
                .to_string()
        )]
    );
}

#[test]
fn a_pool_connection_must_be_back_when_its_runs_connection_closes() {
    // Returned at the instant the connection closed (the run cancelled).
    let mut s = Story::default();
    boot(&mut s, 10, 2);
    admitted(&mut s, "u1", 1, 10, None);
    taken(&mut s, 20, "u1", run_of(1, 1));
    s.gateway(30, "u1", 1, ConnEvent::State(ConnState::Closed));
    returned(&mut s, 30, "u1", run_of(1, 1));
    s.gateway(31, "u1", 9, ConnEvent::HandshakeTimedOut);
    assert_eq!(capacity_causes(&mut s), []);
    // Never returned: a pool that leaks a connection when a run is
    // cancelled mid-tool.
    let mut s = Story::default();
    boot(&mut s, 10, 2);
    admitted(&mut s, "u1", 1, 10, None);
    taken(&mut s, 20, "u1", run_of(1, 1));
    s.gateway(30, "u1", 1, ConnEvent::State(ConnState::Closed));
    assert_eq!(
        capacity_causes(&mut s),
        [(
            Cause::PoolSlotLeaked,
            "g1.1.r1 still held 1 db connection(s) after its connection g1.1 closed".to_string()
        )]
    );
    // Two leaks whose connections close last: both are checked at the
    // trace's end, not only the first closed.
    let mut s = Story::default();
    boot(&mut s, 10, 2);
    admitted(&mut s, "u1", 1, 10, None);
    admitted(&mut s, "u2", 2, 11, None);
    taken(&mut s, 20, "u1", run_of(1, 1));
    taken(&mut s, 21, "u2", run_of(2, 1));
    s.gateway(30, "u1", 1, ConnEvent::State(ConnState::Closed));
    s.gateway(30, "u2", 2, ConnEvent::State(ConnState::Closed));
    let leaked: Vec<String> = capacity_causes(&mut s)
        .into_iter()
        .map(|(cause, detail)| format!("{cause:?}: {detail}"))
        .collect();
    assert_eq!(
        leaked,
        [
            "PoolSlotLeaked: g1.1.r1 still held 1 db connection(s) after its connection g1.1 closed",
            "PoolSlotLeaked: g1.2.r1 still held 1 db connection(s) after its connection g1.2 closed",
        ]
    );
}

#[test]
fn a_pool_never_lends_more_than_its_size() {
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    taken(&mut s, 20, "u1", run_of(1, 1));
    taken(&mut s, 25, "u2", run_of(2, 1));
    assert_eq!(
        capacity_causes(&mut s),
        [(
            Cause::PoolOverCapacity,
            "boot 1's db pool of 1 had 2 connections out".to_string()
        )]
    );
}
