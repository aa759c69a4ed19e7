//! event_grammar: seq, run order, and the close codes a server may send.

use super::*;

#[test]
fn event_grammar_checks_seq_and_run_order() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 1)
        .connect(10, "u1", 1)
        .receive(
            20,
            "u1",
            1,
            event("connection_established", "u1", 5, None, None),
        )
        .send(21, "u1", 1, "u1-m1")
        .receive(
            30,
            "u1",
            1,
            event("agent_started", "u1", 4, Some("u1-m1"), Some("r1")),
        )
        .receive(
            40,
            "u1",
            1,
            event("tool_completed", "u1", 6, Some("u1-m1"), Some("r1")),
        )
        .receive(
            50,
            "u1",
            1,
            event("agent_completed", "u1", 7, Some("u1-m1"), Some("r1")),
        );
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(
        causes(&v),
        [(Some("u1"), Cause::BadSeq), (Some("u1"), Cause::OutOfOrder)]
    );
}

/// The violations of one connection that receives frames with these
/// `seq`s: `connection_established` first, then `pong`s.
fn seq_violations(seqs: &[u64]) -> Vec<String> {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "u1", 1);
    for (i, seq) in seqs.iter().enumerate() {
        let kind = if i == 0 {
            "connection_established"
        } else {
            "pong"
        };
        s.receive(20 + i as u64, "u1", 1, event(kind, "u1", *seq, None, None));
    }
    check(&s.end(1000), &Expect::default())
        .into_iter()
        .inspect(|v| assert_eq!(v.cause, Cause::BadSeq, "{v:?}"))
        .map(|v| v.detail)
        .collect()
}

#[test]
fn seq_counts_exactly_one_two_three_per_connection() {
    assert!(seq_violations(&[1, 2, 3]).is_empty());
    // A backend whose counter starts anywhere but 1 (or continues from the
    // user's previous connection), skips a number, or repeats one.
    assert_eq!(
        seq_violations(&[14, 15]),
        ["c1 connection_established seq 14: a connection's first seq is 1"]
    );
    assert_eq!(
        seq_violations(&[1, 2, 4]),
        ["c1 pong seq 4 after 2: skipped 1"]
    );
    assert_eq!(seq_violations(&[1, 2, 2]), ["c1 pong seq 2 after 2"]);
}

#[test]
fn seq_restarts_after_a_frame_the_user_could_not_parse() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "u1", 1)
        .receive(
            20,
            "u1",
            1,
            event("connection_established", "u1", 1, None, None),
        );
    let unparseable = Incoming {
        kind: crate::vocab::ReadType::Unparseable,
        ..Incoming::default()
    };
    s.receive(21, "u1", 1, unparseable)
        .receive(22, "u1", 1, event("pong", "u1", 3, None, None));
    let v = check(&s.end(1000), &Expect::default());
    assert!(v.is_empty(), "{v:#?}");
}

#[test]
fn only_a_client_closes_with_1000() {
    // The user closed 1000 itself: normal.
    let mut s = Story::default();
    happy(&mut s, "u1", 1);
    assert!(check(&s.end(1000), &Expect::default()).is_empty());
    // The server closed 1000 first (a shutdown with the library's default
    // code), with the user's message unanswered: event_grammar does not
    // explain liveness away (attribution rule 2), so both are reported.
    let mut s = Story::default();
    chatting(&mut s, "u1", 1, 1).close(50, "u1", 1, 1000, false);
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(
        causes(&v),
        [
            (Some("u1"), Cause::ServerClosed1000),
            (Some("u1"), Cause::Unanswered)
        ],
        "{v:#?}"
    );
}

#[test]
fn a_server_closes_only_with_the_protocol_s_codes_and_reasons() {
    let closed_by_server = |code: u16, reason: &str| {
        let mut s = Story::default();
        s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
            .connect(10, "u1", 1);
        let closed = Kind::Closed {
            conn: 1,
            code,
            reason: reason.into(),
            by_client: false,
        };
        s.client(20, "u1", closed);
        check(&s.end(1000), &Expect::default())
            .into_iter()
            .filter(|v| v.invariant == Invariant::EventGrammar)
            .map(|v| v.cause)
            .collect::<Vec<_>>()
    };
    assert_eq!(closed_by_server(1013, "connection limit 5 reached"), []);
    assert_eq!(
        closed_by_server(1013, "agent pipeline not ready after 30000ms"),
        []
    );
    assert_eq!(closed_by_server(1001, "gateway draining"), []);
    assert_eq!(
        closed_by_server(1006, "connection lost without close frame"),
        []
    );
    assert_eq!(
        closed_by_server(1013, "server busy"),
        [Cause::CloseOutsideProtocol]
    );
    assert_eq!(
        closed_by_server(4000, "custom"),
        [Cause::CloseOutsideProtocol]
    );
}
