//! Getting in and staying owed: no_1011, auth_policy (tokens, refusals,
//! the leeway) and liveness (what a user is owed, and the heal).

use super::*;

#[test]
fn a_happy_user_passes() {
    let mut s = Story::default();
    happy(&mut s, "u1", 1);
    let trace = s.end(1000);
    assert_eq!(check(&trace, &Expect::default()), vec![]);
}

#[test]
fn a_1011_names_the_component_the_gateway_blamed_and_hides_liveness() {
    let mut s = Story::default();
    chatting(&mut s, "u1", 1, 2);
    let close = ConnEvent::Close {
        code: 1011,
        component: Some(Component::MessageRouter),
        reason: "message router: KeyError('x')".into(),
    };
    s.gateway(45, "u1", 1, close)
        .close(46, "u1", 1, 1011, false);
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::Closed1011)]);
    assert_eq!(v[0].component, Some(Component::MessageRouter));
    assert_eq!(v[0].reason.as_deref(), Some("closed 1011"));
    assert_eq!(v[0].conn, Some(1));
}

/// An expired token admitted by the gateway, then closed 1013 because the
/// pipeline was not ready: the client never saw an admission.
pub(super) fn admitted_behind_a_1013() -> Trace {
    let mut s = Story::default();
    s.user("u1", TokenKind::Expired, &[TokenVia::Header], 1)
        .connect(10, "u1", 1)
        .accepted(20, "u1", 1, 1)
        .gateway(30, "u1", 1, ConnEvent::State(ConnState::Authenticated))
        .close(5030, "u1", 1, 1013, false);
    s.end(10_000)
}

#[test]
fn an_admission_hidden_behind_a_later_close_is_an_auth_policy_violation() {
    let v = check(&admitted_behind_a_1013(), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::AdmittedWithoutValidToken)]);
    assert_eq!(v[0].at, ms(30), "judged at the gateway's admission");
}

#[test]
fn an_invalid_token_must_be_refused_with_1008() {
    let mut s = Story::default();
    s.user("u1", TokenKind::BadSignature, &[TokenVia::Header], 1)
        .connect(10, "u1", 1)
        .close(30, "u1", 1, 1003, false);
    s.user("u2", TokenKind::Malformed, &[TokenVia::Header], 1)
        .connect(10, "u2", 1)
        .close(30, "u2", 1, 1008, false);
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::RefusedWithWrongCode)]);
}

#[test]
fn a_valid_token_refused_with_1008_is_a_violation_but_one_that_expired_meanwhile_is_not() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Subprotocol], 1)
        .connect(10, "u1", 1)
        .close(30, "u1", 1, 1008, false);
    // u2's token expires at 1h, during its attempt: either answer is fair.
    s.user("u2", TokenKind::Valid, &[TokenVia::Subprotocol], 0)
        .connect(3_599_990, "u2", 1)
        .close(3_600_010, "u2", 1, 1008, false);
    let v = check(&s.end(3_700_000), &Expect::default());
    assert!(
        causes(&v).contains(&(Some("u1"), Cause::ValidTokenRefused)),
        "{v:#?}"
    );
    assert!(!v.iter().any(|v| v.user.as_deref() == Some("u2")), "{v:#?}");
}

#[test]
fn a_header_the_load_balancer_strips_carries_no_valid_token() {
    let mut s = Story::default();
    s.push(
        ms(0),
        "sim",
        None,
        Kind::Fault(FaultEvent::StripHeader {
            header: "authorization".into(),
        }),
    );
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "u1", 1)
        .close(30, "u1", 1, 1008, false);
    let mut declared = s.events[1].clone();
    if let Kind::UserDeclared { entitled, .. } = &mut declared.kind {
        *entitled = false;
    }
    s.events[1] = declared;
    assert_eq!(check(&s.end(1000), &Expect::default()), vec![]);
}

/// A user whose token expired before it reconnected, refresh off.
fn locked_out_after_expiry() -> Trace {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 2)
        .connect(10, "u1", 1)
        .accepted(20, "u1", 1, 1)
        .gateway(30, "u1", 1, ConnEvent::State(ConnState::ProcessingReady))
        .receive(
            40,
            "u1",
            1,
            event("connection_established", "u1", 1, None, None),
        )
        .close(4_000_000, "u1", 1, 1012, false)
        .connect(4_001_000, "u1", 2)
        .close(4_001_050, "u1", 2, 1008, false);
    s.end(4_100_000)
}

#[test]
fn an_expired_token_refused_on_reconnect_is_honest_and_owes_no_answers() {
    assert_eq!(
        check(&locked_out_after_expiry(), &Expect::default()),
        vec![]
    );
}

#[test]
fn a_refreshed_token_is_judged_as_presented() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
        .client(
            4_000_000,
            "u1",
            Kind::TokenIssued {
                token: TokenKind::Valid,
                valid_until: Some(ms(4_000_000) + HOUR),
                refreshed: true,
            },
        )
        .connect(4_001_000, "u1", 2)
        .close(4_001_050, "u1", 2, 1008, false);
    let v = check(&s.end(4_100_000), &Expect::default());
    assert!(
        causes(&v).contains(&(Some("u1"), Cause::ValidTokenRefused)),
        "{v:#?}"
    );
}

#[test]
fn all_answered_false_relaxes_answers_but_never_admission() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 1)
        .connect(10, "u1", 1)
        .close(20, "u1", 1, 1013, false);
    s.user("u2", TokenKind::Valid, &[TokenVia::Header], 1)
        .connect(10, "u2", 1)
        .receive(
            40,
            "u2",
            1,
            event("connection_established", "u2", 1, None, None),
        )
        .send(41, "u2", 1, "u2-m1")
        .close(50, "u2", 1, 1001, false);
    let trace = s.end(1000);
    let strict = check(&trace, &Expect::default());
    assert_eq!(
        causes(&strict),
        [
            (Some("u1"), Cause::NeverAdmitted),
            (Some("u2"), Cause::Unanswered)
        ]
    );
    let relaxed = Expect {
        all_answered: false,
        ..Expect::default()
    };
    assert_eq!(
        causes(&check(&trace, &relaxed)),
        [(Some("u1"), Cause::NeverAdmitted)]
    );
}

#[test]
fn auth_s_leeway_forgives_admitting_a_token_that_just_expired() {
    // u1's token expires at 1 h; it reconnects 30 s later and is admitted.
    let story = |leeway_s: u64| {
        let mut s = Story::default();
        let booting = crate::trace::AuthEvent::Booting {
            startup: ms(0),
            leeway: Duration::from_secs(leeway_s),
        };
        s.push(ms(0), "auth", None, Kind::Auth(booting));
        let late = HOUR.as_millis() as u64 + 30_000;
        s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
            .connect(late, "u1", 1)
            .accepted(late + 10, "u1", 1, 1)
            .gateway(
                late + 20,
                "u1",
                1,
                ConnEvent::State(ConnState::Authenticated),
            );
        let expect = Expect {
            all_answered: false,
            ..Expect::default()
        };
        check(&s.end(late + 1000), &expect)
            .into_iter()
            .filter(|v| v.invariant == Invariant::AuthPolicy)
            .map(|v| v.cause)
            .collect::<Vec<_>>()
    };
    assert_eq!(story(60), []);
    assert_eq!(story(10), [Cause::AdmittedWithoutValidToken]);
}

#[test]
fn a_user_still_busy_when_the_heal_ran_out_did_not_converge_once() {
    // u1 sent m1 and waits; the heal began at 50 ms and the run ended at
    // 1 s with u1 unfinished. u2 stopped at the heal and finished.
    let mut s = Story::default();
    chatting(&mut s, "u1", 1, 3);
    let heal = FaultEvent::Heal {
        converge_within: ms(950),
    };
    s.push(ms(50), "sim", None, Kind::Fault(heal));
    happy(&mut s, "u2", 2);
    s.client(80, "u2", Kind::StoppedAtHeal { answered: 1 });
    s.client(
        81,
        "u2",
        Kind::Finished {
            outcome: crate::trace::UserEnd::StoppedAtHeal,
        },
    );
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::DidNotConverge)], "{v:#?}");
    assert_eq!(
        v[0].detail,
        "still busy 950ms after the heal began: an answer to u1-m1 on c1 (no event of its run)"
    );
}

/// An answer to another user's message (`u2-m1`, delivered to `u1`) answers
/// nothing of `u1`'s: liveness counts only a user's own message ids, so a
/// check that read just the number in the id would pass this run. (The
/// whole oracle reports the root cause, `foreign_event`, and hides this
/// effect; liveness on its own must still see it.)
#[test]
fn an_answer_to_another_user_s_message_leaves_one_s_own_unanswered() {
    let mut s = Story::default();
    chatting(&mut s, "u1", 1, 1).receive(
        50,
        "u1",
        1,
        event("agent_completed", "u1", 2, Some("u2-m1"), Some("g1.1.r1")),
    );
    let trace = s.end(1000);
    let users = crate::oracle::index::build(&trace);
    let mut v = Vec::new();
    let stripped = Default::default();
    crate::oracle::invariants::answers(&users, &stripped, None, trace.end, &mut v);
    assert_eq!(causes(&v), [(Some("u1"), Cause::Unanswered)]);
    assert!(v[0].detail.contains("first u1-m1"), "{v:?}");
}
