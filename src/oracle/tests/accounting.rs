//! accounting: every message answered once, where it was sent, and every
//! error answer backed by its condition in the trace.

use super::*;

#[test]
fn accounting_finds_double_answers_and_silent_drops() {
    let mut s = Story::default();
    happy(&mut s, "u1", 1);
    s.receive(
        65,
        "u1",
        1,
        event("agent_completed", "u1", 4, Some("u1-m1"), Some("g1.1.r1")),
    );
    s.user("u2", TokenKind::Valid, &[TokenVia::Header], 1)
        .connect(10, "u2", 1)
        .receive(
            20,
            "u2",
            1,
            event("connection_established", "u2", 1, None, None),
        )
        .send(30, "u2", 1, "u2-m1");
    let v = check(&s.end(100_000), &Expect::default());
    assert!(
        causes(&v).contains(&(Some("u1"), Cause::AnsweredTwice)),
        "{v:#?}"
    );
    assert!(
        causes(&v).contains(&(Some("u2"), Cause::SilentlyDropped)),
        "{v:#?}"
    );
}

#[test]
fn overloaded_is_an_answer_only_while_the_pool_was_full() {
    // A pool of 1 that another run held from 10 ms to 30 ms: full during
    // u1's wait (15 ms to 55 ms).
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    taken(&mut s, 10, "u2", run_of(2, 1));
    returned(&mut s, 30, "u2", run_of(2, 1));
    refused(&mut s, "overloaded");
    assert!(refusal_details(&mut s).is_empty());

    // The same answer with the pool free the whole time: a backend that
    // says "overloaded" when it is not.
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    taken(&mut s, 1, "u2", run_of(2, 1));
    returned(&mut s, 5, "u2", run_of(2, 1));
    refused(&mut s, "overloaded");
    assert_eq!(
        refusal_details(&mut s),
        [
            "c1 error for u1-m1 without cause: run g1.1.r1 gave up waiting, but the pool of 1 was never full while it waited"
        ]
    );
}

/// `u1`, chatting on g1.1, whose `m1` is answered `overloaded` with no
/// run, after the gateway recorded a refusal at its run limit of `refused`
/// (none: no record).
fn run_limited(refused: Option<&str>) -> Vec<String> {
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    chatting(&mut s, "u1", 1, 1);
    if let Some(message_id) = refused {
        let reached = ConnEvent::RunLimitReached {
            message_id: message_id.into(),
            in_flight: 8,
            limit: 8,
        };
        s.gateway(42, "u1", 1, reached);
    }
    let mut error = event("error", "u1", 2, Some("u1-m1"), None);
    error.code = Some("overloaded".into());
    s.receive(45, "u1", 1, error);
    refusal_details(&mut s)
}

#[test]
fn overloaded_without_a_run_is_an_answer_only_at_a_recorded_run_limit() {
    assert!(run_limited(Some("u1-m1")).is_empty());
    let unbacked = "c1 error for u1-m1 without cause: overloaded names no run, and the server \
                    recorded no run limit reached for u1-m1";
    assert_eq!(run_limited(None), [unbacked]);
    // The limit refused another message: not this one's evidence.
    assert_eq!(run_limited(Some("u1-m2")), [unbacked]);
}

#[test]
fn an_error_without_its_condition_is_refused_without_cause() {
    // Any code the protocol does not have.
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    refused(&mut s, "internal_error");
    assert_eq!(
        refusal_details(&mut s),
        ["c1 error for u1-m1 without cause: code \"internal_error\" is not in the protocol"]
    );
    // unknown_agent for a message to an agent that exists.
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    refused(&mut s, "unknown_agent");
    assert_eq!(
        refusal_details(&mut s),
        ["c1 error for u1-m1 without cause: u1-m1 asked for data_helper, which exists"]
    );
    // unknown_message_type to a user who sent only messages.
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    refused(&mut s, "unknown_message_type");
    assert_eq!(
        refusal_details(&mut s),
        [
            "c1 error for u1-m1 without cause: 1 unknown_message_type answers to 0 frames of an unknown type"
        ]
    );
}

/// The violations of a user who chats, sends one frame of `kind`, and is
/// answered `unknown_message_type`.
fn unknown_type_answer_after(kind: crate::vocab::SentKind) -> Vec<Violation> {
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    chatting(&mut s, "u1", 1, 1);
    let frame = crate::trace::Outgoing {
        kind,
        message_id: None,
        agent: None,
        bytes: 40,
    };
    s.client(45, "u1", Kind::Sent { conn: 1, frame });
    let mut error = event("error", "u1", 2, None, None);
    error.code = Some("unknown_message_type".into());
    s.receive(50, "u1", 1, error);
    check(
        &s.end(1000),
        &Expect {
            all_answered: false,
            ..Expect::default()
        },
    )
}

#[test]
fn unknown_type_answers_are_backed_by_unknown_frames() {
    let kind = crate::vocab::SentKind::UnknownType("typing_indicator".into());
    let v = unknown_type_answer_after(kind);
    assert!(v.is_empty(), "{v:#?}");
}

/// A frame that is not JSON is owed a 1007 close, not an
/// `unknown_message_type` answer: only a well-formed frame of a type the
/// protocol lacks backs one (`SentKind::UnknownType`), so an oracle that
/// counted a misbehaving user's `bad_json` as unknown would let a gateway
/// that answers garbage with that error pass.
#[test]
fn a_bad_json_frame_does_not_back_an_unknown_type_answer() {
    let v = unknown_type_answer_after(crate::vocab::SentKind::BadJson);
    assert_eq!(
        causes(&v),
        [(Some("u1"), Cause::RefusedWithoutCause)],
        "{v:#?}"
    );
}
