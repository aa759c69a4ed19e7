//! The oracle on hand-built traces: every invariant, every attribution
//! rule and every expectation form, each with a trace small enough to read.

use std::rc::Rc;
use std::time::Duration;

use super::{Verdict, Violation, check, verdict};
use crate::scenario::{Cause, Expect, Expected, Invariant, Misbehave, TokenKind, TokenVia};
use crate::trace::{
    Component, ConnEvent, ConnId, ConnState, Event, FaultEvent, GatewayEvent, Incoming, Kind,
    PipelineEvent, RequestId, RunId, Trace,
};

const HOUR: Duration = Duration::from_secs(3600);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A trace under construction, in the order events are added.
#[derive(Default)]
struct Story {
    events: Vec<Event>,
    end: Duration,
}

impl Story {
    fn push(&mut self, at: Duration, host: &str, user: Option<&str>, kind: Kind) -> &mut Self {
        self.events.push(Event {
            at,
            host: Rc::from(host),
            user: user.map(Rc::from),
            kind,
        });
        self
    }

    fn client(&mut self, at: u64, user: &str, kind: Kind) -> &mut Self {
        self.push(ms(at), "clients-1", Some(user), kind)
    }

    /// A user holding a `token` sent by `via`, owing `messages` answers;
    /// a valid token lives an hour.
    fn user(&mut self, user: &str, token: TokenKind, via: &[TokenVia], messages: u32) -> &mut Self {
        let declared = Kind::UserDeclared {
            group: 0,
            token,
            via: via.to_vec(),
            messages,
            entitled: token == TokenKind::Valid,
            misbehave: Misbehave::None,
        };
        let issued = Kind::TokenIssued {
            token,
            valid_until: (token == TokenKind::Valid).then_some(HOUR),
            refreshed: false,
        };
        self.client(0, user, declared).client(0, user, issued)
    }

    fn connect(&mut self, at: u64, user: &str, conn: u32) -> &mut Self {
        let kind = Kind::Connecting { conn, attempt: 1 };
        self.client(at, user, kind)
    }

    /// Gateway connection `g1.n` for `user`'s connection `conn`.
    fn gateway(&mut self, at: u64, user: &str, n: u64, event: ConnEvent) -> &mut Self {
        let conn = ConnId { boot: 1, n };
        let kind = Kind::Gateway(GatewayEvent::Conn { conn, event });
        self.push(ms(at), "gateway", Some(user), kind)
    }

    fn accepted(&mut self, at: u64, user: &str, conn: u32, n: u64) -> &mut Self {
        let request = Some(RequestId {
            user: Rc::from(user),
            conn,
        });
        self.gateway(at, user, n, ConnEvent::Accepted { request })
    }

    fn receive(&mut self, at: u64, user: &str, conn: u32, event: Incoming) -> &mut Self {
        self.client(at, user, Kind::Received { conn, event })
    }

    fn send(&mut self, at: u64, user: &str, conn: u32, message: &str) -> &mut Self {
        let frame = crate::trace::Outgoing {
            kind: "user_message".into(),
            message_id: Some(message.into()),
            agent: Some("data_helper".into()),
            bytes: 100,
        };
        self.client(at, user, Kind::Sent { conn, frame })
    }

    fn close(&mut self, at: u64, user: &str, conn: u32, code: u16, by_client: bool) -> &mut Self {
        // A 1013 names its dependency, as the protocol requires.
        let reason = match code {
            1013 => "connection limit 1 reached".to_string(),
            _ => format!("closed {code}"),
        };
        let kind = Kind::Closed {
            conn,
            code,
            reason,
            by_client,
        };
        self.client(at, user, kind)
    }

    fn end(&mut self, at: u64) -> Trace {
        self.end = ms(at);
        Trace {
            events: std::mem::take(&mut self.events),
            end: self.end,
        }
    }
}

/// A server event as the user parsed it.
fn event(kind: &str, user: &str, seq: u64, message: Option<&str>, run: Option<&str>) -> Incoming {
    Incoming {
        kind: kind.into(),
        user_id: Some(user.into()),
        seq: Some(seq),
        run_id: run.map(str::to_string),
        message_id: message.map(str::to_string),
        ..Incoming::default()
    }
}

/// A valid user owing `messages` answers, admitted on gateway connection
/// `g1.n`, established, who has sent `m1`.
fn chatting<'a>(s: &'a mut Story, user: &str, n: u64, messages: u32) -> &'a mut Story {
    let established = event("connection_established", user, 1, None, None);
    s.user(user, TokenKind::Valid, &[TokenVia::Header], messages)
        .connect(10, user, 1)
        .accepted(20, user, 1, n)
        .gateway(30, user, n, ConnEvent::State(ConnState::Authenticated))
        .gateway(31, user, n, ConnEvent::State(ConnState::ProcessingReady))
        .receive(40, user, 1, established)
        .send(41, user, 1, &format!("{user}-m1"))
}

/// A user that connects, is established, sends `m1`, and gets a whole run.
fn happy(s: &mut Story, user: &str, n: u64) {
    let m = format!("{user}-m1");
    let r = format!("g1.{n}.r1");
    chatting(s, user, n, 1)
        .receive(
            50,
            user,
            1,
            event("agent_started", user, 2, Some(&m), Some(&r)),
        )
        .receive(
            60,
            user,
            1,
            event("agent_completed", user, 3, Some(&m), Some(&r)),
        )
        .close(70, user, 1, 1000, true);
}

fn causes(violations: &[Violation]) -> Vec<(Option<&str>, Cause)> {
    violations
        .iter()
        .map(|v| (v.user.as_deref(), v.cause))
        .collect()
}

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
fn admitted_behind_a_1013() -> Trace {
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
        kind: "<unparseable>".into(),
        ..Incoming::default()
    };
    s.receive(21, "u1", 1, unparseable)
        .receive(22, "u1", 1, event("pong", "u1", 3, None, None));
    let v = check(&s.end(1000), &Expect::default());
    assert!(v.is_empty(), "{v:#?}");
}

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

fn expect(list: Vec<Expected>) -> Expect {
    Expect {
        violations: list,
        ..Expect::default()
    }
}

fn precise(
    invariant: Invariant,
    cause: Option<Cause>,
    component: Option<&str>,
    reason: Option<&str>,
) -> Expected {
    Expected {
        invariant,
        cause,
        component: component.map(str::to_string),
        reason: reason.map(str::to_string),
    }
}

#[test]
fn expectations_match_by_invariant_cause_component_and_reason() {
    let mut s = Story::default();
    s.user("u1", TokenKind::Valid, &[TokenVia::Header], 0)
        .connect(10, "u1", 1)
        .accepted(20, "u1", 1, 1);
    let close = ConnEvent::Close {
        code: 1011,
        component: Some(Component::AgentPipeline),
        reason: "agent pipeline: database pool exhausted".into(),
    };
    s.gateway(30, "u1", 1, close);
    s.client(
        31,
        "u1",
        Kind::Closed {
            conn: 1,
            code: 1011,
            reason: "agent pipeline: database pool exhausted".into(),
            by_client: false,
        },
    );
    let v = check(&s.end(1000), &Expect::default());
    let judge = |list: Vec<Expected>| verdict(&v, &expect(list));
    use Invariant::*;
    assert_eq!(judge(vec![]), Verdict::Fail);
    assert_eq!(
        judge(vec![Expected::invariant(No1011)]),
        Verdict::Reproduced
    );
    assert_eq!(judge(vec![Expected::invariant(AuthPolicy)]), Verdict::Fail);
    let cases = [
        (
            precise(No1011, Some(Cause::Closed1011), None, None),
            Verdict::Reproduced,
        ),
        (
            precise(No1011, None, Some("agent_pipeline"), None),
            Verdict::Reproduced,
        ),
        (
            precise(No1011, None, Some("message_router"), None),
            Verdict::Fail,
        ),
        (
            precise(No1011, None, Some("agent_pipeline"), Some("pool exhausted")),
            Verdict::Reproduced,
        ),
        (
            precise(No1011, None, Some("agent_pipeline"), Some("is None")),
            Verdict::Fail,
        ),
    ];
    for (e, want) in cases {
        assert_eq!(judge(vec![e.clone()]), want, "{e}");
    }
    assert_eq!(
        verdict(&[], &expect(vec![Expected::invariant(No1011)])),
        Verdict::Pass
    );
}

#[test]
fn every_expected_entry_of_a_list_may_match_a_different_violation() {
    let v = check(&admitted_behind_a_1013(), &Expect::default());
    let list = vec![
        precise(Invariant::No1011, None, Some("auth_handler"), None),
        precise(
            Invariant::AuthPolicy,
            Some(Cause::AdmittedWithoutValidToken),
            None,
            None,
        ),
    ];
    assert_eq!(verdict(&v, &expect(list)), Verdict::Reproduced);
    let wrong = vec![precise(
        Invariant::AuthPolicy,
        Some(Cause::ValidTokenRefused),
        None,
        None,
    )];
    assert_eq!(verdict(&v, &expect(wrong)), Verdict::Fail);
}

// Evidence for refusals, and capacity.

/// A gateway boot 1 with `max` connections and a pool of `pool`.
fn boot(s: &mut Story, max: u32, pool: u32) -> &mut Story {
    let boot = GatewayEvent::Boot {
        boot: 1,
        startup: ms(0),
        max_connections: max,
    };
    let init = PipelineEvent::Initialising {
        startup: ms(0),
        db_pool: pool,
    };
    s.push(ms(0), "gateway", None, Kind::Gateway(boot)).push(
        ms(0),
        "gateway",
        None,
        Kind::Pipeline(init),
    )
}

fn run_of(n: u64, r: u64) -> RunId {
    RunId {
        conn: ConnId { boot: 1, n },
        n: r,
    }
}

/// `run` of `user` takes a database connection at `at` ms.
fn taken(s: &mut Story, at: u64, user: &str, run: RunId) {
    pool(s, at, user, PipelineEvent::PoolAcquired { run });
}

/// `run` of `user` gives its database connection back at `at` ms.
fn returned(s: &mut Story, at: u64, user: &str, run: RunId) {
    pool(s, at, user, PipelineEvent::PoolReleased { run });
}

fn pool<'a>(s: &'a mut Story, at: u64, user: &str, event: PipelineEvent) -> &'a mut Story {
    s.push(ms(at), "gateway", Some(user), Kind::Pipeline(event))
}

/// `u1`, chatting on g1.1, whose run r1 answers `m1` with `error` `code`
/// at 60 ms; run r1 waited 40 ms for the pool and timed out at 55 ms.
fn refused(s: &mut Story, code: &str) {
    chatting(s, "u1", 1, 1);
    let timeout = PipelineEvent::PoolTimeout {
        run: run_of(1, 1),
        waited: ms(40),
        in_use: 1,
    };
    let started = event("agent_started", "u1", 2, Some("u1-m1"), Some("g1.1.r1"));
    let tool = event("tool_executing", "u1", 3, Some("u1-m1"), Some("g1.1.r1"));
    s.receive(42, "u1", 1, started).receive(43, "u1", 1, tool);
    pool(s, 55, "u1", timeout);
    let mut error = event("error", "u1", 4, Some("u1-m1"), Some("g1.1.r1"));
    error.code = Some(code.into());
    s.receive(60, "u1", 1, error);
}

fn refusal_details(s: &mut Story) -> Vec<String> {
    let v = check(&s.end(1000), &Expect::default());
    v.iter()
        .inspect(|v| assert_eq!(v.cause, Cause::RefusedWithoutCause, "{v:#?}"))
        .map(|v| v.detail.clone())
        .collect()
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

#[test]
fn unknown_type_answers_are_backed_by_unknown_frames() {
    let mut s = Story::default();
    boot(&mut s, 10, 1);
    chatting(&mut s, "u1", 1, 1);
    let frame = crate::trace::Outgoing {
        kind: "typing_indicator".into(),
        message_id: None,
        agent: None,
        bytes: 40,
    };
    s.client(45, "u1", Kind::Sent { conn: 1, frame });
    let mut error = event("error", "u1", 2, None, None);
    error.code = Some("unknown_message_type".into());
    s.receive(50, "u1", 1, error);
    let v = check(
        &s.end(1000),
        &Expect {
            all_answered: false,
            ..Expect::default()
        },
    );
    assert!(v.is_empty(), "{v:#?}");
}

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
            outcome: "stopped at the heal".into(),
        },
    );
    let v = check(&s.end(1000), &Expect::default());
    assert_eq!(causes(&v), [(Some("u1"), Cause::DidNotConverge)], "{v:#?}");
    assert_eq!(
        v[0].detail,
        "still busy 950ms after the heal began: an answer to u1-m1 on c1 (no event of its run)"
    );
}
