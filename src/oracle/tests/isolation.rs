//! isolation: events reach only their owner; bypassed and closed
//! connections are judged by the right invariant.

use super::*;

#[test]
fn foreign_events_collapse_to_one_report_and_name_the_victim() {
    let mut s = Story::default();
    s.user("a", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "a", 1)
        .receive(
            20,
            "a",
            1,
            event("connection_established", "a", 1, None, None),
        );
    s.user("b", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "b", 1)
        .receive(
            20,
            "b",
            1,
            event("connection_established", "b", 1, None, None),
        )
        .send(30, "b", 1, "b-m1");
    for (k, kind) in ["agent_started", "agent_thinking", "agent_completed"]
        .into_iter()
        .enumerate()
    {
        let seq = k as u64 + 2;
        let ev = event(kind, "a", seq, Some("b-m1"), Some("g1.2.r1"));
        s.receive(40 + seq, "a", 1, ev);
    }
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(
        causes(&v),
        [
            (Some("a"), Cause::ForeignEvent),
            (Some("b"), Cause::EventsMisdelivered)
        ]
    );
    assert_eq!((v[0].count, v[0].at), (3, ms(42)), "one report, counted");
    assert_eq!(v[1].conn, Some(1), "the victim's connection");
}

#[test]
fn a_bypassed_connection_is_judged_by_auth_policy_not_isolation() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Missing, &[], 1)
        .connect(10, "u1", 1)
        .accepted(20, "u1", 1, 1)
        .gateway(30, "u1", 1, ConnEvent::State(ConnState::Authenticated))
        .receive(
            40,
            "u1",
            1,
            event(
                "connection_established",
                "staging-debug-user",
                1,
                None,
                None,
            ),
        )
        .send(41, "u1", 1, "u1-m1")
        .receive(
            50,
            "u1",
            1,
            event(
                "agent_started",
                "staging-debug-user",
                2,
                Some("u1-m1"),
                Some("r"),
            ),
        );
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::AdmittedWithoutValidToken)]);
}

#[test]
fn outputs_handed_to_a_closed_connection_are_an_isolation_violation_of_their_owner() {
    let mut s = Story::default();
    chatting(&mut s, "u1", 1, 1);
    let run = RunId {
        conn: ConnId { boot: 1, n: 1 },
        n: 1,
    };
    for at in [50, 60] {
        let lost = PipelineEvent::OutputLost {
            run,
            to: ConnId { boot: 1, n: 7 },
            kind: "agent_thinking",
        };
        s.push(ms(at), "gateway", Some("u1"), Kind::Pipeline(lost));
    }
    let v = check(&s.end(100_000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::EventsLost)], "{v:#?}");
    assert_eq!((v[0].count, v[0].conn), (2, Some(1)));
}
