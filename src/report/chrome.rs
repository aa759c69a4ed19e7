//! `stagesim run --chrome-trace FILE.json`: the run in the Trace Event
//! Format, for Perfetto (ui.perfetto.dev) and chrome://tracing.
//!
//! Data flow: `Trace + violations -> report::timeline::Timeline
//! -> trace events` (the same timeline the HTML report draws); the
//! outcome adds the run's facts (`otherData`). The mapping:
//! - one process per host (`process_name` metadata): `sim` (the fault
//!   driver), `lb`, `gateway`, `auth`, each `clients-K`;
//! - threads: one per user on its client host; on a server host, thread 0
//!   for the host's own events (boot, startup windows) and a pool of
//!   threads that requests, gateway connections and auth validations are
//!   laid on, the lowest free one first, so concurrency reads as depth;
//! - `X` spans for handler work: a client connection, a backoff, an agent
//!   run (as the user saw it, and on the gateway from routing to its last
//!   event), a gateway connection from its first event to CLOSED, a load
//!   balancer request, an auth validation (from the gateway's call to
//!   auth's answer), startup windows; every trace event is a short `X`
//!   slice inside them, its text as the name;
//! - flow arrows (`s`, then `f` with `bp: "e"`, matching `id`) for
//!   messages: client -> lb -> gateway for an upgrade, gateway -> auth ->
//!   gateway, client -> gateway for a user_message, close frames both ways;
//! - instants (`i`): the driver's fault events (global scope) and the
//!   oracle's violations (on the thread they concern);
//! - timestamps in simulated microseconds. The simulation ticks whole
//!   milliseconds; events within one tick keep their trace order by
//!   sitting 3 us apart (`ms * 1000 + 3k`), and each event slice is 2 us
//!   long with its flow point in the middle, so every flow end binds to its
//!   slice. A span that would not nest in its parent extends the parent
//!   (by microseconds at most), so every thread is properly nested.
//!
//! Deterministic: built from ordered collections only, one event per line.
//!
//! Files: this one (the document), `slices` (timeline -> slices and flow
//! ends), `threads` (processes, thread pools and their names).

mod slices;
mod threads;

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::timeline::{Lane, Timeline, Track};
use crate::run::Outcome;

use slices::{Flow, Place, Slice, Slices};
use threads::{allocate, host_pid, metadata};

/// The process of the simulation driver; hosts follow from 2.
const SIM_PID: u64 = 1;

/// The Chrome trace of `outcome`, as JSON text.
pub fn render(outcome: &Outcome) -> String {
    let tl = Timeline::build(&outcome.trace, &outcome.violations);
    render_with(outcome, &tl)
}

/// The Chrome trace of `outcome` drawn from `tl`, its timeline (built once
/// when the HTML report is written too).
pub fn render_with(outcome: &Outcome, tl: &Timeline) -> String {
    let mut slices = Slices::default();
    let instants = slices.marks(tl);
    slices.spans(tl);
    slices.windows(tl);
    let flows = slices.flows(tl);
    // Nest every place's slices, then lay pooled places on threads.
    slices.nest();
    let threads = allocate(tl, &slices.by_place);

    let mut out: Vec<Value> = Vec::new();
    metadata(tl, &threads, &mut out);
    slice_events(&slices.by_place, &threads, &mut out);
    flow_events(&flows, &threads, &mut out);
    out.extend(instants);
    violation_events(tl, &threads, &mut out);
    document(outcome, &out)
}

type Threads = BTreeMap<Place, (u64, u64)>;

/// Every place's slices as `X` events, in start order.
fn slice_events(slices: &BTreeMap<Place, Vec<Slice>>, threads: &Threads, out: &mut Vec<Value>) {
    for (place, list) in slices {
        let (pid, tid) = threads[place];
        let mut list: Vec<&Slice> = list.iter().collect();
        list.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end), s.order));
        for s in list {
            out.push(json!({
                "ph": "X", "name": s.name, "cat": s.cat, "ts": s.start, "dur": s.end - s.start,
                "pid": pid, "tid": tid, "args": s.args,
            }));
        }
    }
}

/// Each flow as an `s` and an `f` with the same id.
fn flow_events(flows: &[Flow], threads: &Threads, out: &mut Vec<Value>) {
    for (i, flow) in flows.iter().enumerate() {
        let id = i as u64 + 1;
        let (text, class) = (&flow.text, &flow.class);
        let (pid, tid) = threads[&flow.from.0];
        out.push(json!({
            "ph": "s", "id": id, "name": text, "cat": "message", "ts": flow.from.1, "pid": pid, "tid": tid,
            "args": { "class": class },
        }));
        let (pid, tid) = threads[&flow.to.0];
        out.push(json!({
            "ph": "f", "bp": "e", "id": id, "name": text, "cat": "message", "ts": flow.to.1, "pid": pid, "tid": tid,
            "args": { "class": class },
        }));
    }
}

/// The oracle's violations, as instants on the thread they concern.
fn violation_events(tl: &Timeline, threads: &Threads, out: &mut Vec<Value>) {
    for f in &tl.flags {
        let (pid, tid) = match f.lane {
            Lane::User(u) => threads
                .get(&Place::Track(Track::User(u)))
                .copied()
                .unwrap_or((host_pid(tl.users[u].host), u as u64 + 1)),
            Lane::Host(h) => (host_pid(h), 0),
            Lane::Sim => (SIM_PID, 0),
        };
        out.push(json!({
            "ph": "i", "s": "t", "name": format!("violation: {}", f.invariant), "cat": "violation",
            "ts": f.at.as_micros() as u64, "pid": pid, "tid": tid,
            "args": { "invariant": f.invariant, "user": f.user, "host": f.host, "detail": f.detail },
        }));
    }
}

/// The JSON document: one trace event per line, then the run's facts.
fn document(outcome: &Outcome, events: &[Value]) -> String {
    let mut text = String::from("{\"traceEvents\":[\n");
    for (i, e) in events.iter().enumerate() {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&e.to_string());
    }
    let other = json!({
        "scenario": outcome.scenario,
        "seed": outcome.seed,
        "verdict": outcome.verdict.as_str(),
        "trace_hash": outcome.trace_hash(),
        "sim_ms": outcome.trace.end.as_millis() as u64,
        "time_unit": "simulated microseconds",
    });
    text.push_str(&format!(
        "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{other}\n}}\n"
    ));
    text
}
