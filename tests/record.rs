//! `stagesim record` (issue 23) end to end on 127.0.0.1: the worked example
//! of docs/record.md, claim by claim, and record's memory under a burst of
//! 1,000 connections. Every server here listens on a free port of
//! 127.0.0.1 and stops by itself (`--for`), and every test stops its
//! children when it ends.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};

use serde_json::Value;

/// Tokens are signed and checked with this in every process of a test.
const SECRET: &str = "record-test-secret-0123456789abcdef";

/// The worked example runs on the wall clock with a margin of about a
/// second (a user back in before the pipeline is ready); the 1,000-connection
/// burst would eat into it, so the two never run at once.
static WALL_CLOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn wall_clock() -> std::sync::MutexGuard<'static, ()> {
    WALL_CLOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `stagesim` child process whose stdout is read line by line: the first
/// line (its address) at once, the rest when it has stopped. Killed if
/// the test ends first.
struct Running {
    child: Child,
    stdout: BufReader<ChildStdout>,
    first_line: String,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stagesim"))
            .args(args)
            .env("STAGESIM_SECRET", SECRET)
            .current_dir(support::path(""))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start stagesim");
        let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut first_line = String::new();
        stdout
            .read_line(&mut first_line)
            .expect("stagesim prints where it listens");
        Running {
            child,
            stdout,
            first_line,
        }
    }

    /// The first `ws://` address it printed.
    fn url(&self) -> String {
        self.first_line
            .split_whitespace()
            .find(|w| w.starts_with("ws://"))
            .unwrap_or_else(|| panic!("no ws:// URL in {:?}", self.first_line))
            .to_string()
    }

    /// Send SIGINT (Ctrl-C), wait for it to stop: its exit code and the
    /// rest of its stdout.
    fn interrupt(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-INT", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -INT {pid}");
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let status = self.child.wait().expect("wait for it");
        (status.code(), rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `stagesim record` on a free port in front of `serve`, into `out`, with
/// `more` flags; it stops by itself after 300 s.
fn start_record(serve: &Running, out: &str, more: &[&str]) -> Running {
    let target = serve.url();
    let args = ["record", "--listen", "127.0.0.1:0", "--target", &target];
    Running::start(&[&args[..], &["--for", "300s", "--out", out], more].concat())
}

/// Run `stagesim` to its end with the test's secret: exit code, stdout,
/// stderr.
fn stagesim(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(args)
        .env("STAGESIM_SECRET", SECRET)
        .current_dir(support::path(""))
        .output()
        .expect("run stagesim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn journal(dir: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("observed.jsonl")).expect("observed.jsonl");
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn events<'a>(journal: &'a [Value], event: &str) -> Vec<&'a Value> {
    journal.iter().filter(|e| e["event"] == event).collect()
}

/// The worked example: `serve` with orchestrator_singleton on and a
/// restart at 15 s, `live` users driving it through `record`, then the
/// recording's files, `run`, `diagnose` and `diff` as docs/record.md
/// shows them.
#[test]
fn the_worked_example_records_a_restart_and_diagnose_names_orchestrator_singleton() {
    let _alone = wall_clock();
    let scratch = support::Scratch::new("record-example");
    let out = scratch.file("rec");
    let serve = Running::start(&[
        "serve",
        "examples/record/serve.toml",
        "--listen",
        "127.0.0.1:0",
        "--for",
        "120s",
    ]);
    let record = start_record(&serve, &out, &[]);
    let through = format!("{}ws", record.url());
    let (code, driver, stderr) = stagesim(&[
        "live",
        "examples/record/driver.toml",
        "--seed",
        "1",
        "--target",
        &through,
        "--json",
    ]);
    let (stopped, summary) = record.interrupt();
    drop(serve);
    let replay = "reproduce: cargo test --test record the_worked_example";
    assert!(code <= 1, "the driver: {stderr}\n{replay}");
    assert_eq!(stopped, Some(0), "record: {summary}\n{replay}");
    let driver: Value = serde_json::from_str(&driver).expect("live --json");
    let dir = Path::new(&out);
    check_summary(&summary, replay);
    check_journal(&journal(dir), replay);
    check_observed(dir, &driver, replay);
    let scenario_file = dir.join("scenario.toml");
    check_scenario(&scenario_file, replay);
    check_run_diagnose_and_diff(dir, &scenario_file, replay);
}

fn check_summary(summary: &str, replay: &str) {
    for words in [
        "recorded ",
        "observed.jsonl: the trace",
        "observed.json: judged fail",
        "scenario.toml: 1 group(s), 1 fault(s)",
        "peak memory (VmHWM): ",
        "stagesim diagnose ",
    ] {
        assert!(summary.contains(words), "{words:?} in {summary}\n{replay}");
    }
}

/// Each connection's upgrade, answer, frames and close, in the trace's
/// terms, with the token's kind and channel and never the token.
fn check_journal(journal: &[Value], replay: &str) {
    let connecting = events(journal, "connecting");
    assert!(
        connecting.len() >= 7,
        "6 users, 1 reconnecting: {connecting:?}\n{replay}"
    );
    for c in &connecting {
        assert_eq!(c["token"], "valid", "{c}\n{replay}");
        assert_eq!(
            c["token_via"],
            serde_json::json!(["header"]),
            "{c}\n{replay}"
        );
        assert!(
            c["line"]
                .as_str()
                .is_some_and(|l| l.contains(" connect attempt=")),
            "{c}"
        );
    }
    let text = serde_json::to_string(journal).expect("json");
    assert!(!text.contains("eyJ"), "a token was written: {replay}");
    let closed = events(journal, "closed");
    let by = |code: u64, side: &str| {
        closed
            .iter()
            .filter(|c| c["code"] == code && c["side"] == side)
            .count()
    };
    assert_eq!(by(1012, "server"), 1, "the restart: {closed:?}\n{replay}");
    assert_eq!(by(1011, "server"), 2, "{closed:?}\n{replay}");
    assert_eq!(by(1000, "client"), 4, "{closed:?}\n{replay}");
    assert!(
        closed
            .iter()
            .filter(|c| c["code"] == 1011)
            .all(|c| c["reason"]
                .as_str()
                .is_some_and(|r| r.starts_with("message router"))),
        "{closed:?}\n{replay}"
    );
    // The restarted user was refused while the gateway was down.
    let refused = events(journal, "http_rejected");
    assert!(
        refused
            .iter()
            .any(|r| r["user"] == "user-0003" && r["status"] == 503),
        "{refused:?}\n{replay}"
    );
    let frames = events(journal, "frame");
    let sent = |kind: &str, dir: &str| {
        frames
            .iter()
            .filter(|f| f["dir"] == dir && f["message"]["type"] == kind)
            .count()
    };
    assert!(sent("user_message", "up") >= 6, "{replay}");
    // Four users' one message each, and the restarted user's first (and
    // perhaps second) before the restart.
    let completed = sent("agent_completed", "down");
    assert!((5..=6).contains(&completed), "{completed}\n{replay}");
    assert!(
        frames
            .iter()
            .all(|f| f["bytes"].as_u64().is_some() && f.get("body").is_none()),
        "sizes always, bodies only with --bodies: {replay}"
    );
}

/// observed.json: the oracle's verdict on what clients saw, 1011s blamed
/// on the component their reason names, and what it could not judge.
fn check_observed(dir: &Path, driver: &Value, replay: &str) {
    let text = std::fs::read_to_string(dir.join("observed.json")).expect("observed.json");
    let observed: Value = serde_json::from_str(&text).expect("json");
    assert_eq!(observed["verdict"], "fail", "{observed}\n{replay}");
    let violations = observed["violations"].as_array().expect("violations");
    let hit: Vec<&str> = violations
        .iter()
        .filter(|v| v["cause"] == "closed_1011")
        .map(|v| {
            assert_eq!(v["component"], "message_router", "{v}\n{replay}");
            v["user"].as_str().expect("a user")
        })
        .collect();
    assert_eq!(hit, ["user-0001", "user-0003"], "{observed}\n{replay}");
    // The four users who closed their last connection with 1000 are done.
    assert_eq!(observed["groups"][0]["done"], 4, "{observed}\n{replay}");
    let judged = &observed["record"]["judged"];
    assert!(
        judged
            .as_array()
            .is_some_and(|j| j.contains(&"auth_policy".into())),
        "with a secret, token kinds are judged: {observed}"
    );
    let not: Vec<&str> = observed["record"]["not_judged"]
        .as_array()
        .expect("not_judged")
        .iter()
        .filter_map(|n| n["invariant"].as_str())
        .collect();
    assert_eq!(not, ["liveness", "accounting", "capacity"], "{replay}");
    // The driver judged the same run from the users' side: the same two
    // users closed 1011.
    let driver_hit: Vec<&str> = driver["violations"]
        .as_array()
        .expect("the driver's violations")
        .iter()
        .filter(|v| v["cause"] == "closed_1011")
        .filter_map(|v| v["user"].as_str())
        .collect();
    assert_eq!(driver_hit, hit, "{driver}\n{replay}");
}

/// scenario.toml loads as is: one group of six users, the restart, the
/// pipeline's startup, the observed closes in `[expect]`.
fn check_scenario(file: &Path, replay: &str) {
    let s = stagesim::scenario::load(file).unwrap_or_else(|e| panic!("{}\n{replay}", e.render()));
    assert_eq!(s.users.len(), 1, "{s:?}\n{replay}");
    let g = &s.users[0];
    assert_eq!(g.count, 6, "{replay}");
    assert_eq!(g.messages, 1, "the median user's: {replay}");
    let secs = |d: std::time::Duration| d.as_secs_f64();
    assert!(
        secs(g.arrive.min) < 1.5 && secs(g.arrive.max) > 23.0,
        "{g:?}\n{replay}"
    );
    assert_eq!(s.faults.len(), 1, "{replay}");
    let restart = &s.faults[0];
    assert_eq!(restart.kind().to_string(), "restart", "{replay}");
    assert_eq!(
        restart.target(),
        stagesim::scenario::Target::Host(stagesim::scenario::Host::Gateway),
        "{replay}"
    );
    assert!(
        (13.5..16.5).contains(&secs(restart.at())),
        "{restart:?}\n{replay}"
    );
    let startup = secs(s.agents.startup);
    assert!(
        (1.0..6.0).contains(&startup),
        "3 s really: {startup}\n{replay}"
    );
    let text = std::fs::read_to_string(file).expect("read");
    assert!(text.contains("# Observed close codes"), "{text}");
    assert!(
        text.contains(": 1011 x1") && text.contains(": 1012 x1"),
        "{text}"
    );
    assert!(
        text.contains("component = \"message_router\""),
        "[expect] names what was observed: {text}"
    );
}

fn check_run_diagnose_and_diff(dir: &Path, file: &Path, replay: &str) {
    let (file, dir) = (file.to_str().expect("utf-8"), dir.to_str().expect("utf-8"));
    // It runs with no edits: the fixed backend passes it.
    let (code, stdout, stderr) = stagesim(&["run", file, "--seed", "1"]);
    assert_eq!(code, 0, "{stdout}{stderr}\n{replay}");
    let args = [
        "diagnose",
        file,
        "--observed",
        dir,
        "--seeds",
        "10",
        "--json",
    ];
    let (code, stdout, stderr) = stagesim(&args);
    assert_eq!(code, 0, "{stderr}\n{replay}");
    let ranked: Value = serde_json::from_str(&stdout).expect("diagnose --json");
    assert_eq!(
        ranked["ranking"][0]["mechanism"],
        "orchestrator_singleton",
        "{ranked:#}\nreproduce: stagesim {}",
        args.join(" ")
    );
    // A directory holding only the journal is judged again from it.
    let only = Path::new(dir).with_file_name("journal-only");
    std::fs::create_dir_all(&only).expect("mkdir");
    std::fs::copy(
        Path::new(dir).join("observed.jsonl"),
        only.join("observed.jsonl"),
    )
    .expect("cp");
    let only = only.to_str().expect("utf-8");
    let (code, again, stderr) = stagesim(&[
        "diagnose",
        file,
        "--observed",
        only,
        "--seeds",
        "10",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let again: Value = serde_json::from_str(&again).expect("json");
    assert_eq!(
        again["ranking"][0]["mechanism"], "orchestrator_singleton",
        "{again:#}"
    );
    check_diff(file, replay);
}

/// A failing and a passing seed of the recorded scenario with the defect
/// on part at a user let in before the pipeline was ready.
fn check_diff(file: &str, replay: &str) {
    let mut s = stagesim::scenario::load(Path::new(file)).expect("loads");
    s.bugs
        .set("orchestrator_singleton", true)
        .expect("a defect");
    let fails = |seed: u64| !stagesim::run::run(&s, seed).violations.is_empty();
    let seeds = 1..=60u64;
    let failing = seeds
        .clone()
        .find(|n| fails(*n))
        .expect("a failing seed in 1..=60");
    let passing = seeds.clone().find(|n| !fails(*n));
    let passing = passing.unwrap_or_else(|| panic!("no passing seed in 1..=60\n{replay}"));
    let (f, p) = (failing.to_string(), passing.to_string());
    let args = [
        "diff",
        file,
        "--seed",
        &f,
        "--seed",
        &p,
        "--bug",
        "orchestrator_singleton",
    ];
    let (code, stdout, stderr) = stagesim(&args);
    let replay = format!("reproduce: stagesim {}", args.join(" "));
    assert_eq!(code, 1, "{stdout}{stderr}\n{replay}");
    assert!(
        stdout.contains("pipeline initialising"),
        "{stdout}\n{replay}"
    );
    assert!(
        stdout.contains("state PROCESSING_READY"),
        "{stdout}\n{replay}"
    );
    assert!(
        stdout.contains("closed 1011 by server"),
        "{stdout}\n{replay}"
    );
}

/// docs/record.md's memory figure: 1,000 WebSocket connections open at
/// once through record (`--bodies`), each let in, then all closed; record's peak resident
/// memory (VmHWM, from its summary) stays under 256 MiB and every
/// connection is in the journal.
#[test]
fn a_burst_of_1000_connections_keeps_record_s_memory_bounded() {
    const CONNECTIONS: usize = 1000;
    let _alone = wall_clock();
    let scratch = support::Scratch::new("record-burst");
    let out = scratch.file("rec");
    let serve = Running::start(&["serve", "--listen", "127.0.0.1:0", "--for", "300s"]);
    let record = start_record(&serve, &out, &["--bodies"]);
    let token = support::token_from_cli(&["--user", "burst", "--secret", SECRET]);
    let url = format!("{}ws", record.url());
    let admitted = burst(&url, &token, CONNECTIONS);
    let (stopped, summary) = record.interrupt();
    drop(serve);
    assert_eq!(stopped, Some(0), "{summary}");
    assert_eq!(admitted, CONNECTIONS, "every connection let in");
    let kib: u64 = summary
        .split("peak memory (VmHWM): ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {summary}"));
    eprintln!("record's VmHWM after a burst of {CONNECTIONS} connections: {kib} kB");
    assert!(kib < 256 * 1024, "record peaked at {kib} kB: {summary}");
    let journal = journal(Path::new(&out));
    assert_eq!(events(&journal, "connecting").len(), CONNECTIONS);
    assert_eq!(events(&journal, "closed").len(), CONNECTIONS);
    // With --bodies, each message's text is kept.
    let hellos = events(&journal, "frame")
        .into_iter()
        .filter(|f| {
            f["body"]
                .as_str()
                .is_some_and(|b| b.contains("\"connection_established\""))
        })
        .count();
    assert_eq!(hellos, CONNECTIONS);
}

/// `serve` applies a scenario's gateway restart (the worked example's
/// 1012) and says which faults it leaves out.
#[test]
fn serve_says_which_faults_it_leaves_out() {
    let scratch = support::Scratch::new("record-serve-faults");
    let file = scratch.file("parted.toml");
    let text = "name = \"parted\"\n[[faults]]\nkind = \"partition\"\n\
                between = [\"lb\", \"gateway\"]\nat = \"1s\"\nfor = \"1s\"\n";
    std::fs::write(&file, text).expect("write");
    let (code, stdout, stderr) =
        stagesim(&["serve", &file, "--listen", "127.0.0.1:0", "--for", "100ms"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stderr.contains("serve leaves out 1 fault(s) it cannot apply (partition)"),
        "{stderr}"
    );
}

/// Open `n` connections, a hundred at a time (a listener's backlog is 128
/// here: more at once and the backend's own accept queues overflow), wait
/// until each is let in, and with all of them open close them all; how
/// many were let in.
fn burst(url: &str, token: &str, n: usize) -> usize {
    use futures_util::{SinkExt, StreamExt};
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    rt.block_on(async {
        let mut open = Vec::new();
        for wave in (0..n).collect::<Vec<_>>().chunks(100) {
            let mut opening = tokio::task::JoinSet::new();
            for i in wave {
                opening.spawn(admitted(url.to_string(), token.to_string(), *i));
            }
            while let Some(ws) = opening.join_next().await {
                open.extend(ws.ok().flatten());
            }
        }
        let let_in = open.len();
        for mut ws in open {
            let _ = ws.close(None).await;
            let _ = ws.flush().await;
            // Read the server's close frame: the close handshake ends.
            while let Some(Ok(_)) = ws.next().await {}
        }
        let_in
    })
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One connection, once the backend has said `connection_established`.
async fn admitted(url: String, token: String, i: usize) -> Option<Ws> {
    use futures_util::StreamExt;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().ok()?;
    let headers = request.headers_mut();
    headers.insert("authorization", format!("Bearer {token}").parse().ok()?);
    headers.insert("x-request-id", format!("burst-{i:04}/c1").parse().ok()?);
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.ok()?;
    let hello = tokio::time::timeout(std::time::Duration::from_secs(60), ws.next()).await;
    let said = matches!(hello, Ok(Some(Ok(m))) if m.to_string().contains("connection_established"));
    said.then_some(ws)
}

#[test]
fn record_refuses_what_it_cannot_do_before_it_listens() {
    let scratch = support::Scratch::new("record-usage");
    let (code, _, stderr) = stagesim(&["record", "--target", "http://127.0.0.1:9/ws"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("not a ws:// URL"), "{stderr}");
    let (code, _, stderr) = stagesim(&["record", "--target", "ws://127.0.0.1:9/", "--for", "0s"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`--for`"), "{stderr}");
    std::fs::write(scratch.0.join("observed.jsonl"), "").expect("write");
    let dir = scratch.0.to_str().expect("utf-8");
    let (code, _, stderr) = stagesim(&[
        "record",
        "--target",
        "ws://127.0.0.1:9/",
        "--out",
        dir,
        "--for",
        "1s",
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("already holds a recording"), "{stderr}");
    let empty = scratch.0.join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let empty = empty.to_str().expect("utf-8");
    let args = [
        "diagnose",
        "golden_path",
        "--observed",
        empty,
        "--seeds",
        "1",
    ];
    let (code, _, stderr) = stagesim(&args);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("holds neither observed.json nor observed.jsonl"),
        "{stderr}"
    );
}
