//! `stagesim record`: a recording proxy in front of any backend. It is
//! live mode's `lb` (its middlebox splices every connection) with a tap
//! that writes down what each connection shows, and it turns the
//! recording into a scenario the simulation can run.
//!
//! `clients -> record's lb (services::tap -> conn::Observer ->
//! journal::Journal -> DIR/observed.jsonl) -> the backend at --target`;
//! when it stops (Ctrl-C or `--for`): `observed.jsonl -> infer ->
//! DIR/scenario.toml` and `-> observed (the oracle) -> DIR/observed.json`.
//! Memory while recording is a few kilobytes per open connection (two
//! frame readers, at most one message each); the traffic goes to disk.

mod conn;
mod frames;
mod infer;
mod journal;
mod observed;

pub use journal::{Counts, Entry, Message, What, read_back};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use crate::live::Target;
use crate::net::{GATEWAY, LB, LiveNet, go_live};
use crate::scenario::{Expected, Scenario};
use crate::services::lb::LoadBalancer;
use crate::services::limits::Limits;
use crate::trace::Recorder;

/// The files a recording writes into its directory.
pub const JOURNAL: &str = "observed.jsonl";
pub const OBSERVED: &str = "observed.json";
pub const SCENARIO: &str = "scenario.toml";

/// How to record.
#[derive(Debug, Clone)]
pub struct RecordOptions {
    pub listen: SocketAddr,
    pub target: Target,
    /// Tell token kinds apart (`--secret` given), with `secret` (`None`:
    /// tokens' built-in one). The secret and the tokens are never written.
    pub check_tokens: bool,
    pub secret: Option<String>,
    /// Stop after this long; default: at Ctrl-C.
    pub duration: Option<Duration>,
    pub out: PathBuf,
    /// Keep message texts in the journal.
    pub bodies: bool,
}

/// What a finished recording wrote.
#[derive(Debug)]
pub struct Recorded {
    pub counts: Counts,
    /// Connections still open when recording stopped (left unclosed).
    pub still_open: u64,
    pub elapsed: Duration,
    pub scenario: Scenario,
    pub verdict: crate::oracle::Verdict,
    pub violations: usize,
}

/// Refuse a directory that already holds a recording: one recording's
/// files are never overwritten by another's.
pub fn check_out(dir: &Path) -> Result<(), String> {
    for name in [JOURNAL, OBSERVED, SCENARIO] {
        let path = dir.join(name);
        if path.exists() {
            return Err(format!(
                "{} exists: {} already holds a recording; give another --out",
                path.display(),
                dir.display()
            ));
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))
}

/// Record until Ctrl-C or `duration`, then write the scenario and the
/// judged observation. `listening` is told the address once it listens;
/// `progress` is called about once a second.
pub fn record(
    options: &RecordOptions,
    listening: impl FnOnce(SocketAddr),
    mut progress: impl FnMut(Counts, Duration),
) -> Result<Recorded, String> {
    check_out(&options.out)?;
    let journal_path = options.out.join(JOURNAL);
    let journal = journal::Journal::create(&journal_path, options.bodies)
        .map_err(|e| format!("cannot write {}: {e}", journal_path.display()))?;
    let journal = Rc::new(journal);
    let net = LiveNet::bind(&[(LB, options.listen)])
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?
        .with_address(GATEWAY, options.target.addr)
        .with_secret(options.secret.clone());
    let rt = crate::live::runtime()?;
    let local = tokio::task::LocalSet::new();
    let (_live, net) = go_live(net);
    let elapsed = local.block_on(&rt, async {
        let observer = conn::Observer::new(journal.clone(), options.check_tokens);
        tokio::task::spawn_local(proxy(&options.target, Rc::new(observer)).serve());
        listening(net.addr(LB).expect("lb was bound"));
        let until = async {
            match options.duration {
                Some(d) => tokio::time::sleep(d).await,
                None => std::future::pending().await,
            }
        };
        let mut ticks = tokio::time::interval(Duration::from_secs(1));
        // One listener for the whole recording: a signal between two
        // iterations is not lost.
        let interrupted = tokio::signal::ctrl_c();
        tokio::pin!(until, interrupted);
        loop {
            tokio::select! {
                _ = &mut interrupted => break,
                () = &mut until => break,
                _ = ticks.tick() => progress(journal.counts.get(), net.elapsed()),
            }
        }
        net.elapsed()
    });
    // Connections still open are left open in the journal: nobody closed
    // them, the recording ended. Dropping the tasks drops their observers.
    journal.stop();
    let still_open = journal.counts.get().open;
    drop(local);
    journal
        .finish()
        .map_err(|e| format!("cannot write {}: {e}", journal_path.display()))?;
    let counts = journal.counts.get();
    let tokens_checked = options.check_tokens;
    let mut recorded = finish(&options.out, elapsed, tokens_checked, still_open)?;
    recorded.counts = counts;
    Ok(recorded)
}

/// Record's `lb`: live mode's, forwarding every upgrade to the target's
/// path, with the observer's tap and no faults.
fn proxy(target: &Target, observer: Rc<conn::Observer>) -> Rc<LoadBalancer> {
    Rc::new(LoadBalancer {
        strip_headers: Vec::new(),
        recorder: Recorder::discarding(),
        host: Rc::from(LB),
        upstream_path: Some(target.path.clone()),
        middlebox: Rc::default(),
        limits: Limits::live(),
        open: Default::default(),
        tap: Some(observer),
    })
}

/// From `DIR/observed.jsonl`: infer the scenario, judge the recording,
/// write `scenario.toml` and `observed.json`.
pub fn finish(
    dir: &Path,
    elapsed: Duration,
    tokens_checked: bool,
    still_open: u64,
) -> Result<Recorded, String> {
    let entries = read_back(&dir.join(JOURNAL))?;
    let (mut scenario, group_of) = infer::scenario(&entries, elapsed);
    let outcome = judge(&entries, &scenario, &group_of, elapsed, tokens_checked);
    let observed = observed::json(&outcome, tokens_checked, still_open);
    write(dir, OBSERVED, &format!("{observed:#}\n"))?;
    scenario.expect.violations = expected(&outcome.violations);
    let text = scenario_text(&scenario, &entries, &group_of);
    let path = dir.join(SCENARIO);
    // The promise is that it runs with no edits: hold it here.
    crate::scenario::parse(&text, &path)
        .map_err(|e| format!("stagesim bug: the inferred scenario does not load: {e}"))?;
    write(dir, SCENARIO, &text)?;
    Ok(Recorded {
        counts: Counts::default(),
        still_open,
        elapsed,
        scenario,
        verdict: outcome.verdict,
        violations: outcome.violations.len(),
    })
}

fn judge(
    entries: &[Entry],
    scenario: &Scenario,
    group_of: &BTreeMap<String, usize>,
    end: Duration,
    tokens_checked: bool,
) -> crate::run::Outcome {
    let trace = observed::trace(entries, group_of, scenario, end);
    observed::judge(scenario, trace, tokens_checked)
}

/// `observed.json`'s object for a directory that holds only a journal (a
/// recording that was killed before it finished): judged again from it.
/// Tokens count as checked if the journal names any token's kind.
pub fn observed_of_journal(dir: &Path) -> Result<serde_json::Value, String> {
    let entries = read_back(&dir.join(JOURNAL))?;
    let end = entries.last().map_or(Duration::ZERO, Entry::at);
    let checked = entries.iter().any(|e| {
        matches!(&e.what, What::Connecting { token, .. } if token != "unknown" && token != "none")
    });
    let (scenario, group_of) = infer::scenario(&entries, end);
    let outcome = judge(&entries, &scenario, &group_of, end, checked);
    Ok(observed::json(&outcome, checked, 0))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<(), String> {
    let path = dir.join(name);
    crate::atomic_file::write(&path, text.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// One expectation per invariant and component observed to break.
fn expected(violations: &[crate::oracle::Violation]) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for v in violations {
        let e = Expected {
            component: v.component.map(|c| c.key().to_string()),
            ..Expected::invariant(v.invariant)
        };
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// The scenario file: a header, the scenario, and in its `[expect]`
/// table the observed close codes by group and five-second window, as
/// comments (the format has no key for them).
fn scenario_text(
    scenario: &Scenario,
    entries: &[Entry],
    group_of: &BTreeMap<String, usize>,
) -> String {
    let mut closes: BTreeMap<(usize, u64, u16), u64> = BTreeMap::new();
    for e in entries {
        if let What::Closed { code, .. } | What::HttpRejected { status: code } = &e.what {
            let group = group_of.get(&e.user).copied().unwrap_or(0);
            *closes
                .entry((group, e.at().as_secs() / 5, *code))
                .or_default() += 1;
        }
    }
    let mut notes =
        String::from("# Observed close codes (and HTTP refusals) by group and 5 s window:\n");
    for ((group, window, code), n) in &closes {
        let (from, to) = (window * 5, window * 5 + 5);
        notes.push_str(&format!(
            "#   group {}, {from}s-{to}s: {code} x{n}\n",
            group + 1
        ));
    }
    let body = crate::scenario::to_toml(scenario);
    let body = match body.find("[expect]\n") {
        Some(i) => format!("{}[expect]\n{notes}{}", &body[..i], &body[i + 9..]),
        None => format!("{body}\n[expect]\n{notes}"),
    };
    format!(
        "# Inferred by `stagesim record` from what clients saw through its proxy.\n\
         # Users, faults and [agents] startup are estimates; see docs/record.md.\n\n{body}"
    )
}
