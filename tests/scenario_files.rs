//! Scenario files end to end: fixture files in, `Scenario` values or
//! `ScenarioError`s (with line, column and wording) out.
//!
//! Valid fixtures are in `tests/fixtures/scenarios/`, one bad case per file in
//! `tests/fixtures/scenarios/invalid/` so that each expected position is easy
//! to check by eye.

use std::path::{Path, PathBuf};

use stagesim::scenario::{
    self, AgentName, Bugs, Cause, DEFAULT_TOKEN_LIFETIME, Duration, Expected, Fault, FaultKind,
    HOSTS, Host, Invariant, Misbehave, Range, Reconnect, Scenario, ScenarioError, TokenKind,
    TokenVia, UserGroup,
};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios")
        .join(format!("{name}.toml"))
}

fn load(name: &str) -> Scenario {
    scenario::load(&fixture(name)).unwrap_or_else(|error| panic!("{}", error.render()))
}

fn load_error(name: &str) -> ScenarioError {
    match scenario::load(&fixture(name)) {
        Ok(parsed) => panic!("{name} should be rejected, parsed as {parsed:?}"),
        Err(error) => error,
    }
}

/// Parses `text` as if it were the file `<name>.toml`.
fn parse_as(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    scenario::parse(text, Path::new(&format!("scenarios/{name}.toml")))
}

fn parse_error(name: &str, text: &str) -> ScenarioError {
    match parse_as(name, text) {
        Ok(parsed) => panic!("{name} should be rejected, parsed as {parsed:?}"),
        Err(error) => error,
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn assert_error_at(error: &ScenarioError, line: usize, column: usize, words: &[&str]) {
    let rendered = error.render();
    assert_eq!(
        (error.line, error.column),
        (Some(line), Some(column)),
        "wrong position for:\n{rendered}"
    );
    for word in words {
        assert!(
            error.message.contains(word),
            "message lacks {word:?}:\n{rendered}"
        );
    }
}

// ---------------------------------------------------------------- valid files

/// tests/fixtures/scenarios/full.toml sets every key: the world's tables.
#[test]
fn full_file_sets_every_world_key() {
    let s = load("full");
    assert_eq!(s.name, "full");
    assert_eq!(
        s.description,
        "Auth takes 12s to start; the gateway retries, clients back off."
    );
    assert_eq!(s.duration, secs(120));
    assert_eq!(
        s.network.latency,
        Range {
            min: ms(1),
            max: ms(25)
        }
    );
    // Header names are stored lowercased.
    assert_eq!(
        s.load_balancer.strip_headers,
        vec!["authorization".to_owned(), "x-request-id".to_owned()]
    );
    assert_eq!(s.auth.startup, secs(12));
    assert_eq!(
        s.auth.latency,
        Range {
            min: ms(3),
            max: ms(1_500)
        }
    );
    assert_eq!(s.gateway.startup, secs(1));
    assert_eq!(s.gateway.auth_retries, 5);
    assert_eq!(s.gateway.auth_backoff, ms(250));
    assert_eq!(s.gateway.ready_timeout, secs(20));
    assert_eq!(s.gateway.max_connections, 500);
    assert_eq!(s.agents.startup, secs(7));
    assert_eq!(s.agents.db_pool, 4);
    assert_eq!(s.agents.db_acquire_timeout, secs(2));
    assert_eq!(
        s.agents.llm_latency,
        Range {
            min: ms(50),
            max: secs(1)
        }
    );
    assert_eq!(s.agents.tools_per_run, Range { min: 0, max: 4 });
}

/// ... its two user groups, every key of each.
#[test]
fn full_file_sets_every_user_group_key() {
    let s = load("full");
    assert_eq!(
        s.users,
        vec![
            UserGroup {
                count: 20,
                token: TokenKind::Valid,
                send_token_via: vec![TokenVia::Header, TokenVia::Subprotocol],
                arrive: Range {
                    min: secs(0),
                    max: secs(10)
                },
                messages: 3,
                agent: AgentName::DataHelper,
                reconnect: Reconnect {
                    attempts: 2,
                    backoff: ms(750)
                },
                misbehave: Misbehave::None,
                think: Range {
                    min: Duration::ZERO,
                    max: Duration::ZERO
                },
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                refresh_token: true,
            },
            UserGroup {
                count: 3,
                token: TokenKind::BadSignature,
                send_token_via: vec![],
                arrive: Range {
                    min: secs(5),
                    max: secs(5)
                },
                messages: 0,
                agent: AgentName::Triage,
                reconnect: Reconnect {
                    attempts: 0,
                    backoff: secs(1)
                },
                misbehave: Misbehave::None,
                think: Range {
                    min: Duration::ZERO,
                    max: Duration::ZERO
                },
                token_lifetime: DEFAULT_TOKEN_LIFETIME,
                refresh_token: true,
            },
        ]
    );
}

/// ... and its faults, bugs and expectations.
#[test]
fn full_file_sets_every_fault_bug_and_expectation() {
    let s = load("full");
    assert_eq!(
        s.faults,
        vec![
            Fault::Partition {
                between: [Host::Gateway, Host::Auth],
                at: secs(20),
                lasts: secs(4),
            },
            Fault::Hold {
                between: [Host::Lb, Host::Clients],
                at: secs(30),
                lasts: ms(500),
            },
            Fault::Crash {
                host: Host::Auth,
                at: secs(40),
                lasts: secs(3),
            },
            Fault::Restart {
                host: Host::Gateway,
                at: secs(60),
                takes: Duration::ZERO,
            },
        ]
    );
    assert_eq!(
        s.bugs.enabled(),
        vec!["auth_failure_closes_1011", "orchestrator_singleton"]
    );
    assert!(!s.expect.all_answered);
    assert_eq!(
        s.expect.violations,
        vec![
            Expected::invariant(Invariant::No1011),
            Expected::invariant(Invariant::Liveness)
        ]
    );
}

#[test]
fn design_example_parses() {
    let s = load("slow_auth_startup");
    assert_eq!(s.auth.startup, secs(12));
    assert_eq!(s.users[0].count, 20);
    assert_eq!(s.faults[0].kind(), FaultKind::Partition);
    assert_eq!(s.bugs, Bugs::default());
}

/// The complete example in docs/scenario-format.md must stay valid.
#[test]
fn documented_example_parses() {
    let doc = include_str!("../docs/scenario-format.md");
    let example = doc
        .split("## Complete example")
        .nth(1)
        .and_then(|section| section.split("```toml\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the doc has a ```toml block");
    let s = parse_as("slow_auth_startup", example).unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(s.faults.len(), 2);
}

#[test]
fn omitted_tables_and_keys_take_their_defaults() {
    let s = load("minimal");
    assert_eq!(s.name, "minimal");
    assert_eq!(s.description, "");
    assert_eq!(s.duration, secs(120));
    assert_eq!(s.world.schedule, stagesim::scenario::Schedule::Fifo);
    assert_eq!(
        s.network.latency,
        Range {
            min: ms(1),
            max: ms(10)
        }
    );
    assert!(s.load_balancer.strip_headers.is_empty());
    assert_eq!(s.auth.startup, Duration::ZERO);
    assert_eq!(
        s.auth.latency,
        Range {
            min: ms(2),
            max: ms(10)
        }
    );
    assert_eq!(s.gateway.startup, Duration::ZERO);
    assert_eq!(s.gateway.auth_retries, 3);
    assert_eq!(s.gateway.auth_backoff, secs(1));
    assert_eq!(s.gateway.ready_timeout, secs(30));
    assert_eq!(s.gateway.max_connections, 1000);
    assert_eq!(s.agents.startup, Duration::ZERO);
    assert_eq!(s.agents.db_pool, 10);
    assert_eq!(s.agents.db_acquire_timeout, secs(5));
    assert_eq!(
        s.agents.llm_latency,
        Range {
            min: ms(100),
            max: ms(900)
        }
    );
    assert_eq!(s.agents.tools_per_run, Range { min: 1, max: 3 });
    assert!(s.users.is_empty());
    assert!(s.faults.is_empty());
    assert_eq!(s.bugs, Bugs::default());
    assert!(s.bugs.enabled().is_empty());
    assert!(s.expect.all_answered);
    assert!(s.expect.violations.is_empty());
}

#[test]
fn omitted_keys_inside_a_table_take_their_defaults() {
    let s = parse_as(
        "partial",
        "name = \"partial\"\n[gateway]\nauth_retries = 0\n[[users]]\ncount = 5\nreconnect = { attempts = 1 }\n",
    )
    .unwrap();
    assert_eq!(s.gateway.auth_retries, 0);
    assert_eq!(s.gateway.max_connections, 1000);
    assert_eq!(
        s.users,
        vec![UserGroup {
            count: 5,
            token: TokenKind::Valid,
            send_token_via: vec![TokenVia::Header],
            arrive: Range {
                min: Duration::ZERO,
                max: Duration::ZERO
            },
            messages: 1,
            agent: AgentName::DataHelper,
            reconnect: Reconnect {
                attempts: 1,
                backoff: ms(500)
            },
            misbehave: Misbehave::None,
            think: Range {
                min: Duration::ZERO,
                max: Duration::ZERO
            },
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            refresh_token: true,
        }]
    );
}

// ------------------------------------------------------------------ bad files

#[test]
fn unknown_nested_key_suggests_the_right_one() {
    let error = load_error("invalid/unknown_nested_key");
    assert_error_at(
        &error,
        5,
        1,
        &[
            "unknown key `retries` in [gateway]",
            "expected one of",
            "`auth_retries`",
        ],
    );
    assert!(error.render().contains("did you mean `auth_retries`?"));
}

#[test]
fn both_partitions_and_the_tcp_user_timeout_parse() {
    let s = parse_as(
        "x",
        "name = \"x\"\n[network]\ntcp_user_timeout = \"20s\"\n\
         [[faults]]\nkind = \"lossy_partition\"\nbetween = [\"lb\", \"gateway\"]\nat = \"1s\"\nfor = \"2s\"\n\
         [[faults]]\nkind = \"partition\"\nbetween = [\"lb\", \"gateway\"]\nat = \"5s\"\nfor = \"2s\"\n",
    )
    .unwrap_or_else(|e| panic!("{}", e.render()));
    assert_eq!(s.network.tcp_user_timeout, Some(secs(20)));
    let kinds: Vec<FaultKind> = s.faults.iter().map(|f| f.kind()).collect();
    assert_eq!(kinds, [FaultKind::LossyPartition, FaultKind::Partition]);
    assert!(kinds.iter().all(FaultKind::is_link));
    assert_eq!(load("full").network.tcp_user_timeout, None);
}

/// Every invalid fixture under `tests/fixtures/scenarios/invalid/` that
/// the table names: refused at its line and column, with these words in
/// the message. One row per broken rule, so a new rule is a new row.
#[test]
fn each_invalid_fixture_is_refused_where_and_why() {
    #[rustfmt::skip]
    let table: &[(&str, usize, usize, &[&str])] = &[
        ("unknown_top_level_key", 3, 1, &["unknown top-level key `retries`", "`duration`"]),
        ("unknown_bug", 5, 1, &["unknown bug `orchestrator_singelton`", "`orchestrator_singleton`"]),
        ("string_for_number", 4, 16, &["`gateway.auth_retries`", "expected a whole number", "found string \"3\""]),
        ("number_for_duration", 4, 11, &["`agents.startup`", "expected a duration string like \"7s\"", "number 7"]),
        ("duration_without_unit", 2, 12, &["\"7\" has no unit", "expected a number and a unit"]),
        ("duration_with_space", 4, 11, &["\"7 s\" contains a space", "expected a number and a unit"]),
        ("duration_negative", 4, 16, &["\"-1s\" is negative", "expected a number and a unit"]),
        ("duration_unknown_unit", 4, 17, &["unknown unit \"x\"", "expected a number and a unit"]),
        ("duration_empty", 6, 6, &["the duration is empty", "expected a number and a unit"]),
        ("range_min_above_max", 4, 11, &["`network.latency`", "minimum \"25ms\" is greater than the maximum \"1ms\""]),
        ("range_one_element", 4, 15, &["`agents.llm_latency`", "two-element array", "found 1 element"]),
        ("range_three_elements", 4, 17, &["`agents.tools_per_run`", "found 3 elements"]),
        ("name_mismatch", 2, 8, &["\"slow_auth_startup\"", "\"name_mismatch\""]),
        ("missing_name", 1, 1, &["no `name`", "name = \"missing_name\""]),
        ("bad_token_kind", 5, 9, &["unknown token kind `stolen`", "`valid`", "`bad_signature`"]),
        ("bad_fault_kind", 4, 8, &["unknown fault kind `meteor`", "`partition`", "`restart`"]),
        ("fault_missing_between", 9, 1, &["partition fault needs `between`"]),
        ("fault_unknown_host", 5, 23, &["unknown host \"database\"", "`lb`", "`clients`"]),
        ("bad_invariant", 4, 26, &["unknown invariant `no_1012`", "`no_1011`", "`accounting`"]),
        ("expect_unknown_key", 4, 40, &["unknown key `compnent`", "`component`"]),
        ("expect_cause_of_other_invariant", 5, 38, &["\"events_lost\" breaks `isolation`, not `no_1011`", "`closed_1011`"]),
        ("expect_component_off_1011", 4, 44, &["`component` narrows a `no_1011` expectation"]),
        ("expect_unknown_component", 4, 52, &["unknown component \"router\"", "`message_router`"]),
        ("token_lifetime_too_short", 5, 18, &["`token_lifetime` is 30s", "from 2m"]),
        ("syntax_error", 3, 9, &["TOML syntax error", "expected `]`"]),
    ];
    for (name, line, column, words) in table {
        let error = load_error(&format!("invalid/{name}"));
        assert_error_at(&error, *line, *column, words);
    }
}

/// Scenario texts refused where and why: the same check for rules that
/// read better inline than as a fixture file.
#[test]
fn each_invalid_text_is_refused_where_and_why() {
    #[rustfmt::skip]
    let table: &[(&str, usize, usize, &[&str])] = &[
        ("name = \"x\"\n[[users]]\nreconnect = { attempts = 1, tries = 2 }\n", 3, 29, &["unknown key `tries`", "`attempts` or `backoff`"]),
        ("name = \"x\"\n[network]\ntcp_user_timeout = \"0s\"\n", 3, 20, &["`tcp_user_timeout` is 0s", "greater than 0s"]),
        ("name = \"x\"\nname = \"x\"\n", 2, 1, &["`name` is defined twice"]),
        ("name = \"x\"\n[users]\ncount = 1\n", 2, 1, &["expected an array", "[[users]]"]),
    ];
    for (text, line, column, words) in table {
        let error = parse_error("x", text);
        assert_error_at(&error, *line, *column, words);
    }
}

#[test]
fn unreadable_file_has_no_position() {
    let error = load_error("does_not_exist");
    assert_eq!((error.line, error.column), (None, None));
    assert!(error.message.contains("cannot read the scenario file"));
    assert!(error.to_string().ends_with(&format!(": {}", error.message)));
}

// ----------------------------------------------------------- validation rules

#[test]
fn validation_rules_point_at_the_offending_value() {
    #[rustfmt::skip]
    let cases: &[(&str, usize, usize, &[&str])] = &[
        ("duration = \"0s\"\n", 2, 12, &["`duration` is 0s", "greater than 0s"]),
        ("[gateway]\nmax_connections = 0\n", 3, 19, &["`max_connections` is 0", "at least 1"]),
        ("[agents]\ndb_pool = 0\n", 3, 11, &["`db_pool` is 0", "at least 1"]),
        ("[[users]]\ncount = 0\n", 3, 9, &["`count` is 0", "at least 1"]),
        ("[[users]]\nsend_token_via = [\"header\", \"header\"]\n", 3, 29, &["\"header\" is listed twice"]),
        ("[load_balancer]\nstrip_headers = [\"authorization\", \"x token\"]\n", 3, 35, &["\"x token\" is not a header name"]),
        ("[load_balancer]\nstrip_headers = [\"\"]\n", 3, 18, &["\"\" is not a header name"]),
        ("[[faults]]\nkind = \"hold\"\nbetween = [\"lb\", \"lb\"]\nat = \"1s\"\nfor = \"1s\"\n", 4, 11, &["between \"lb\" and itself", "two different hosts"]),
        ("[[faults]]\nkind = \"partition\"\nbetween = [\"lb\", \"auth\"]\nhost = \"lb\"\nat = \"1s\"\nfor = \"1s\"\n", 5, 1, &["takes `between`, not `host`"]),
        ("[[faults]]\nkind = \"crash\"\nat = \"1s\"\nfor = \"1s\"\n", 2, 1, &["crash fault needs `host`"]),
        ("[[faults]]\nkind = \"crash\"\nhost = \"auth\"\nbetween = [\"lb\", \"auth\"]\nat = \"1s\"\nfor = \"1s\"\n", 5, 1, &["takes `host`, not `between`"]),
        ("[[faults]]\nkind = \"crash\"\nhost = \"db\"\nat = \"1s\"\nfor = \"1s\"\n", 4, 8, &["unknown host \"db\""]),
        ("[[faults]]\nkind = \"crash\"\nhost = \"auth\"\nat = \"1s\"\n", 2, 1, &["crash fault needs `for`"]),
        ("[[faults]]\nkind = \"hold\"\nbetween = [\"lb\", \"auth\"]\nat = \"1s\"\nfor = \"0s\"\n", 6, 7, &["lasting 0s", "greater than 0s"]),
        ("duration = \"10s\"\n[[faults]]\nkind = \"restart\"\nhost = \"auth\"\nat = \"10s\"\n", 6, 6, &["starts at 10s", "ends at 10s", "less than `duration`"]),
        ("[[faults]]\nkind = \"restart\"\nhost = \"auth\"\n", 2, 1, &["missing the required key `at`"]),
        ("[[faults]]\nkind = \"hold\"\nbetween = [\"lb\"]\nat = \"1s\"\nfor = \"1s\"\n", 4, 11, &["`faults.between`", "two elements", "found 1 element"]),
    ];
    for (body, line, column, words) in cases {
        let text = format!("name = \"x\"\n{body}");
        let error = parse_error("x", &text);
        assert_error_at(&error, *line, *column, words);
    }
}

#[test]
fn zero_values_that_are_allowed() {
    let s = parse_as(
        "zeros",
        "name = \"zeros\"\n[[users]]\nmessages = 0\nreconnect = { attempts = 0 }\n\
         [agents]\ntools_per_run = [0, 0]\n\
         [[faults]]\nkind = \"restart\"\nhost = \"gateway\"\nat = \"0s\"\nfor = \"0s\"\n",
    )
    .unwrap();
    assert_eq!(s.users[0].messages, 0);
    assert_eq!(s.users[0].reconnect.attempts, 0);
    assert_eq!(s.agents.tools_per_run, Range { min: 0, max: 0 });
    assert_eq!(s.faults[0].lasts(), Some(Duration::ZERO));
}

// ------------------------------------------------------------ error rendering

#[test]
fn render_is_a_rustc_style_snippet_without_colours() {
    let error = load_error("invalid/unknown_nested_key");
    let path = fixture("invalid/unknown_nested_key");
    let expected = format!(
        "error: {}\n --> {}:5:1\n  |\n5 | retries = 3\n  | ^^^^^^^ did you mean `auth_retries`?",
        error.message,
        path.display()
    );
    // No trailing newline: callers print it with `eprintln!`.
    assert_eq!(error.render(), expected);
    assert!(!error.render().contains('\u{1b}'));
    assert_eq!(
        error.to_string(),
        format!("{}:5:1: {}", path.display(), error.message)
    );
    let _: &dyn std::error::Error = &error;
}

#[test]
fn columns_are_counted_in_characters() {
    let error = parse_error("x", "name = \"x\"\ndescription = \"é\"; retries = 3\n");
    // `;` is the 18th character of the line (but the 19th byte).
    assert_eq!((error.line, error.column), (Some(2), Some(18)));
}

/// Mutates the full fixture thousands of ways; every result must be a
/// `Scenario` or an error with a position inside the text, never a panic.
#[test]
fn no_input_makes_the_parser_panic() {
    let original = std::fs::read_to_string(fixture("full")).unwrap();
    let chars: Vec<char> = original.chars().collect();
    let inserts = [
        '"', '[', ']', '=', '\n', '{', '}', ',', '0', '-', 'é', '\t', '#', '.', 's',
    ];
    // A fixed LCG: the same mutations on every run, no dependency needed.
    let mut state: u64 = 0x5eed;
    let mut next = |bound: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 33) as usize) % bound.max(1)
    };
    let path = Path::new("full.toml");
    for round in 0..3_000 {
        let mut text = chars.clone();
        for _ in 0..1 + next(3) {
            let at = next(text.len() + 1);
            match next(4) {
                0 if at < text.len() => {
                    text.remove(at);
                }
                1 => text.insert(at, inserts[next(inserts.len())]),
                2 => text.truncate(at),
                _ if at < text.len() => text[at] = inserts[next(inserts.len())],
                _ => {}
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(error) = scenario::parse(&text, path) {
            let lines = text.split('\n').count();
            let line = error.line.expect("parse errors have a line");
            assert!(line <= lines, "round {round}: line {line} of {lines}");
            assert!(error.column.is_some());
            assert!(error.render().starts_with("error: "));
        }
    }
}

// ----------------------------------------------------------------- round trip

fn reparse(s: &Scenario) -> Scenario {
    let text = scenario::to_toml(s);
    parse_as(&s.name, &text).unwrap_or_else(|error| panic!("{}\n{text}", error.render()))
}

#[test]
fn to_toml_round_trips_the_fixtures() {
    for name in ["full", "minimal", "slow_auth_startup"] {
        let s = load(name);
        assert_eq!(reparse(&s), s, "{name}");
    }
}

#[test]
fn to_toml_round_trips_variants() {
    let full = load("full");

    let mut odd_durations = full.clone();
    odd_durations.duration = ms(90_001);
    odd_durations.network.latency = Range {
        min: ms(0),
        max: ms(1_500),
    };
    odd_durations.gateway.auth_backoff = Duration::from_secs(3_600);
    *odd_durations.faults[3].lasts_mut().unwrap() = Duration::ZERO;
    *odd_durations.faults[0].at_mut() = ms(7);

    let mut emptied = full.clone();
    emptied.users.clear();
    emptied.faults.clear();
    emptied.load_balancer.strip_headers.clear();
    emptied.expect.violations.clear();
    emptied.description = "quotes \" and\nnewlines, é".to_owned();

    let mut all_bugs = full.clone();
    for name in Bugs::NAMES {
        all_bugs.bugs.set(name, true).unwrap();
    }
    all_bugs.expect.violations = Invariant::ALL
        .iter()
        .map(|&i| Expected::invariant(i))
        .collect();
    // The precise form round-trips too.
    all_bugs.expect.violations.push(Expected {
        invariant: Invariant::No1011,
        cause: Some(Cause::Closed1011),
        component: Some("message_router".into()),
        reason: Some("KeyError(\"x\")".into()),
    });
    all_bugs.users[0].token_lifetime = Duration::from_secs(300);
    all_bugs.users[0].refresh_token = false;
    all_bugs.users[0].send_token_via = vec![TokenVia::Subprotocol];
    all_bugs.users[1].token = TokenKind::Missing;
    all_bugs.users[1].agent = AgentName::UvsReporting;

    let mut no_faults = full.clone();
    no_faults.faults.clear();

    for variant in [odd_durations, emptied, all_bugs, no_faults] {
        assert_eq!(reparse(&variant), variant);
    }
}

#[test]
fn to_toml_uses_the_contract_spelling() {
    let text = scenario::to_toml(&load("full"));
    for line in [
        "duration = \"2m\"",
        "latency = [\"3ms\", \"1500ms\"]",
        "for = \"4s\"",
        "tools_per_run = [0, 4]",
        "violations = [\"no_1011\", \"liveness\"]",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
}

// ---------------------------------------------------------------- small APIs

#[test]
fn bugs_set_rejects_unknown_names_listing_the_known_ones() {
    let mut bugs = Bugs::default();
    let message = bugs.set("orchestrator", true).unwrap_err();
    assert!(message.contains("unknown bug `orchestrator`"), "{message}");
    for name in Bugs::NAMES {
        assert!(message.contains(name), "{message}");
    }
    assert_eq!(bugs, Bugs::default());
    bugs.set("no_auth_retry", true).unwrap();
    assert!(bugs.no_auth_retry);
    assert_eq!(bugs.enabled(), vec!["no_auth_retry"]);
}

#[test]
fn names_print_as_in_scenario_files() {
    assert_eq!(Invariant::No1011.to_string(), "no_1011");
    assert_eq!(Invariant::EventGrammar.as_str(), "event_grammar");
    assert!(Invariant::No1011 < Invariant::Accounting);
    assert_eq!(AgentName::UvsReporting.as_str(), "uvs_reporting");
    assert_eq!(TokenKind::BadSignature.to_string(), "bad_signature");
    assert_eq!(FaultKind::Restart.as_str(), "restart");
    assert_eq!(HOSTS, ["lb", "gateway", "auth", "clients"]);
}

#[test]
fn durations_parse_and_format() {
    assert_eq!(scenario::parse_duration("1.5s"), Ok(ms(1_500)));
    assert_eq!(scenario::parse_duration("2m"), Ok(secs(120)));
    assert!(scenario::parse_duration("7").is_err());
    assert_eq!(scenario::format_duration(ms(1_500)), "1500ms");
    assert_eq!(scenario::format_duration(secs(120)), "2m");
    assert_eq!(scenario::format_duration(Duration::ZERO), "0s");
}

/// The documented extensions: `[network] tick`, `[[users]] misbehave` and
/// `think`, `[[faults]] kind = "drain"`; and their errors.
#[test]
fn extension_keys_parse_and_are_checked() {
    let text = r#"name = "ext"
[network]
tick = "5ms"
[[users]]
misbehave = "oversized"
think = ["30s", "90s"]
[[faults]]
kind = "drain"
host = "gateway"
at = "10s"
for = "3s"
"#;
    let s = scenario::parse(text, Path::new("ext.toml")).unwrap();
    assert_eq!(s.network.tick, Duration::from_millis(5));
    assert_eq!(s.users[0].misbehave, Misbehave::Oversized);
    assert_eq!(
        s.users[0].think,
        Range {
            min: Duration::from_secs(30),
            max: Duration::from_secs(90)
        }
    );
    assert_eq!(s.faults[0].kind(), FaultKind::Drain);
    assert_eq!(
        scenario::parse(&scenario::to_toml(&s), Path::new("ext.toml")).unwrap(),
        s
    );

    let bad = |text: &str, line: usize, column: usize, words: &str| {
        let e = scenario::parse(text, Path::new("bad.toml")).unwrap_err();
        assert_eq!(
            (e.line, e.column),
            (Some(line), Some(column)),
            "{}",
            e.render()
        );
        assert!(e.message.contains(words), "{}", e.render());
    };
    bad(
        "name = \"bad\"\n[network]\ntick = \"500ms\"\n",
        3,
        8,
        "from \"1ms\" to \"100ms\"",
    );
    bad(
        "name = \"bad\"\n[[faults]]\nkind = \"drain\"\nhost = \"auth\"\nat = \"1s\"\nfor = \"1s\"\n",
        4,
        8,
        "drain fault drains the gateway",
    );
    bad(
        "name = \"bad\"\n[[faults]]\nkind = \"crash\"\nhost = \"clients\"\nat = \"1s\"\nfor = \"1s\"\n",
        4,
        8,
        "cannot target \"clients\"",
    );
    bad(
        "name = \"bad\"\n[[users]]\nmisbehave = \"rude\"\n",
        3,
        13,
        "misbehaviour",
    );
}

/// The byte-level faults' own keys: each kind its key, on a link of `lb`,
/// with the error where the mistake is.
#[test]
fn byte_level_faults_are_checked_where_they_are_written() {
    let head = "name = \"b\"\nduration = \"60s\"\n\n[[faults]]\n";
    let cases: [(&str, usize, usize, &[&str]); 6] = [
        (
            "kind = \"slice\"\nbetween = [\"clients\", \"lb\"]\nat = \"1s\"\nfor = \"2s\"\n",
            4,
            1,
            &["slice fault needs `bytes`"],
        ),
        (
            "kind = \"slice\"\nbetween = [\"clients\", \"lb\"]\nat = \"1s\"\nfor = \"2s\"\nbytes = 0\n",
            9,
            9,
            &["`bytes` is 0"],
        ),
        (
            "kind = \"reset\"\nbetween = [\"lb\", \"gateway\"]\nat = \"1s\"\nfor = \"2s\"\n",
            8,
            1,
            &["reset fault happens at `at` and takes no `for`"],
        ),
        (
            "kind = \"latency\"\nbetween = [\"gateway\", \"auth\"]\nat = \"1s\"\nfor = \"2s\"\ndelay = \"1s\"\n",
            6,
            11,
            &["a link of \"lb\""],
        ),
        (
            "kind = \"partition\"\nbetween = [\"gateway\", \"auth\"]\nat = \"1s\"\nfor = \"2s\"\nrate = \"8KiB/s\"\n",
            9,
            1,
            &["partition fault takes no `rate`"],
        ),
        (
            "kind = \"bandwidth\"\nbetween = [\"lb\", \"gateway\"]\nat = \"1s\"\nfor = \"2s\"\nrate = \"8KB/s\"\n",
            9,
            8,
            &["KiB/s"],
        ),
    ];
    for (fault, line, column, words) in cases {
        let error = parse_error("b", &format!("{head}{fault}"));
        assert_error_at(&error, line, column, words);
    }
    let ok = "kind = \"bandwidth\"\nbetween = [\"lb\", \"gateway\"]\nat = \"1s\"\nfor = \"2s\"\nrate = \"8KiB/s\"\n";
    let parsed = parse_as("b", &format!("{head}{ok}")).expect("a valid bandwidth fault");
    assert!(matches!(
        parsed.faults[0],
        Fault::Bandwidth {
            bytes_per_sec: 8192,
            ..
        }
    ));
    let back = scenario::to_toml(&parsed);
    assert!(back.contains("rate = \"8KiB/s\""), "{back}");
}

/// A skew names a host that reads wall time, and a nonzero signed `by`.
#[test]
fn skew_faults_are_checked_where_they_are_written() {
    let head = "name = \"s\"\nduration = \"60s\"\n\n[[faults]]\nkind = \"skew\"\nat = \"1s\"\nfor = \"2s\"\n";
    let cases: [(&str, usize, usize, &[&str]); 3] = [
        ("host = \"auth\"\n", 4, 1, &["skew fault needs `by`"]),
        ("host = \"auth\"\nby = \"0s\"\n", 9, 6, &["`by` is 0s"]),
        (
            "host = \"gateway\"\nby = \"-90s\"\n",
            8,
            8,
            &["host = \"auth\"", "not \"gateway\""],
        ),
    ];
    for (fault, line, column, words) in cases {
        let error = parse_error("s", &format!("{head}{fault}"));
        assert_error_at(&error, line, column, words);
    }
    let parsed =
        parse_as("s", &format!("{head}host = \"clients\"\nby = \"-90s\"\n")).expect("valid");
    assert!(matches!(
        parsed.faults[0],
        Fault::Skew { by_ms: -90_000, .. }
    ));
    assert!(scenario::to_toml(&parsed).contains("by = \"-90s\""));
}
