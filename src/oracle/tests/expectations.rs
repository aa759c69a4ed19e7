//! `[expect]`: matching violations by invariant, cause, component and
//! reason.

use super::*;

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
    let v = check(
        &super::admission::admitted_behind_a_1013(),
        &Expect::default(),
    );
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
