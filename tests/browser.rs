//! The HTML report in a real browser: headless Chromium (Debian's
//! `chromium`, which `.ci/run` installs) loads a report, runs its script,
//! and the DOM it dumps shows the lanes, the arrows and the violation
//! marker, scrolled into view; a screenshot is saved under `target/`.
//!
//! Without Chromium the tests say so and pass, except under `CI`, where a
//! missing browser is a failure (CI must run them).

#[path = "support/mod.rs"]
mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use scraper::{Html, Selector};
use stagesim::report::html;
use stagesim::scenario::Scenario;

/// How long one Chromium run may take before the test fails.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
const WINDOW: &str = "--window-size=1400,900";

/// The Chromium binary, or `None` (after saying why the test is skipped).
fn chromium() -> Option<PathBuf> {
    let mut candidates = vec![PathBuf::from("/usr/bin/chromium")];
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            candidates.push(dir.join("chromium"));
            candidates.push(dir.join("chromium-browser"));
        }
    }
    if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
        return Some(found);
    }
    assert!(
        !support::in_ci(),
        "CI is set but Chromium is not installed: .ci/run installs Debian's `chromium`"
    );
    support::skipped(
        "the browser test needs Chromium (`apt-get install chromium`); \
         not found on PATH or at /usr/bin/chromium, and CI is not set",
    );
    None
}

/// A fresh profile directory under `target/tmp`, removed on drop.
struct Profile(PathBuf);

impl Profile {
    fn new(name: &str) -> Self {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("chromium-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a Chromium profile directory");
        Profile(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Run headless Chromium on `url` with `extra` flags; its stdout.
fn browse(bin: &Path, name: &str, url: &str, extra: &[&str]) -> String {
    let profile = Profile::new(name);
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            WINDOW,
        ])
        .arg(format!("--user-data-dir={}", profile.0.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let deadline = Instant::now() + BROWSER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for Chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("Chromium took over {BROWSER_TIMEOUT:?} on {url}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = reader.join().expect("read Chromium's output");
    assert!(status.success(), "Chromium failed ({status}) on {url}");
    out
}

/// Write the report of `scenario` with `seed` under `target/tmp`.
fn write_report(name: &str, scenario: &Scenario, seed: u64) -> PathBuf {
    let outcome = stagesim::run::run(scenario, seed);
    let page = html::render(
        &outcome,
        scenario,
        &format!("stagesim run scenarios/{name}.toml --seed {seed}"),
    );
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}.html"));
    std::fs::write(&path, page).expect("write the report");
    path
}

fn url(path: &Path, fragment: &str) -> String {
    format!("file://{}{fragment}", path.display())
}

fn count(doc: &Html, css: &str) -> usize {
    doc.select(&Selector::parse(css).expect("selector")).count()
}

fn body_attr(doc: &Html, name: &str) -> String {
    let body = doc
        .select(&Selector::parse("body").unwrap())
        .next()
        .expect("a body");
    body.value()
        .attr(name)
        .unwrap_or_else(|| panic!("body has no {name}: the script did not finish"))
        .to_string()
}

fn number(doc: &Html, name: &str) -> usize {
    body_attr(doc, name)
        .parse()
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn a_regression_report_draws_lanes_arrows_and_the_violation_in_view() {
    let Some(bin) = chromium() else { return };
    let scenario = support::load("scenarios/regressions/orchestrator_singleton.toml");
    let page = write_report("orchestrator_singleton", &scenario, 1);

    let dom = browse(&bin, "dom", &url(&page, ""), &["--dump-dom"]);
    let doc = Html::parse_document(&dom);
    assert_eq!(
        body_attr(&doc, "data-rendered"),
        "ok",
        "the script ran to the end"
    );
    // faults, lb, gateway, auth, clients-1 and the two users.
    assert_eq!(number(&doc, "data-lanes"), 7);
    assert_eq!(number(&doc, "data-users"), 2);
    assert_eq!(count(&doc, "#tl-labels .lane-label.user"), 2);
    assert_eq!(count(&doc, "#tl-labels .lane-label.host"), 4);
    let arrows = number(&doc, "data-arrows");
    assert!(arrows >= 10, "arrows drawn: {arrows}");
    assert_eq!(count(&doc, "#tl-lanes line.arrow"), arrows);
    assert_eq!(
        count(&doc, "#tl-lanes line.arrow.close.defect"),
        1,
        "the 1011 close, in red"
    );
    // The violation: one marker, one line across the lanes, in view.
    assert_eq!(number(&doc, "data-violations"), 1);
    assert_eq!(
        count(
            &doc,
            "#tl-lanes g.violation#violation-0 circle.violation-marker"
        ),
        1
    );
    assert_eq!(count(&doc, "#tl-lanes line.violation-line"), 1);
    assert_eq!(body_attr(&doc, "data-focus"), "violation-0");
    assert_eq!(
        body_attr(&doc, "data-focus-in-view"),
        "yes",
        "scrolled into view"
    );
    // The 7 s pipeline initialisation is shaded, and the axis has labels.
    assert!(count(&doc, "#tl-lanes rect.win.startup") >= 1);
    assert!(count(&doc, "#tl-axis text.axis-label") >= 3);
    // Every idle gap cut out of the axis keeps its "+N s" label.
    let breaks = count(&doc, "#tl-axis rect.break");
    assert!(breaks >= 2, "idle gaps cut out: {breaks}");
    assert_eq!(count(&doc, "#tl-axis text.break-label"), breaks);

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-orchestrator_singleton.png");
    let _ = std::fs::remove_file(&shot);
    browse(
        &bin,
        "shot",
        &url(&page, ""),
        &[&format!("--screenshot={}", shot.display())],
    );
    let png = std::fs::read(&shot).expect("Chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    assert!(
        png.len() > 20_000,
        "a screenshot with something on it: {} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());
}

#[test]
fn a_large_run_shows_a_sample_and_the_filter_brings_any_user_in() {
    let Some(bin) = chromium() else { return };
    let mut scenario = support::load("scenarios/golden_path.toml");
    scenario.users[0].count = 120;
    scenario.users[0].messages = 1;
    let page = write_report("golden_path_120", &scenario, 1);

    let doc = Html::parse_document(&browse(&bin, "sample", &url(&page, ""), &["--dump-dom"]));
    assert_eq!(body_attr(&doc, "data-rendered"), "ok");
    assert_eq!(
        number(&doc, "data-users"),
        html::SAMPLE,
        "a sample of the users"
    );
    assert!(number(&doc, "data-arrows") > html::SAMPLE);

    // `#filter=` presets the filter box: one user's lane, any user.
    let one = url(&page, "#filter=user-0077");
    let doc = Html::parse_document(&browse(&bin, "filter", &one, &["--dump-dom"]));
    assert_eq!(number(&doc, "data-users"), 1);
    let label = doc
        .select(&Selector::parse("#tl-labels .lane-label.user").unwrap())
        .next()
        .expect("a user lane");
    assert_eq!(label.value().attr("data-lane"), Some("user-0077"));
    assert!(number(&doc, "data-arrows") >= 6, "that user's messages");
}

/// A page server for the WebSocket test: serves the page, takes the
/// result the page posts, and holds the page's load (a parser-blocking
/// script) until the result has arrived, so that `--dump-dom` returns once
/// the exchange is over rather than after a guessed wait.
struct PageServer {
    addr: std::net::SocketAddr,
    result: std::sync::Arc<(std::sync::Mutex<Option<String>>, std::sync::Condvar)>,
}

impl PageServer {
    fn start(page: String) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().expect("its address");
        let result = std::sync::Arc::new((std::sync::Mutex::new(None), std::sync::Condvar::new()));
        let shared = result.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (page, shared) = (page.clone(), shared.clone());
                std::thread::spawn(move || serve_page_request(stream, &page, &shared));
            }
        });
        PageServer { addr, result }
    }

    /// The result the page posted, waiting at most `within`.
    fn result(&self, within: Duration) -> Option<String> {
        let (lock, posted) = &*self.result;
        let guard = lock.lock().expect("result lock");
        let (guard, _) = posted
            .wait_timeout_while(guard, within, |r| r.is_none())
            .expect("result lock");
        guard.clone()
    }
}

type Posted = std::sync::Arc<(std::sync::Mutex<Option<String>>, std::sync::Condvar)>;

fn serve_page_request(mut stream: std::net::TcpStream, page: &str, posted: &Posted) {
    use std::io::{BufRead, BufReader, Write};
    let mut reader = BufReader::new(stream.try_clone().expect("clone the stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
            break;
        }
        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let (status, body, kind) = if request_line.starts_with("GET /page ") {
        ("200 OK", page.to_string(), "text/html")
    } else if request_line.starts_with("POST /result ") {
        let mut body = vec![0; length];
        let _ = reader.read_exact(&mut body);
        let (lock, cond) = &**posted;
        *lock.lock().expect("result lock") = Some(String::from_utf8_lossy(&body).into_owned());
        cond.notify_all();
        ("200 OK", String::new(), "text/plain")
    } else if request_line.starts_with("GET /wait ") {
        let (lock, cond) = &**posted;
        let guard = lock.lock().expect("result lock");
        let _ = cond.wait_timeout_while(guard, BROWSER_TIMEOUT, |r| r.is_none());
        (
            "200 OK",
            "/* the exchange is over */".to_string(),
            "text/javascript",
        )
    } else {
        ("404 Not Found", String::new(), "text/plain")
    };
    let _ = write!(
        stream,
        "HTTP/1.1 {status}\r\ncontent-type: {kind}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// The page: a browser's own WebSocket (which cannot set headers, so the
/// token goes in the subprotocol), one message, then the close; it posts
/// what it saw. A forged token's connection must close 1008 unanswered.
fn websocket_page(url: &str, token: &str, forged: &str) -> String {
    format!(
        r#"<!doctype html><html><body><pre id="out"></pre><script>
const seen = {{}};
function visit(name, token, send) {{
  return new Promise(done => {{
    const r = {{events: [], subprotocol: null, close: null, user_ids: []}};
    const ws = new WebSocket("{url}", ["jwt-auth", "jwt." + token]);
    ws.onopen = () => {{ r.subprotocol = ws.protocol || null; }};
    ws.onmessage = m => {{
      const ev = JSON.parse(m.data);
      r.events.push(ev.type); r.user_ids.push(ev.user_id);
      if (ev.type === "connection_established" && send)
        ws.send(JSON.stringify({{type: "user_message", message_id: "web-1", agent: "data_helper", text: "hi"}}));
      if (ev.type === "agent_completed") ws.close(1000, "done");
    }};
    ws.onclose = c => {{ r.close = c.code; seen[name] = r; done(); }};
  }});
}}
visit("valid", "{token}", true)
  .then(() => visit("forged", "{forged}", false))
  .then(() => fetch("/result", {{method: "POST", body: JSON.stringify(seen)}}))
  .then(() => {{ document.getElementById("out").textContent = JSON.stringify(seen); }});
</script><script src="/wait"></script></body></html>"#
    )
}

#[test]
fn chromium_chats_with_the_backend_over_its_own_websocket() {
    let Some(bin) = chromium() else { return };
    let served = support::Served::start("browser-secret");
    let (token, forged) = support::token_pair("web", "browser-secret");
    let pages = PageServer::start(websocket_page(&served.url(), &token, &forged));
    let page = format!("http://{}/page", pages.addr);
    let _dom = browse(&bin, "websocket", &page, &["--dump-dom"]);
    let posted = pages
        .result(Duration::from_secs(5))
        .expect("the page posted what it saw");
    let seen: serde_json::Value = serde_json::from_str(&posted).expect("JSON");
    support::assert_one_clean_chat(&seen["valid"], "web", true);
    assert_eq!(seen["forged"]["close"], 1008, "{seen}");
    assert_eq!(seen["forged"]["events"], serde_json::json!([]), "{seen}");
}
