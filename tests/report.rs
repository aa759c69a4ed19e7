//! `--report FILE.html` and `--chrome-trace FILE.json`: for every scenario
//! under `scenarios/`, the HTML report parses (html5ever, through
//! `scraper`) with no parse error and carries the run's facts and data,
//! and the Chrome trace holds to the Trace Event Format: the fields each
//! phase needs, names for every process and thread, properly nested `X`
//! spans, and flow `s`/`f` pairs whose ends sit inside a slice. Both are
//! byte-for-byte deterministic, and the command line writes them (or
//! exits 2 when it cannot).

#[path = "support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};

use scraper::{Html, Selector};
use serde_json::Value;
use stagesim::report::{chrome, html, timeline};
use stagesim::run::Outcome;
use stagesim::scenario::Scenario;

fn reproduce(rel: &str, seed: u64) -> String {
    format!("stagesim run {rel} --seed {seed}")
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<scraper::ElementRef<'a>> {
    let selector = Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e:?}"));
    doc.select(&selector).collect()
}

fn text_of(doc: &Html, css: &str) -> String {
    let found = select(doc, css);
    assert_eq!(found.len(), 1, "exactly one {css}");
    found[0].text().collect::<String>()
}

/// The HTML report of one run: parses cleanly, states the facts, embeds
/// data that matches the run, and loads nothing from the network.
fn check_html(rel: &str, scenario: &Scenario, outcome: &Outcome, page: &str) {
    let doc = Html::parse_document(page);
    assert!(
        doc.errors.is_empty(),
        "{rel}: HTML parse errors: {:?}",
        doc.errors
    );
    let title = text_of(&doc, "title");
    assert!(title.contains(&outcome.scenario), "{rel}: title {title}");
    assert_eq!(text_of(&doc, "#fact-scenario"), outcome.scenario, "{rel}");
    assert_eq!(
        text_of(&doc, "#fact-seed"),
        outcome.seed.to_string(),
        "{rel}"
    );
    assert_eq!(
        text_of(&doc, "#fact-verdict"),
        outcome.verdict.as_str(),
        "{rel}"
    );
    assert_eq!(text_of(&doc, "#fact-hash"), outcome.trace_hash(), "{rel}");
    assert_eq!(
        text_of(&doc, "#reproduce"),
        reproduce(rel, outcome.seed),
        "{rel}"
    );
    if !scenario.description.is_empty() {
        assert_eq!(text_of(&doc, ".description"), scenario.description, "{rel}");
    }
    assert_eq!(
        select(&doc, "tr.violation-row").len(),
        outcome.violations.len(),
        "{rel}: one row per violation"
    );
    for id in ["#filter", "#tl-lanes", "#tl-axis", "#tl-labels"] {
        assert_eq!(select(&doc, id).len(), 1, "{rel}: {id}");
    }

    check_self_contained(rel, &doc, page);
    check_embedded_data(rel, outcome, &doc);
}

/// Self-contained: no external resource, and the only URL is the SVG
/// namespace (an identifier, never fetched).
fn check_self_contained(rel: &str, doc: &Html, page: &str) {
    let external = select(doc, "[src], link[href], [href^='http']");
    assert!(
        external.is_empty(),
        "{rel}: external references {:?}",
        external.iter().map(|e| e.value()).collect::<Vec<_>>()
    );
    let urls = page.matches("http://").count() + page.matches("https://").count();
    let svg_ns = page.matches("http://www.w3.org/2000/svg").count();
    assert_eq!(urls, svg_ns, "{rel}: a URL other than the SVG namespace");
}

/// The data embedded for the page's script: counts that match the run,
/// and every index within its table.
fn check_embedded_data(rel: &str, outcome: &Outcome, doc: &Html) {
    let data = text_of(doc, "script#stagesim-data");
    let data: Value = serde_json::from_str(&data).unwrap_or_else(|e| panic!("{rel}: data: {e}"));
    let strs = data["strs"].as_array().expect("strs").len() as u64;
    let hosts = data["hosts"].as_array().expect("hosts").len() as u64;
    let users = data["users"].as_array().expect("users");
    assert_eq!(users.len() as u64, outcome.summary.users, "{rel}: users");
    assert_eq!(data["end"], outcome.trace.end.as_millis() as u64, "{rel}");
    assert_eq!(
        data["flags"].as_array().expect("flags").len(),
        outcome.violations.len(),
        "{rel}: flags"
    );
    let sample = data["sample"].as_array().expect("sample");
    assert!(
        sample.len() <= html::SAMPLE.max(users.len().min(html::SAMPLE)),
        "{rel}: sample"
    );
    for f in data["flags"].as_array().unwrap() {
        if f[1] == "u" {
            assert!(
                sample.contains(&f[2]),
                "{rel}: a violation's user is in the sample"
            );
        }
    }
    let index = |v: &Value, below: u64, what: &str| {
        let i = v.as_u64().unwrap_or_else(|| panic!("{rel}: {what} {v}"));
        assert!(i < below, "{rel}: {what} {i} out of range {below}");
    };
    for a in data["arrows"].as_array().expect("arrows") {
        index(&a[0], users.len() as u64, "arrow user");
        for end in [&a[1], &a[3]] {
            let e = end.as_i64().expect("arrow end");
            assert!(e >= -1 && e < hosts as i64, "{rel}: arrow end {e}");
        }
        assert!(
            a[2].as_u64() <= a[4].as_u64(),
            "{rel}: arrow goes back in time {a}"
        );
        index(&a[5], strs, "arrow class");
        index(&a[6], strs, "arrow text");
    }
    for list in data["user_marks"].as_array().expect("user_marks") {
        for m in list.as_array().unwrap() {
            index(&m[1], strs, "mark class");
            index(&m[2], strs, "mark text");
        }
    }
    for m in data["host_marks"].as_array().expect("host_marks") {
        index(&m[1], hosts, "mark host");
        index(&m[3], strs, "mark text");
    }
}

/// The Trace Event Format's required fields, per phase, and the shape
/// Perfetto needs to draw it: named processes and threads, nested spans,
/// flows bound to slices.
fn check_chrome(rel: &str, outcome: &Outcome, text: &str) -> BTreeMap<String, usize> {
    let doc: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{rel}: JSON: {e}"));
    let events = doc["traceEvents"].as_array().expect("traceEvents array");
    assert_eq!(doc["displayTimeUnit"], "ms", "{rel}");
    assert_eq!(
        doc["otherData"]["trace_hash"],
        outcome.trace_hash(),
        "{rel}"
    );
    let mut seen = Seen::default();
    let end_us = outcome.trace.end.as_micros() as u64;
    for e in events {
        let ph = e["ph"]
            .as_str()
            .unwrap_or_else(|| panic!("{rel}: no ph in {e}"));
        *seen.phases.entry(ph.to_string()).or_default() += 1;
        let pid = e["pid"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rel}: pid in {e}"));
        let tid = e["tid"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rel}: tid in {e}"));
        let name = e["name"]
            .as_str()
            .unwrap_or_else(|| panic!("{rel}: name in {e}"));
        if ph == "M" {
            seen.metadata(rel, e, name, (pid, tid));
        } else {
            seen.timed(rel, e, ph, (pid, tid), end_us);
        }
    }
    let Seen {
        mut phases,
        process_names,
        thread_names,
        used,
        mut spans,
        flows,
    } = seen;
    for (pid, tid) in &used {
        assert!(
            process_names.contains(pid),
            "{rel}: pid {pid} has no process_name"
        );
        assert!(
            thread_names.contains(&(*pid, *tid)),
            "{rel}: thread {pid}/{tid} has no thread_name"
        );
    }
    check_nesting(rel, &mut spans);
    check_flows(rel, &flows, &spans);
    check_instants(rel, outcome, events);
    let mut cats: BTreeMap<String, usize> = BTreeMap::new();
    for e in events.iter().filter(|e| e["ph"] == "X") {
        *cats
            .entry(e["cat"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    phases.extend(cats.into_iter().map(|(k, v)| (format!("X:{k}"), v)));
    phases
}

/// What `check_chrome` gathers from the events one by one, checked as a
/// whole after: phases counted, the named processes and threads and those
/// used, each thread's spans, and each flow's ends.
#[derive(Default)]
struct Seen<'a> {
    phases: BTreeMap<String, usize>,
    process_names: BTreeSet<u64>,
    thread_names: BTreeSet<(u64, u64)>,
    used: BTreeSet<(u64, u64)>,
    spans: BTreeMap<(u64, u64), Vec<(u64, u64)>>,
    flows: BTreeMap<u64, Vec<&'a Value>>,
}

impl<'a> Seen<'a> {
    /// A metadata event: a process or thread name, or a sort index.
    fn metadata(&mut self, rel: &str, e: &Value, name: &str, (pid, tid): (u64, u64)) {
        assert!(e["args"].is_object(), "{rel}: metadata args {e}");
        match name {
            "process_name" => {
                assert!(e["args"]["name"].is_string(), "{rel}: {e}");
                self.process_names.insert(pid);
            }
            "thread_name" => {
                assert!(e["args"]["name"].is_string(), "{rel}: {e}");
                self.thread_names.insert((pid, tid));
            }
            "process_sort_index" | "thread_sort_index" => {
                assert!(e["args"]["sort_index"].is_u64(), "{rel}: {e}")
            }
            other => panic!("{rel}: unknown metadata {other}"),
        }
    }

    /// A span, a flow end or an instant, on thread `(pid, tid)`.
    fn timed(&mut self, rel: &str, e: &'a Value, ph: &str, thread: (u64, u64), end_us: u64) {
        let ts = e["ts"]
            .as_u64()
            .unwrap_or_else(|| panic!("{rel}: ts in {e}"));
        assert!(e["cat"].is_string(), "{rel}: cat in {e}");
        self.used.insert(thread);
        match ph {
            "X" => {
                let dur = e["dur"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{rel}: X without dur {e}"));
                assert!(
                    ts + dur <= end_us + 1_000_000,
                    "{rel}: span past the run {e}"
                );
                self.spans.entry(thread).or_default().push((ts, ts + dur));
            }
            "s" | "f" => {
                let id = e["id"]
                    .as_u64()
                    .unwrap_or_else(|| panic!("{rel}: flow id {e}"));
                if ph == "f" {
                    assert_eq!(e["bp"], "e", "{rel}: flow end binds to its enclosing slice");
                }
                self.flows.entry(id).or_default().push(e);
            }
            "i" => {
                let scope = e["s"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{rel}: instant scope {e}"));
                assert!(["g", "p", "t"].contains(&scope), "{rel}: {e}");
            }
            other => panic!("{rel}: unexpected phase {other}"),
        }
    }
}

/// Spans on one thread nest: each ends before its parent does.
fn check_nesting(rel: &str, spans: &mut BTreeMap<(u64, u64), Vec<(u64, u64)>>) {
    for (thread, list) in spans {
        list.sort_by_key(|&(start, end)| (start, std::cmp::Reverse(end)));
        let mut stack: Vec<(u64, u64)> = Vec::new();
        for &(start, end) in list.iter() {
            while stack.last().is_some_and(|&(_, e)| e <= start) {
                stack.pop();
            }
            if let Some(&(ps, pe)) = stack.last() {
                assert!(
                    end <= pe,
                    "{rel}: span {start}..{end} overlaps {ps}..{pe} on thread {thread:?}"
                );
            }
            stack.push((start, end));
        }
    }
}

/// Flows: one start, one end, same name, forward in time, each end inside
/// a slice of its thread.
fn check_flows(
    rel: &str,
    flows: &BTreeMap<u64, Vec<&Value>>,
    spans: &BTreeMap<(u64, u64), Vec<(u64, u64)>>,
) {
    for (id, ends) in flows {
        let phs: Vec<&str> = ends.iter().map(|e| e["ph"].as_str().unwrap()).collect();
        assert_eq!(phs, ["s", "f"], "{rel}: flow {id} is one s then one f");
        assert_eq!(ends[0]["name"], ends[1]["name"], "{rel}: flow {id} names");
        assert!(
            ends[0]["ts"].as_u64() <= ends[1]["ts"].as_u64(),
            "{rel}: flow {id} goes back"
        );
        for e in ends {
            let thread = (e["pid"].as_u64().unwrap(), e["tid"].as_u64().unwrap());
            let ts = e["ts"].as_u64().unwrap();
            let inside = spans
                .get(&thread)
                .is_some_and(|l| l.iter().any(|&(s, end)| s <= ts && ts < end));
            assert!(
                inside,
                "{rel}: flow {id} end at {ts} on {thread:?} is in no slice"
            );
        }
    }
}

/// Faults and violations are instants: one global instant per fault event
/// of the trace, one per violation.
fn check_instants(rel: &str, outcome: &Outcome, events: &[Value]) {
    let instants: Vec<&Value> = events.iter().filter(|e| e["ph"] == "i").collect();
    let faults = outcome
        .trace
        .events
        .iter()
        .filter(|e| matches!(e.kind, stagesim::trace::Kind::Fault(_)))
        .count();
    assert_eq!(
        instants
            .iter()
            .filter(|e| e["cat"] == "fault" && e["s"] == "g")
            .count(),
        faults,
        "{rel}: one global instant per fault event"
    );
    assert_eq!(
        instants.iter().filter(|e| e["cat"] == "violation").count(),
        outcome.violations.len(),
        "{rel}: one instant per violation"
    );
}

#[test]
fn every_scenario_has_a_parsing_report_and_a_valid_chrome_trace() {
    let files = support::scenario_files();
    assert!(files.len() >= 10, "scenarios found: {files:?}");
    // Two workers: the simulations dominate, and the machine has two cores.
    let next = std::sync::atomic::AtomicUsize::new(0);
    let sizes = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(rel) = files.get(i) else { break };
                    let scenario = support::load(rel);
                    let outcome = stagesim::run::run(&scenario, 1);
                    let page = html::render(&outcome, &scenario, &reproduce(rel, 1));
                    check_html(rel, &scenario, &outcome, &page);
                    let trace = chrome::render(&outcome);
                    let phases = check_chrome(rel, &outcome, &trace);
                    if outcome.summary.messages.answered > 0 {
                        for needed in [
                            "X:connection",
                            "X:agent_run",
                            "X:lb_request",
                            "X:auth_validation",
                            "s",
                            "f",
                        ] {
                            assert!(
                                phases.contains_key(needed),
                                "{rel}: no {needed}: {phases:?}"
                            );
                        }
                    }
                    sizes
                        .lock()
                        .unwrap()
                        .insert(rel.clone(), (page.len(), trace.len()));
                }
            });
        }
    });
    let sizes = sizes.into_inner().unwrap();
    assert_eq!(sizes.len(), files.len());
    for (rel, (page, trace)) in &sizes {
        println!("{rel}: report {page} bytes, chrome trace {trace} bytes");
    }
    // 1,000 users stay a file a browser opens at once.
    let (page, _) = sizes["scenarios/many_users.toml"];
    assert!(page < 4 << 20, "many_users report is {page} bytes");
}

#[test]
fn a_regression_report_shows_its_violation_fault_windows_and_arrows() {
    let rel = "scenarios/regressions/orchestrator_singleton.toml";
    let scenario = support::load(rel);
    let outcome = stagesim::run::run(&scenario, 1);
    assert!(!outcome.violations.is_empty(), "seed 1 reproduces");
    let page = html::render(&outcome, &scenario, &reproduce(rel, 1));
    let doc = Html::parse_document(&page);
    let row = select(&doc, "tr.violation-row");
    let row_text: String = row[0].text().collect();
    assert!(row_text.contains("no_1011"), "{row_text}");
    assert!(row_text.contains("user-0002"), "{row_text}");
    let data: Value = serde_json::from_str(&text_of(&doc, "script#stagesim-data")).unwrap();
    let strs: Vec<&str> = data["strs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    // The pipeline's 7 s initialisation is a shaded startup window.
    let windows = data["windows"].as_array().unwrap();
    assert!(
        windows
            .iter()
            .any(|w| strs[w[3].as_u64().unwrap() as usize] == "startup"
                && strs[w[4].as_u64().unwrap() as usize].contains("pipeline")
                && w[1].as_u64().unwrap() - w[0].as_u64().unwrap() == 7000),
        "{windows:?}"
    );
    // The 1011 close travels gateway -> user, classed as a defect.
    let arrows = data["arrows"].as_array().unwrap();
    assert!(
        arrows
            .iter()
            .any(|a| strs[a[5].as_u64().unwrap() as usize].contains("defect")
                && strs[a[6].as_u64().unwrap() as usize] == "close 1011"),
        "{arrows:?}"
    );
    assert!(
        arrows
            .iter()
            .any(|a| strs[a[6].as_u64().unwrap() as usize].starts_with("user_message"))
    );
}

/// Fault windows are built from the trace alone (each fault's start and
/// end, paired by fault id), and agree with the scenario's faults.
#[test]
fn fault_windows_come_from_the_trace() {
    let rel = "scenarios/partition_gateway_auth.toml";
    let scenario = support::load(rel);
    let outcome = stagesim::run::run(&scenario, 1);
    let tl = timeline::Timeline::build(&outcome.trace, &outcome.violations);
    let faults: Vec<_> = tl
        .windows
        .iter()
        .filter(|w| w.kind == timeline::WindowKind::Fault)
        .collect();
    assert_eq!(faults.len(), scenario.faults.len(), "{:?}", tl.windows);
    let f = &scenario.faults[0];
    assert_eq!(faults[0].start, f.at());
    assert_eq!(faults[0].end, f.end());
    assert!(
        faults[0]
            .text
            .starts_with("#1 partition gateway <-> auth for "),
        "{}",
        faults[0].text
    );
    let names: Vec<&str> = faults[0]
        .hosts
        .iter()
        .map(|&h| tl.hosts[h].name.as_str())
        .collect();
    assert_eq!(names, ["gateway", "auth"]);

    let rel = "scenarios/header_stripping.toml";
    let scenario = support::load(rel);
    let outcome = stagesim::run::run(&scenario, 1);
    let tl = timeline::Timeline::build(&outcome.trace, &outcome.violations);
    let strip: Vec<_> = tl
        .windows
        .iter()
        .filter(|w| w.kind == timeline::WindowKind::Strip)
        .collect();
    assert_eq!(strip.len(), 1, "{:?}", tl.windows);
    assert_eq!(tl.hosts[strip[0].hosts[0]].name, "lb");
    assert_eq!(strip[0].end, outcome.trace.end);
}

#[test]
fn reports_are_deterministic() {
    let rel = "scenarios/regressions/orchestrator_singleton.toml";
    let scenario = support::load(rel);
    let a = stagesim::run::run(&scenario, 3);
    let b = stagesim::run::run(&scenario, 3);
    assert_eq!(
        html::render(&a, &scenario, "x"),
        html::render(&b, &scenario, "x"),
        "same run, same page"
    );
    assert_eq!(chrome::render(&a), chrome::render(&b));
}

#[test]
fn the_run_command_writes_both_files_and_refuses_an_unwritable_path() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("report-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let page = dir.join("run.html");
    let trace = dir.join("run.json");
    let rel = "scenarios/regressions/unknown_type_crash.toml";
    let (code, stdout, stderr) = support::stagesim(&[
        "run",
        rel,
        "--seed",
        "1",
        "--report",
        page.to_str().unwrap(),
        "--chrome-trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        stdout.contains("verdict"),
        "the summary is still printed: {stdout}"
    );
    let page = std::fs::read_to_string(&page).expect("report written");
    assert!(
        page.contains(&reproduce(rel, 1)),
        "the reproduce line is in the page"
    );
    let trace: Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).expect("trace written"))
            .expect("the Chrome trace is JSON");
    assert!(
        trace["traceEvents"]
            .as_array()
            .is_some_and(|e| !e.is_empty())
    );

    for flag in ["--report", "--chrome-trace"] {
        let missing = dir.join("no-such-dir").join("out");
        let (code, _, stderr) = support::stagesim(&["run", rel, flag, missing.to_str().unwrap()]);
        assert_eq!(
            code, 2,
            "{flag} to an unwritable path is bad usage: {stderr}"
        );
        assert!(stderr.contains("cannot write"), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
