//! Live mode's switch (`net`): the same services, on real sockets on
//! 127.0.0.1 (free ports) and the machine's clock, serve a WebSocket client
//! that knows nothing of stagesim: tokio-tungstenite's own `connect_async`
//! to a `ws://127.0.0.1:PORT/ws` URL.
//!
//! Everything runs in this test's process on one thread; the servers stop
//! when the test's runtime is dropped. Every wait has a deadline, so a
//! broken server fails the test instead of hanging it.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use stagesim::net::{AUTH, GATEWAY, LB, LiveNet, go_live};
use stagesim::oracle::Verdict;
use stagesim::scenario::{Cause, Scenario, TokenKind};
use stagesim::services::backend::Backend;
use stagesim::trace::{Kind, Recorder};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Long enough for any step on a loaded machine; a hang fails here.
const DEADLINE: Duration = Duration::from_secs(30);

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Run `body` against lb + gateway + auth serving `scenario` live, with
/// the address of lb; returns the recorded trace's events.
fn with_live_backend<F, Fut>(scenario: &Scenario, body: F) -> Vec<stagesim::trace::Event>
where
    F: FnOnce(SocketAddr) -> Fut,
    Fut: Future<Output = ()>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let local = tokio::task::LocalSet::new();
    let recorder = Recorder::new();
    local.block_on(&rt, async {
        let any: SocketAddr = "127.0.0.1:0".parse().expect("an address");
        let net = LiveNet::bind(&[(LB, any), (GATEWAY, any), (AUTH, any)]).expect("free ports");
        let (_live, net) = go_live(net);
        Backend::new(scenario, 1, &recorder).spawn_local();
        let lb = net.addr(LB).expect("lb has an address");
        tokio::time::timeout(DEADLINE * 2, body(lb))
            .await
            .expect("the exchange finished before its deadline");
    });
    recorder.finish(Duration::ZERO).events
}

async fn connect(lb: SocketAddr, token: &str) -> Ws {
    let mut request = format!("ws://{lb}/ws")
        .into_client_request()
        .expect("a URL");
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("ascii"),
    );
    let (ws, _) = tokio::time::timeout(DEADLINE, tokio_tungstenite::connect_async(request))
        .await
        .expect("the upgrade answered in time")
        .expect("the upgrade succeeded");
    ws
}

/// The next text frame as JSON, or the close frame's code.
async fn next(ws: &mut Ws) -> Result<Value, u16> {
    loop {
        let msg = tokio::time::timeout(DEADLINE, ws.next())
            .await
            .expect("a frame in time")
            .expect("the stream is open")
            .expect("a valid frame");
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(&t).expect("JSON")),
            Message::Close(frame) => return Err(frame.map_or(1005, |f| u16::from(f.code))),
            _ => {}
        }
    }
}

fn token(kind: TokenKind) -> String {
    let now = stagesim::net::since_epoch();
    stagesim::tokens::mint(kind, "user-0001", now, Duration::from_secs(3600)).expect("a token")
}

#[test]
fn a_real_client_chats_through_lb_and_closes_normally() {
    let scenario = Scenario::with_defaults("live");
    let events = with_live_backend(&scenario, |lb| async move {
        let mut ws = connect(lb, &token(TokenKind::Valid)).await;
        let hello = next(&mut ws).await.expect("an event");
        assert_eq!(hello["type"], "connection_established", "{hello}");
        let ask =
            json!({"type": "user_message", "message_id": "m1", "agent": "triage", "text": "hi"});
        ws.send(Message::text(ask.to_string())).await.expect("send");
        let mut kinds = Vec::new();
        loop {
            let event = next(&mut ws).await.expect("an agent event");
            assert_eq!(event["message_id"], "m1", "{event}");
            kinds.push(event["type"].as_str().expect("a type").to_string());
            if event["type"] == "agent_completed" {
                break;
            }
        }
        assert_eq!(
            kinds.first().map(String::as_str),
            Some("agent_started"),
            "{kinds:?}"
        );
        let bye = CloseFrame {
            code: CloseCode::Normal,
            reason: "done".into(),
        };
        ws.close(Some(bye)).await.expect("close");
        assert_eq!(next(&mut ws).await, Err(1000), "the gateway echoes 1000");
    });
    // The trace carries real elapsed time and the gateway's own account.
    let last = events.last().expect("events were recorded");
    assert!(last.at > Duration::ZERO, "real time was recorded: {last:?}");
    assert!(
        events.windows(2).all(|w| w[0].at <= w[1].at),
        "time never goes back"
    );
    assert!(
        events.iter().any(|e| matches!(&e.kind, Kind::Gateway(_))),
        "the gateway recorded its side"
    );
}

#[test]
fn a_real_client_with_a_bad_token_is_closed_1008() {
    let scenario = Scenario::with_defaults("live");
    with_live_backend(&scenario, |lb| async move {
        let mut ws = connect(lb, &token(TokenKind::BadSignature)).await;
        assert_eq!(next(&mut ws).await, Err(1008));
    });
}

#[test]
fn stagesim_serve_accepts_tokens_from_stagesim_token_with_the_same_secret() {
    let served = support::Served::start("live-test-secret");
    let good = support::token_from_cli(&["--user", "alice", "--secret", "live-test-secret"]);
    let other = support::token_from_cli(&["--user", "mallory"]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let lb: SocketAddr = served
            .url()
            .trim_start_matches("ws://")
            .trim_end_matches("/ws")
            .parse()
            .expect("host:port");
        let mut ws = connect(lb, &good).await;
        let hello = next(&mut ws).await.expect("an event");
        assert_eq!(hello["type"], "connection_established", "{hello}");
        assert_eq!(hello["user_id"], "alice", "{hello}");
        let ask = json!({"type": "user_message", "message_id": "m1", "agent": "data_helper", "text": "rows?"});
        ws.send(Message::text(ask.to_string())).await.expect("send");
        loop {
            let event = next(&mut ws).await.expect("an agent event");
            if event["type"] == "agent_completed" {
                break;
            }
        }
        // Signed with the default secret, not the one serve was given.
        let mut refused = connect(lb, &other).await;
        assert_eq!(next(&mut refused).await, Err(1008));
    });
}

#[test]
fn serve_on_an_address_in_use_is_a_usage_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = taken.local_addr().expect("its address").to_string();
    let stderr = usage_error(&["serve", "--listen", &addr, "--for", "1s"]);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "stderr: {stderr}"
    );
}

/// What one user saw, without times or ids that depend on arrival order
/// (connection numbers, run ids): the kinds of frames sent and received and
/// the close codes, in order.
fn story(trace: &[stagesim::trace::Event], user: &str) -> Vec<String> {
    trace
        .iter()
        .filter(|e| e.user.as_deref() == Some(user))
        .filter_map(|e| match &e.kind {
            Kind::Sent { frame, .. } => Some(format!("-> {}", frame.kind)),
            Kind::Received { event, .. } => Some(format!("<- {}", event.kind)),
            Kind::Closed {
                code, by_client, ..
            } => Some(format!("closed {code} {by_client}")),
            Kind::HttpRejected { status, .. } => Some(format!("rejected {status}")),
            _ => None,
        })
        .collect()
}

fn users(trace: &[stagesim::trace::Event]) -> Vec<String> {
    let mut names: Vec<String> = trace
        .iter()
        .filter(|e| matches!(e.kind, Kind::UserDeclared { .. }))
        .filter_map(|e| e.user.as_deref().map(str::to_string))
        .collect();
    names.dedup();
    names
}

#[test]
fn live_and_simulated_runs_agree_on_verdict_and_what_each_user_saw() {
    let files: [&'static str; 4] = [
        "scenarios/golden_path.toml",
        "scenarios/header_stripping.toml",
        "scenarios/invalid_tokens.toml",
        "scenarios/slow_agent_startup.toml",
    ];
    let seed = 1;
    // Live runs take real seconds: run the four side by side, one thread
    // (and one live network) each.
    let handles: Vec<_> = files
        .iter()
        .map(|&file| std::thread::spawn(move || compare_live_and_simulated(file, seed)))
        .collect();
    let failures: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().expect("the comparison finished").err())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Run `file` live and simulated with `seed`; `Err` says how they differ.
fn compare_live_and_simulated(file: &str, seed: u64) -> Result<(), String> {
    let scenario = stagesim::scenario::load(std::path::Path::new(file))
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let live = stagesim::live::run(&scenario, seed, &Default::default()).expect("runs live");
    let sim = stagesim::run::run(&scenario, seed);
    let replay = format!(
        "reproduce: cargo run --release -- live {file} --seed {seed} (and `run` for the simulation)"
    );
    if live.time_label() != "real time" || sim.time_label() != "sim time" {
        return Err(format!(
            "{file}: reports must say which clock their times are on"
        ));
    }
    if live.verdict != sim.verdict || !live.violations.is_empty() {
        return Err(format!(
            "{file}: live {} with {:?}, simulated {}\n{replay}",
            live.verdict, live.violations, sim.verdict
        ));
    }
    for user in users(&sim.trace.events) {
        let (l, s) = (
            story(&live.trace.events, &user),
            story(&sim.trace.events, &user),
        );
        if l != s {
            return Err(format!(
                "{file}: {user} saw\n  live {l:?}\n  sim  {s:?}\n{replay}"
            ));
        }
    }
    Ok(())
}

#[test]
fn live_refuses_a_fault_it_cannot_honour_and_says_why() {
    let stderr = usage_error(&["live", "scenarios/partition_gateway_auth.toml"]);
    assert!(
        stderr.contains("partition_gateway_auth.toml"),
        "names the file: {stderr}"
    );
    assert!(
        stderr.contains("kind = \"partition\""),
        "names the fault: {stderr}"
    );
    assert!(
        stderr.contains("cannot be honoured live"),
        "says why: {stderr}"
    );
}

#[test]
fn a_gateway_restart_is_honoured_live_users_get_1012_and_come_back() {
    let (outcome, replay) = clean_live_run("scenarios/gateway_restart.toml");
    let closed_1012 = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Closed { code: 1012, .. }))
        .count();
    assert!(
        closed_1012 > 0,
        "the restart closed connections with 1012\n{replay}"
    );
    let restarted = outcome.trace.events.iter().any(|e| {
        matches!(&e.kind, Kind::Fault(stagesim::trace::FaultEvent::Restarted { host, fault })
            if host == "gateway" && *fault == stagesim::trace::FaultId(0))
    });
    assert!(
        restarted,
        "the gateway booted again, ending fault #1\n{replay}"
    );
    let m = &outcome.summary.messages;
    assert_eq!(
        m.sent, m.answered,
        "every message answered after the restart\n{replay}"
    );
}

#[test]
fn live_drives_a_target_backend_through_its_lb_and_judges_it() {
    let file = "tests/fixtures/live/three_users.toml";
    let served = support::Served::start("target-secret");
    let scenario = stagesim::scenario::load(std::path::Path::new(file))
        .unwrap_or_else(|e| panic!("{}", e.render()));
    let options = stagesim::live::LiveOptions {
        target: Some(stagesim::live::Target::parse(&served.url()).expect("serve's URL")),
        secret: Some("target-secret".into()),
    };
    let outcome = stagesim::live::run(&scenario, 1, &options).expect("runs live");
    let replay = format!(
        "reproduce: cargo run --release -- serve --for 10m --secret target-secret, then \
         cargo run --release -- live {file} --seed 1 --target URL --secret target-secret"
    );
    assert!(
        outcome.violations.is_empty(),
        "{:?}\n{replay}",
        outcome.violations
    );
    let m = &outcome.summary.messages;
    assert_eq!((m.sent, m.answered), (6, 6), "{replay}");
    // Our gateway and auth did not run: only lb and the users recorded.
    assert!(
        !outcome
            .trace
            .events
            .iter()
            .any(|e| matches!(e.kind, Kind::Gateway(_) | Kind::Auth(_))),
        "{replay}"
    );
}

#[test]
fn live_refuses_a_target_that_is_not_a_ws_url() {
    let file = "tests/fixtures/live/three_users.toml";
    let stderr = usage_error(&["live", file, "--target", "http://127.0.0.1:9/ws"]);
    assert!(
        stderr.contains("--target") && stderr.contains("ws://"),
        "stderr: {stderr}"
    );
}

/// Run the binary with `args`, expect a usage error (exit 2, no panic) and
/// return its stderr.
fn usage_error(args: &[&str]) -> String {
    let (code, _, stderr) = support::stagesim(args);
    assert_eq!(code, 2, "stagesim {args:?}: stderr: {stderr}");
    assert!(!stderr.contains("panicked"), "stderr: {stderr}");
    stderr
}

/// The Python that has `websockets` (`.venv`, made by .ci/run from
/// tests/requirements.txt). Without it the Python test says so and passes,
/// except under `CI`, which must run it.
fn python() -> Option<std::path::PathBuf> {
    let venv = support::path(".venv/bin/python");
    let has_websockets = |python: &std::path::Path| {
        std::process::Command::new(python)
            .args(["-c", "import websockets"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if has_websockets(&venv) {
        return Some(venv);
    }
    assert!(
        !support::in_ci(),
        "CI is set but .venv/bin/python with `websockets` is missing: .ci/run makes it \
         (python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt)"
    );
    support::skipped(
        "the Python client test needs .venv with websockets \
         (python3 -m venv .venv && .venv/bin/pip install -r tests/requirements.txt)",
    );
    None
}

/// Run the Python client against `url`; its JSON summary.
fn python_client(python: &std::path::Path, url: &str, token: &str, via: &str) -> Value {
    let script = support::path("tests/fixtures/live/python_client.py");
    let out = std::process::Command::new(python)
        .arg(script)
        .args([url, token, via])
        .output()
        .expect("run the Python client");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the Python client failed ({via}):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn the_python_websockets_library_chats_through_lb_and_is_refused_with_a_bad_token() {
    let Some(python) = python() else { return };
    let served = support::Served::start("py-secret");
    let (good, forged) = support::token_pair("pat", "py-secret");
    for via in ["header", "subprotocol", "both"] {
        let seen = python_client(&python, &served.url(), &good, via);
        support::assert_one_clean_chat(&seen, "pat", via != "header");
    }
    let refused = python_client(&python, &served.url(), &forged, "both");
    assert_eq!(refused["close"], 1008, "{refused}");
    assert_eq!(
        refused["events"],
        json!([]),
        "nothing before the close: {refused}"
    );
}

/// The reference backend (tests/fixtures/live/reference_backend.py) on a
/// free port, making `mistake` (none when empty), and the options that
/// drive it through `--target`.
fn reference_backend(
    python: &std::path::Path,
    mistake: &str,
) -> (support::Served, stagesim::live::LiveOptions) {
    let mut command = std::process::Command::new(python);
    command
        .arg(support::path("tests/fixtures/live/reference_backend.py"))
        .args(["ref-secret", "120"])
        .env("REFERENCE_BACKEND_MISTAKE", mistake);
    let backend = support::Served::spawn(command);
    let port = backend
        .first_line
        .trim()
        .strip_prefix("listening ")
        .unwrap_or_else(|| panic!("no port in {:?}", backend.first_line))
        .to_string();
    let url = format!("ws://127.0.0.1:{port}/ws");
    let options = stagesim::live::LiveOptions {
        target: Some(stagesim::live::Target::parse(&url).expect("a ws URL")),
        secret: Some("ref-secret".into()),
    };
    (backend, options)
}

fn reproduce_reference(file: &str, mistake: &str) -> String {
    format!(
        "REFERENCE_BACKEND_MISTAKE={mistake} .venv/bin/python \
         tests/fixtures/live/reference_backend.py ref-secret, then cargo run --release -- live \
         {file} --target ws://127.0.0.1:PORT/ws --secret ref-secret"
    )
}

#[test]
fn a_backend_written_from_the_wire_protocol_alone_is_judged_clean_through_target() {
    let Some(python) = python() else { return };
    let (_backend, options) = reference_backend(&python, "");
    // Valid users, and users with expired, forged and malformed tokens.
    for file in [
        "tests/fixtures/live/three_users.toml",
        "scenarios/invalid_tokens.toml",
    ] {
        let scenario = support::load(file);
        let outcome = stagesim::live::run(&scenario, 1, &options).expect("runs live");
        assert!(
            outcome.violations.is_empty(),
            "{file}: {:?}\nreproduce: {}",
            outcome.violations,
            reproduce_reference(file, "")
        );
    }
}

#[test]
fn the_reference_backend_s_planted_mistakes_are_caught_through_target() {
    let Some(python) = python() else { return };
    let file = "tests/fixtures/live/three_users.toml";
    for (mistake, cause) in [
        ("refuse_everything", Cause::RefusedWithoutCause),
        ("seq_from_14", Cause::BadSeq),
    ] {
        let (_backend, options) = reference_backend(&python, mistake);
        let outcome = stagesim::live::run(&support::load(file), 1, &options).expect("runs live");
        let causes: Vec<Cause> = outcome.violations.iter().map(|v| v.cause).collect();
        assert!(
            causes.contains(&cause),
            "{mistake}: expected {cause}, got {causes:?}\nreproduce: {}",
            reproduce_reference(file, mistake)
        );
    }
}

/// Autobahn's protocol cases (sections 1-7 and 10: framing, pings, reserved
/// bits, opcodes, fragmentation, UTF-8, the close handshake, misc), run by
/// `kosoku` against the gateway's echo route through `lb`. Section 9 (messages
/// of up to 16 MiB) is left out: every gateway route closes messages over
/// 64 KiB with 1009, which is the documented protocol, not a defect; sections
/// 12 and 13 need permessage-deflate, which tungstenite does not implement.
#[test]
fn autobahn_protocol_cases_pass_on_the_gateway_echo_route_through_lb() {
    let Some(python) = python() else { return };
    let kosoku = python.with_file_name("kosoku");
    assert!(
        kosoku.is_file(),
        "no {} (tests/requirements.txt)",
        kosoku.display()
    );
    let served = support::Served::start("autobahn-secret");
    let url = served.url().replace("/ws", "/echo");
    let reports = support::path("target/tmp/autobahn");
    let mut command = std::process::Command::new(&kosoku);
    command.arg(&url).arg("-o").arg(&reports);
    for section in ["1", "2", "3", "4", "5", "6", "7", "10"] {
        command.args(["-i", &format!("{section}.*")]);
    }
    let out = command.output().expect("run kosoku");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let replay = format!(
        "reproduce: cargo run -- serve --listen 127.0.0.1:9001, then .venv/bin/kosoku \
         ws://127.0.0.1:9001/echo -i '1.*' ... -i '10.*'; reports in {}",
        reports.display()
    );
    assert!(out.status.success(), "kosoku failed:\n{stdout}\n{replay}");
    let index: Value = serde_json::from_str(
        &std::fs::read_to_string(reports.join("index.json")).expect("kosoku's index.json"),
    )
    .expect("JSON");
    let cases: Vec<(&String, &Value)> = index
        .as_object()
        .expect("one agent")
        .values()
        .flat_map(|cases| cases.as_object().expect("cases").iter())
        .collect();
    let failed: Vec<&String> = cases
        .iter()
        .filter(|(_, c)| {
            !matches!(
                c["behavior"].as_str(),
                Some("OK" | "NON-STRICT" | "INFORMATIONAL")
            )
        })
        .map(|(id, _)| *id)
        .collect();
    assert!(failed.is_empty(), "failed cases: {failed:?}\n{replay}");
    assert_eq!(
        cases.len(),
        247,
        "the sections' case count changed\n{replay}"
    );
}

/// lb's byte-level faults work on real sockets too: 5-byte pieces, 300 ms
/// more towards the users for two seconds, and a reset at 4 s that users
/// see as 1006 before they reconnect and are answered.
#[test]
fn lb_byte_faults_are_honoured_live() {
    let (outcome, replay) = clean_live_run("tests/fixtures/live/lb_faults.toml");
    let resets: Vec<u64> = outcome
        .trace
        .events
        .iter()
        .filter_map(|e| match &e.kind {
            Kind::Fault(stagesim::trace::FaultEvent::Reset { connections, .. }) => {
                Some(*connections)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        resets,
        vec![3],
        "one reset of the three connections\n{replay}"
    );
    let lost = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, Kind::Closed { code: 1006, .. }))
        .count();
    assert_eq!(lost, 3, "each user saw the reset\n{replay}");
    let m = &outcome.summary.messages;
    assert_eq!((m.sent, m.answered), (12, 12), "{replay}");
}

/// Run `file` live with seed 1, expecting no violation; the outcome and
/// the line that replays it.
fn clean_live_run(file: &str) -> (stagesim::run::Outcome, String) {
    let scenario = support::load(file);
    let outcome = stagesim::live::run(&scenario, 1, &Default::default()).expect("runs live");
    let replay = format!("reproduce: cargo run --release -- live {file} --seed 1");
    assert!(
        outcome.violations.is_empty(),
        "{:?}\n{replay}",
        outcome.violations
    );
    (outcome, replay)
}

/// A regression file against `--target`: judged as with `--fixed`, so it
/// passes on a backend without that defect and fails on one with it.
/// `files` against the reference backend, a plain `stagesim serve`, and a
/// `stagesim serve` of the file itself (its defect on), all at once.
fn regressions_gate_a_target_backend(files: &[&str]) {
    let Some(python) = python() else { return };
    for file in files {
        // Each backend lives 120 s: a fresh set per file.
        let (_reference, reference) = reference_backend(&python, "");
        let plain = support::Served::start("ref-secret");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"));
        command
            .args(["serve", file, "--listen", "127.0.0.1:0", "--for", "120s"])
            .current_dir(support::path(""))
            .env("STAGESIM_SECRET", "ref-secret");
        let defective = support::Served::spawn(command);
        let options = |url: String| stagesim::live::LiveOptions {
            target: Some(stagesim::live::Target::parse(&url).expect("a ws URL")),
            secret: Some("ref-secret".into()),
        };
        let backends = [
            ("the reference backend", reference.clone(), Verdict::Pass),
            ("stagesim serve", options(plain.url()), Verdict::Pass),
            (
                "stagesim serve of the file",
                options(defective.url()),
                Verdict::Fail,
            ),
        ];
        let scenario = support::load(file);
        // The seed fixes the plan (arrivals, agents, tools), not the timing:
        // take the first seed on which the simulation reproduces the defect.
        let seed = (1..=50)
            .find(|&seed| stagesim::run::run(&scenario, seed).verdict == Verdict::Reproduced)
            .unwrap_or_else(|| panic!("{file} reproduces on no seed of 1-50 in simulation"));
        // An outcome holds `Rc`s: each thread sends back what is checked.
        let judged: Vec<_> = std::thread::scope(|s| {
            let runs: Vec<_> = backends
                .iter()
                .map(|(_, o, _)| {
                    s.spawn(|| {
                        let outcome = stagesim::live::run(&scenario, seed, o).expect("runs live");
                        let json = stagesim::report::to_json(&outcome, "");
                        let violations = format!("{:?}", outcome.violations);
                        (outcome.verdict, violations, outcome.target, json)
                    })
                })
                .collect();
            runs.into_iter()
                .map(|r| r.join().expect("no panic"))
                .collect()
        });
        for ((name, _, expected), (verdict, violations, notes, json)) in backends.iter().zip(judged)
        {
            assert_eq!(
                verdict, *expected,
                "{file} on {name}: {violations}\nreproduce: cargo run --release -- live {file} \
                 --seed {seed} --target ws://127.0.0.1:PORT/ws --secret ref-secret"
            );
            let notes = notes.expect("a target run says what it left out");
            assert!(
                notes.set_aside.iter().any(|s| s.starts_with("[bugs] ")),
                "{file}: its defect is set aside: {notes:?}"
            );
            assert!(
                json["coverage"].is_null(),
                "coverage is unknown, not 0: {json}"
            );
            assert!(json["not_applied"].is_array(), "{json}");
        }
    }
}

#[test]
fn regression_files_gate_a_target_backend_by_verdict() {
    regressions_gate_a_target_backend(&[
        "scenarios/regressions/unknown_type_crash.toml",
        "scenarios/regressions/staging_auth_bypass.toml",
    ]);
}

/// The long form: every regression file live mode can run against a
/// target (`cargo test --test live -- --ignored`, a few minutes).
#[test]
#[ignore]
fn every_runnable_regression_file_gates_a_target_backend() {
    let files: Vec<String> = support::scenario_files()
        .into_iter()
        .filter(|f| f.starts_with("scenarios/regressions/"))
        .filter(|f| support::load(f).faults.is_empty())
        .collect();
    let files: Vec<&str> = files.iter().map(String::as_str).collect();
    regressions_gate_a_target_backend(&files);
}
