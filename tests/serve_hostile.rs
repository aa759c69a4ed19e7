//! `stagesim serve` against hostile clients (issue 21), as a child process on
//! 127.0.0.1: idle floods past its descriptor limit, slowloris, idle sockets,
//! bad frames, a request that is not an upgrade, a message flood, and its
//! caps; after each, a legitimate client (a token from `stagesim token`
//! with the same secret) is admitted and answered.
//!
//! The descriptor limit is set in the child by util-linux's `prlimit`
//! (`prlimit --nofile=1024:1024 stagesim serve ...`); without it the test
//! that needs it prints `SKIPPED` and passes, except under `CI`. Every loop
//! is bounded in count and time, every wait has a deadline, traffic goes to
//! 127.0.0.1 only, and each server stops by itself (`--for`). Nothing here
//! runs a simulation, so there is no seed; a failure prints the command
//! line of the server it ran.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};

const SECRET: &str = "hostile-test-secret-0123456789abcdef";
/// The descriptor limit of the server under the floods, as in the issue.
const DESCRIPTORS: u64 = 1024;
/// Any single step on a loaded machine; a hang fails here.
const STEP: Duration = Duration::from_secs(20);

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// A `stagesim serve` child and what it printed.
struct Server {
    served: support::Served,
    lb: SocketAddr,
    gateway: SocketAddr,
    /// Its stderr so far, read by a thread.
    stderr: Arc<Mutex<String>>,
    /// The command line, for failure messages.
    command: String,
}

impl Server {
    /// `stagesim serve` with `flags`, under `prlimit` with `DESCRIPTORS`
    /// when `limited`.
    fn start(limited: bool, flags: &[&str]) -> Server {
        let bin = env!("CARGO_BIN_EXE_stagesim");
        let mut args: Vec<String> = Vec::new();
        if limited {
            let nofile = format!("--nofile={DESCRIPTORS}:{DESCRIPTORS}");
            args.extend(["prlimit".into(), nofile, "--".into()]);
        }
        args.push(bin.into());
        let serve = ["serve", "--listen", "127.0.0.1:0", "--for", "150s"];
        args.extend(serve.iter().chain(flags).map(|s| s.to_string()));
        let mut command = Command::new(&args[0]);
        command
            .args(&args[1..])
            .env("STAGESIM_SECRET", SECRET)
            .stderr(Stdio::piped());
        let mut served = support::Served::spawn(command);
        let stderr = Arc::new(Mutex::new(String::new()));
        let pipe = served.child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let mut all = sink.lock().expect("not poisoned");
                all.push_str(&line);
                all.push('\n');
            }
        });
        let lb = addr_after(&served.first_line, "ws://");
        let gateway = addr_after(&served.first_line, "gateway ");
        let command = format!("STAGESIM_SECRET={SECRET} {}", args.join(" "));
        Server {
            served,
            lb,
            gateway,
            stderr,
            command,
        }
    }

    fn pid(&self) -> u32 {
        self.served.child.id()
    }

    fn stderr(&self) -> String {
        self.stderr.lock().expect("not poisoned").clone()
    }

    /// What the server said, and what to run to see it fail by hand.
    fn replay(&self, test: &str) -> String {
        format!(
            "server stderr:\n{}server: {}\nreproduce: cargo test --locked --test serve_hostile \
             -- {test} --nocapture",
            self.stderr(),
            self.command
        )
    }
}

/// The `host:port` that follows `marker` in `line`.
fn addr_after(line: &str, marker: &str) -> SocketAddr {
    let start = line
        .find(marker)
        .unwrap_or_else(|| panic!("no {marker:?} in {line:?}"));
    let rest = &line[start + marker.len()..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    rest[..end]
        .parse()
        .unwrap_or_else(|e| panic!("{e}: {line:?}"))
}

/// Whether `prlimit` runs here. Without it: `SKIPPED`, except under `CI`.
fn have_prlimit() -> bool {
    let ok = Command::new("prlimit")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok || !support::in_ci(),
        "CI is set but `prlimit` (util-linux) is missing: apt-get install util-linux"
    );
    if !ok {
        support::skipped("the descriptor-limit test needs `prlimit` (util-linux)");
    }
    ok
}

/// A soft descriptor limit of `pid` from /proc (Linux).
fn soft_nofile(pid: u32) -> Option<u64> {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Let this test process hold `n` descriptors: raise its own soft limit
/// with `prlimit --pid` when it is lower (up to the hard limit).
fn allow_descriptors(n: u64) {
    let me = std::process::id();
    if soft_nofile(me).is_some_and(|soft| soft >= n) {
        return;
    }
    let _ = Command::new("prlimit")
        .args(["--pid", &me.to_string(), &format!("--nofile={n}:")])
        .output();
    let soft = soft_nofile(me);
    assert!(
        soft.is_some_and(|s| s >= n),
        "this test needs {n} descriptors and has {soft:?}; raise `ulimit -n`"
    );
}

/// The resident memory of `pid` in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .expect("VmRSS")
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn token(user: &str) -> String {
    support::token_from_cli(&["--user", user, "--secret", SECRET])
}

/// A WebSocket to `path` through lb, with `token` in the header if any.
async fn open(lb: SocketAddr, path: &str, token: Option<&str>) -> Result<Ws, String> {
    let mut request = format!("ws://{lb}{path}")
        .into_client_request()
        .map_err(|e| e.to_string())?;
    if let Some(token) = token {
        let value = format!("Bearer {token}").parse().expect("ascii");
        request.headers_mut().insert("authorization", value);
    }
    match tokio::time::timeout(STEP, tokio_tungstenite::connect_async(request)).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(format!("upgrade failed: {e}")),
        Err(_) => Err("upgrade timed out".into()),
    }
}

/// The next text frame as JSON, or the close frame's code and reason.
async fn next(ws: &mut Ws) -> Result<Value, (u16, String)> {
    loop {
        let msg = match tokio::time::timeout(STEP, ws.next()).await {
            Err(_) => return Err((0, "no frame in time".into())),
            Ok(None) => return Err((1006, "stream ended".into())),
            Ok(Some(Err(e))) => return Err((1006, e.to_string())),
            Ok(Some(Ok(msg))) => msg,
        };
        match msg {
            Message::Text(t) => return Ok(serde_json::from_str(&t).expect("JSON")),
            Message::Close(f) => {
                return Err(f.map_or((1005, String::new()), |f| {
                    (u16::from(f.code), f.reason.to_string())
                }));
            }
            _ => {}
        }
    }
}

fn ask(message_id: &str) -> Message {
    let ask =
        json!({"type": "user_message", "message_id": message_id, "agent": "triage", "text": "hi"});
    Message::text(ask.to_string())
}

/// One legitimate chat: admitted as `user`, one message answered, a 1000
/// close echoed.
async fn chat(lb: SocketAddr, token: &str, user: &str) -> Result<(), String> {
    let mut ws = open(lb, "/ws", Some(token)).await?;
    let hello = next(&mut ws).await.map_err(|c| format!("closed {c:?}"))?;
    if hello["type"] != "connection_established" || hello["user_id"] != user {
        return Err(format!("not admitted: {hello}"));
    }
    ws.send(ask("m1")).await.map_err(|e| e.to_string())?;
    loop {
        let event = next(&mut ws).await.map_err(|c| format!("closed {c:?}"))?;
        if event["type"] == "agent_completed" {
            break;
        }
    }
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    ws.send(Message::Close(Some(bye)))
        .await
        .map_err(|e| e.to_string())?;
    match next(&mut ws).await {
        Err((1000, _)) => Ok(()),
        other => Err(format!("no 1000 echo: {other:?}")),
    }
}

/// A legitimate user admitted and answered within `within`, retrying as a
/// client does after a refusal; how many attempts it took.
async fn admitted(server: &Server, user: &str, within: Duration, test: &str) -> u32 {
    let token = token(user);
    let deadline = Instant::now() + within;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let error = match chat(server.lb, &token, user).await {
            Ok(()) => return attempts,
            Err(e) => e,
        };
        assert!(
            Instant::now() < deadline,
            "{user} not admitted and answered within {within:?} ({attempts} attempts): \
             {error}\n{}",
            server.replay(test)
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// `n` TCP connections to `to`, opened at once, each given 2 s; the ones
/// that opened.
async fn idle_flood(to: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        set.spawn(tokio::time::timeout(
            Duration::from_secs(2),
            TcpStream::connect(to),
        ));
    }
    let mut open = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(Ok(Ok(stream))) = done {
            open.push(stream);
        }
    }
    open
}

/// The server's stderr once each of `services` has said it cannot accept,
/// or after 5 s (well inside the gateway's 8 s handshake timeout, which
/// would free the descriptors the flood holds).
async fn until_each_said_cannot_accept(server: &Server, services: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stderr = server.stderr();
        let all_said = services.iter().all(|s| accept_failures(&stderr, s) >= 1);
        if all_said || Instant::now() >= deadline {
            return stderr;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// How many lines of `stderr` say `service` could not accept.
fn accept_failures(stderr: &str, service: &str) -> usize {
    let said = format!("stagesim: {service} cannot accept connections");
    stderr.lines().filter(|l| l.starts_with(&said)).count()
}

#[test]
fn serve_under_a_1024_descriptor_limit_outlives_floods_and_slowloris() {
    if !have_prlimit() {
        return;
    }
    const TEST: &str = "serve_under_a_1024_descriptor_limit_outlives_floods_and_slowloris";
    allow_descriptors(4096);
    // The gateway holds each idle connection until its handshake timeout:
    // long enough for the whole flood to be in place at once.
    let flags = ["--handshake-timeout", "8s", "--header-timeout", "12s"];
    let server = Server::start(true, &flags);
    assert_eq!(
        soft_nofile(server.pid()),
        Some(DESCRIPTORS),
        "the limit reached the server\n{}",
        server.replay(TEST)
    );
    runtime().block_on(async {
        descriptor_exhaustion(&server, TEST).await;
        slowloris(&server, TEST).await;
        bad_frames(&server, TEST).await;
        not_an_upgrade(&server, TEST).await;
        message_flood(&server, TEST).await;
    });
}

/// 1,100 idle connections straight to the gateway (which holds each until
/// its handshake timeout) take every descriptor; 100 more at lb find none.
/// Both accept loops say so once and keep going; once the flood is gone, a
/// legitimate user gets in.
async fn descriptor_exhaustion(server: &Server, test: &str) {
    let at_gateway = idle_flood(server.gateway, 1100).await;
    let at_lb = idle_flood(server.lb, 100).await;
    // The flood stays open while the server's accept loops reach the limit
    // and its stderr is read: on a loaded machine that takes longer than any
    // fixed pause (a 500 ms one saw nothing said in a fresh-clone CI run).
    let stderr = until_each_said_cannot_accept(server, &["gateway", "lb"]).await;
    let opened = at_gateway.len() + at_lb.len();
    drop((at_gateway, at_lb));
    for service in ["gateway", "lb"] {
        let said = accept_failures(&stderr, service);
        assert!(
            (1..=3).contains(&said),
            "{service} said it could not accept {said} times (once per burst expected) after \
             {opened} connections\n{}",
            server.replay(test)
        );
    }
    let attempts = admitted(server, "after-flood", Duration::from_secs(30), test).await;
    eprintln!(
        "idle flood: {opened} of 1,200 connections opened, then closed; a user admitted and \
         answered at attempt {attempts}; the server said:\n{}",
        server.stderr()
    );
}

/// 40 clients sending a request head at a byte a second and 10 sending
/// nothing hold lb connections; a legitimate user is admitted and answered
/// while all 50 are open, and lb closes all 50 at its header timeout (12 s).
async fn slowloris(server: &Server, test: &str) {
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..50 {
        set.spawn(hold_slowly(server.lb, i < 40));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let attempts = admitted(server, "during-slowloris", Duration::from_secs(8), test).await;
    let chatted = started.elapsed();
    let mut closed_after = Vec::new();
    while let Some(done) = set.join_next().await {
        closed_after.push(done.expect("no panic"));
    }
    closed_after.sort();
    let (first, last) = (closed_after[0], closed_after[closed_after.len() - 1]);
    assert!(
        first > chatted,
        "a slow connection was closed ({first:?}) before the user was answered ({chatted:?})\n{}",
        server.replay(test)
    );
    assert!(
        closed_after.iter().all(|d| *d < Duration::from_secs(20)),
        "lb held slow connections past its 12 s header timeout: {first:?} to {last:?}\n{}",
        server.replay(test)
    );
    eprintln!(
        "slowloris: a user answered after {chatted:?} (attempt {attempts}); lb closed the 50 \
         slow connections {first:?} to {last:?} after they opened"
    );
}

/// One connection to lb sending a request head a byte a second (`slow`) or
/// nothing, until lb closes it (at most 30 s); when that was.
async fn hold_slowly(lb: SocketAddr, slow: bool) -> Duration {
    let started = Instant::now();
    let Ok(mut stream) = TcpStream::connect(lb).await else {
        return Duration::ZERO;
    };
    let head =
        b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let mut buf = [0u8; 256];
    for i in 0..30 {
        if slow
            && stream
                .write_all(&head[i % head.len()..][..1])
                .await
                .is_err()
        {
            break;
        }
        // Closed (or reset) by lb; bytes read (an answer before the close)
        // or a quiet second go on.
        let read = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await;
        if let Ok(Ok(0) | Err(_)) = read {
            break;
        }
    }
    started.elapsed()
}

/// Invalid UTF-8 in a text frame closes 1007 on the chat route and on the
/// echo route; reserved bits set close 1002.
async fn bad_frames(server: &Server, test: &str) {
    let token = token("bad-frames");
    let mut chat = open(server.lb, "/ws", Some(&token))
        .await
        .expect("admitted");
    let hello = next(&mut chat).await.expect("established");
    assert_eq!(hello["type"], "connection_established", "{hello}");
    chat.send(not_utf8()).await.expect("send");
    let closed = next(&mut chat).await;
    assert!(
        matches!(&closed, Err((1007, _))),
        "chat route: {closed:?}\n{}",
        server.replay(test)
    );
    for (frame, code) in [(not_utf8(), 1007), (reserved_bits(), 1002)] {
        let mut echo = open(server.lb, "/echo", None).await.expect("echo opens");
        echo.send(frame).await.expect("send");
        let closed = next(&mut echo).await;
        assert!(
            matches!(&closed, Err((c, _)) if *c == code),
            "echo route, expected {code}: {closed:?}\n{}",
            server.replay(test)
        );
    }
}

/// A text frame whose payload is not UTF-8.
fn not_utf8() -> Message {
    Message::Frame(Frame::message(
        vec![0xce, 0xba, 0xff, 0xfe],
        OpCode::Data(Data::Text),
        true,
    ))
}

/// A text frame with RSV1 set, and no extension that gives it a meaning.
fn reserved_bits() -> Message {
    let mut frame = Frame::message(b"hello".to_vec(), OpCode::Data(Data::Text), true);
    frame.header_mut().rsv1 = true;
    Message::Frame(frame)
}

/// A GET to the WebSocket path without `Upgrade` is answered by lb: 426,
/// naming version 13, not a 502.
async fn not_an_upgrade(server: &Server, test: &str) {
    let mut stream = TcpStream::connect(server.lb).await.expect("connects");
    let request = b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    stream.write_all(request).await.expect("send");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(STEP, stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    assert!(
        read.is_ok() && answer.starts_with("http/1.1 426"),
        "{answer}\n{}",
        server.replay(test)
    );
    assert!(answer.contains("sec-websocket-version: 13"), "{answer}");
    admitted(server, "after-bad-requests", STEP, test).await;
}

/// One connection sends 2,000 messages without waiting: every one is
/// answered exactly once, at most 8 runs work at a time and the rest are
/// refused `overloaded`, and the server's memory is back within 32 MiB
/// once the connection has closed.
async fn message_flood(server: &Server, test: &str) {
    const MESSAGES: usize = 2000;
    let before = rss_kib(server.pid());
    let token = token("flooder");
    let ws = open(server.lb, "/ws", Some(&token))
        .await
        .expect("admitted");
    let (mut sink, mut stream) = ws.split();
    let send = async {
        for i in 0..MESSAGES {
            sink.send(ask(&format!("f{i}"))).await.expect("send");
        }
        sink
    };
    let (mut sink, tally) = tokio::join!(send, tally_answers(&mut stream, MESSAGES));
    let bye = CloseFrame {
        code: CloseCode::Normal,
        reason: "done".into(),
    };
    let _ = sink.send(Message::Close(Some(bye))).await;
    drop((sink, stream));
    assert_eq!(
        tally.answered,
        MESSAGES,
        "every message answered once: {tally:?}\n{}",
        server.replay(test)
    );
    assert!(
        tally.max_in_flight <= 8,
        "{tally:?}\n{}",
        server.replay(test)
    );
    assert!(tally.overloaded > 0, "the flood met the limit: {tally:?}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib(server.pid());
    assert!(
        after < before + 32 * 1024,
        "RSS {before} KiB before the flood, {after} KiB after\n{}",
        server.replay(test)
    );
    eprintln!("message flood: {tally:?}; RSS {before} KiB before, {after} KiB after");
    admitted(server, "after-message-flood", STEP, test).await;
}

/// What a flooding connection got back.
#[derive(Debug, Default)]
struct Tally {
    /// Messages answered (an `agent_completed` or an `error` naming them).
    answered: usize,
    overloaded: usize,
    /// The most runs started and not yet answered at once.
    max_in_flight: usize,
}

/// Read until `messages` are answered, each at most once (a second answer
/// fails), or the stream ends.
async fn tally_answers(
    stream: &mut futures_util::stream::SplitStream<Ws>,
    messages: usize,
) -> Tally {
    let mut tally = Tally::default();
    let mut answered = std::collections::BTreeSet::new();
    let mut in_flight = 0usize;
    while tally.answered < messages {
        let Ok(Some(Ok(Message::Text(text)))) = tokio::time::timeout(STEP, stream.next()).await
        else {
            break;
        };
        let event: Value = serde_json::from_str(&text).expect("JSON");
        let message = event["message_id"].as_str().unwrap_or_default().to_string();
        match event["type"].as_str() {
            Some("agent_started") => in_flight += 1,
            Some("agent_completed") => in_flight -= 1,
            Some("error") if event["run_id"].is_string() => in_flight -= 1,
            _ => {}
        }
        tally.max_in_flight = tally.max_in_flight.max(in_flight);
        if matches!(event["type"].as_str(), Some("agent_completed" | "error")) {
            assert!(answered.insert(message.clone()), "{message} answered twice");
            tally.answered += 1;
            if event["code"] == "overloaded" {
                tally.overloaded += 1;
            }
        }
    }
    tally
}

/// lb's cap and the echo route's cap and idle timeout, set low by flags:
/// past each cap a new connection is refused at once (503 unread, close
/// 1013), an idle echo connection is closed 1001, and a legitimate user
/// still gets in. Bad flag values are refused with exit 2.
#[test]
fn serve_s_caps_refuse_early_and_idle_echo_connections_are_closed() {
    const TEST: &str = "serve_s_caps_refuse_early_and_idle_echo_connections_are_closed";
    let flags = [
        "--max-lb-connections",
        "20",
        "--max-echo-connections",
        "3",
        "--idle-timeout",
        "2s",
    ];
    let server = Server::start(false, &flags);
    runtime().block_on(async {
        echo_cap_and_idle(&server, TEST).await;
        lb_cap(&server, TEST).await;
    });
    let (code, _, stderr) = support::stagesim(&["serve", "--header-timeout", "0s"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("`--header-timeout` takes a duration from 1ms to 1h"),
        "{stderr}"
    );
}

/// Three echo connections fill the route; a fourth is closed 1013; the
/// three, left idle, are closed 1001 after about 2 s.
async fn echo_cap_and_idle(server: &Server, test: &str) {
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut ws = open(server.lb, "/echo", None).await.expect("echo opens");
        ws.send(Message::text("hello")).await.expect("send");
        assert_eq!(
            tokio::time::timeout(STEP, ws.next())
                .await
                .ok()
                .flatten()
                .and_then(Result::ok),
            Some(Message::text("hello")),
            "echoed\n{}",
            server.replay(test)
        );
        held.push(ws);
    }
    let mut fourth = open(server.lb, "/echo", None).await.expect("upgrades");
    let refused = next(&mut fourth).await;
    assert_eq!(
        refused,
        Err((1013, "connection limit 3 reached".into())),
        "{}",
        server.replay(test)
    );
    for ws in &mut held {
        let closed = next(ws).await;
        assert_eq!(
            closed,
            Err((1001, "idle timeout".into())),
            "{}",
            server.replay(test)
        );
        // The close reply, so that the connection ends now, at lb too.
        let _ = ws.close(None).await;
    }
    let idle = started.elapsed();
    assert!(
        idle >= Duration::from_secs(2) && idle < Duration::from_secs(10),
        "closed after {idle:?}\n{}",
        server.replay(test)
    );
}

/// Twenty idle connections fill lb; the next is answered 503
/// `too_many_connections` at once, unread; when they go, a user gets in.
async fn lb_cap(server: &Server, test: &str) {
    // The echo connections' splices end a moment after their close.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let held = idle_flood(server.lb, 20).await;
    assert_eq!(held.len(), 20, "{}", server.replay(test));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut over = TcpStream::connect(server.lb).await.expect("connects");
    let mut answer = Vec::new();
    let read = tokio::time::timeout(STEP, over.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        read.is_ok()
            && answer.starts_with("HTTP/1.1 503")
            && answer.contains("too_many_connections"),
        "{answer:?} ({read:?})\n{}",
        server.replay(test)
    );
    drop(held);
    admitted(server, "after-lb-cap", STEP, test).await;
}
