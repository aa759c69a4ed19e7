//! `stagesim run --chrome-trace FILE.json`: the run in the Trace Event
//! Format, for Perfetto (ui.perfetto.dev) and chrome://tracing.
//!
//! Data flow: `Outcome + Scenario -> timeline::Timeline -> trace
//! events` (the same timeline the HTML report draws). The mapping:
//! - one process per host (`process_name` metadata): `sim` (the fault
//!   driver), `lb`, `gateway`, `auth`, each `clients-K`;
//! - threads: one per user on its client host; on a server host, thread 0
//!   for the host's own lines (boot, startup windows) and a pool of
//!   threads that requests, gateway connections and auth validations are
//!   laid on, the lowest free one first, so concurrency reads as depth;
//! - `X` spans for handler work: a client connection, a backoff, an agent
//!   run (as the user saw it, and on the gateway from routing to its last
//!   event), a gateway connection from its first line to CLOSED, a load
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

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::timeline::{Lane, SpanKind, Timeline, Track, WindowKind};
use crate::run::Outcome;
use crate::scenario::Scenario;

/// The process of the simulation driver; hosts follow from 2.
const SIM_PID: u64 = 1;

/// Where a slice is drawn before pool threads are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Place {
    Track(Track),
    /// A fault or stripping window on the `sim` process.
    Window(usize),
}

#[derive(Debug, Clone)]
struct Slice {
    start: u64,
    end: u64,
    name: String,
    cat: &'static str,
    args: Value,
    container: bool,
    /// Creation order: the last tie-break, so sorting is total.
    order: usize,
}

/// A flow end: a place and a time inside a slice there.
type FlowEnd = (Place, u64);

/// The Chrome trace of `outcome`, a run of `scenario`, as JSON text.
pub fn render(outcome: &Outcome, scenario: &Scenario) -> String {
    let tl = Timeline::build(&outcome.trace, &outcome.violations, scenario);
    render_with(outcome, &tl)
}

/// The Chrome trace of `outcome` drawn from `tl`, its timeline (built once
/// when the HTML report is written too).
pub fn render_with(outcome: &Outcome, tl: &Timeline) -> String {
    let mut slices: BTreeMap<Place, Vec<Slice>> = BTreeMap::new();
    let mut order = 0;
    let mut push = |slices: &mut BTreeMap<Place, Vec<Slice>>, place: Place, mut s: Slice| {
        s.order = order;
        order += 1;
        slices.entry(place).or_default().push(s);
    };
    let us = |d: Duration| d.as_micros() as u64;
    let ms_us = |d: Duration| (d.as_millis() as u64) * 1000;

    // Every event a short slice, 3 us after the last one on its track
    // within the same millisecond.
    let mut at_ms: BTreeMap<(Track, u64), Vec<u64>> = BTreeMap::new();
    let mut event_ts: BTreeMap<usize, (Track, u64)> = BTreeMap::new();
    let mut instants = Vec::new();
    for m in &tl.marks {
        if m.track == Track::Sim {
            instants.push(json!({
                "ph": "i", "s": "g", "name": m.text, "cat": "fault",
                "ts": us(m.at), "pid": SIM_PID, "tid": 0,
            }));
            continue;
        }
        let list = at_ms.entry((m.track, ms_us(m.at))).or_default();
        let ts = ms_us(m.at) + 3 * list.len() as u64;
        list.push(ts);
        event_ts.insert(m.event, (m.track, ts));
        let mut args = json!({ "class": m.class });
        if let Some(u) = m.user {
            args["user"] = json!(tl.users[u].name);
        }
        if let Some(seq) = m.seq {
            args["seq"] = json!(seq);
        }
        let cat = if matches!(m.track, Track::User(_)) {
            "client"
        } else {
            "server"
        };
        let name = match m.seq {
            Some(seq) => format!("{} seq={seq}", m.text),
            None => m.text.clone(),
        };
        push(
            &mut slices,
            Place::Track(m.track),
            Slice {
                start: ts,
                end: ts + 2,
                name,
                cat,
                args,
                container: false,
                order: 0,
            },
        );
    }

    // Spans, bounded by their events' slices where they have them.
    for sp in &tl.spans {
        let on_track = |e: Option<usize>| {
            e.and_then(|e| event_ts.get(&e))
                .filter(|(track, _)| *track == sp.track)
                .map(|(_, ts)| *ts)
        };
        let start = on_track(sp.start_event).unwrap_or(ms_us(sp.start));
        let end = on_track(sp.end_event)
            .map(|ts| ts + 2)
            .unwrap_or(ms_us(sp.end))
            .max(start);
        let mut args = json!({ "class": sp.class });
        if let Some(u) = sp.user {
            args["user"] = json!(tl.users[u].name);
        }
        let cat = match sp.kind {
            SpanKind::Conn => "connection",
            SpanKind::Run => "agent_run",
            SpanKind::Backoff => "backoff",
            SpanKind::Request => "lb_request",
            SpanKind::Validation => "auth_validation",
        };
        push(
            &mut slices,
            Place::Track(sp.track),
            Slice {
                start,
                end,
                name: sp.text.clone(),
                cat,
                args,
                container: sp.kind.holds_others(),
                order: 0,
            },
        );
    }

    // Windows: startups on their host's own thread, faults on `sim`.
    for (i, w) in tl.windows.iter().enumerate() {
        let hosts: Vec<&str> = w.hosts.iter().map(|&h| tl.hosts[h].name.as_str()).collect();
        let args = json!({ "hosts": hosts, "from_ms": w.start.as_millis() as u64, "to_ms": w.end.as_millis() as u64 });
        let (place, cat) = match (w.kind, w.hosts.first()) {
            (WindowKind::Startup, Some(&h)) => (Place::Track(Track::Boot(h)), "startup"),
            _ => (Place::Window(i), "fault"),
        };
        push(
            &mut slices,
            place,
            Slice {
                start: ms_us(w.start),
                end: ms_us(w.end),
                name: w.text.clone(),
                cat,
                args,
                container: true,
                order: 0,
            },
        );
    }

    // Flows: each end on the event slice there (the last one at that
    // millisecond for a sender, the first for a receiver), or on a slice
    // of its own.
    let mut flows: Vec<(FlowEnd, FlowEnd, String, String)> = Vec::new();
    for a in &tl.arrows {
        let mut end = |(at, track): (Duration, Track), sender: bool| -> FlowEnd {
            let key = (track, ms_us(at));
            let list = at_ms.entry(key).or_default();
            let ts = match (sender, list.first(), list.last()) {
                (true, _, Some(&last)) => last,
                (false, Some(&first), _) => first,
                _ => {
                    let ts = key.1 + 3 * list.len() as u64;
                    list.push(ts);
                    let verb = if sender { "send" } else { "receive" };
                    push(
                        &mut slices,
                        Place::Track(track),
                        Slice {
                            start: ts,
                            end: ts + 2,
                            name: format!("{verb} {}", a.text),
                            cat: "message",
                            args: json!({ "user": tl.users[a.user].name }),
                            container: false,
                            order: 0,
                        },
                    );
                    ts
                }
            };
            (Place::Track(track), ts + 1)
        };
        let from = end(a.from, true);
        let to = end(a.to, false);
        flows.push((from, to, a.text.clone(), a.class.clone()));
    }

    // Nest every place's slices, then lay pooled places on threads.
    for list in slices.values_mut() {
        nest(list);
    }
    let threads = allocate(tl, &slices);

    let mut out: Vec<Value> = Vec::new();
    metadata(tl, &threads, &mut out);
    for (place, list) in &slices {
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
    for (i, (from, to, text, class)) in flows.iter().enumerate() {
        let id = i as u64 + 1;
        let (pid, tid) = threads[&from.0];
        out.push(json!({
            "ph": "s", "id": id, "name": text, "cat": "message", "ts": from.1, "pid": pid, "tid": tid,
            "args": { "class": class },
        }));
        let (pid, tid) = threads[&to.0];
        out.push(json!({
            "ph": "f", "bp": "e", "id": id, "name": text, "cat": "message", "ts": to.1, "pid": pid, "tid": tid,
            "args": { "class": class },
        }));
    }
    out.extend(instants);
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
            "ts": us(f.at), "pid": pid, "tid": tid,
            "args": { "invariant": f.invariant, "user": f.user, "host": f.host, "detail": f.detail },
        }));
    }

    let mut text = String::from("{\"traceEvents\":[\n");
    for (i, e) in out.iter().enumerate() {
        if i > 0 {
            text.push_str(",\n");
        }
        text.push_str(&e.to_string());
    }
    let other = json!({
        "scenario": outcome.scenario,
        "seed": outcome.seed,
        "verdict": outcome.verdict.as_str(),
        "trace_hash": outcome.trace_hash,
        "sim_ms": outcome.trace.end.as_millis() as u64,
        "time_unit": "simulated microseconds",
    });
    text.push_str(&format!(
        "\n],\n\"displayTimeUnit\":\"ms\",\n\"otherData\":{other}\n}}\n"
    ));
    text
}

fn host_pid(host: usize) -> u64 {
    host as u64 + 2
}

/// Make `list` properly nested: sorted by start (longest first), a slice
/// that starts inside another but ends after it extends that one and its
/// ancestors.
fn nest(list: &mut [Slice]) {
    list.sort_by(|a, b| {
        (
            a.start,
            std::cmp::Reverse(a.end),
            std::cmp::Reverse(a.container),
            a.order,
        )
            .cmp(&(
                b.start,
                std::cmp::Reverse(b.end),
                std::cmp::Reverse(b.container),
                b.order,
            ))
    });
    let mut stack: Vec<usize> = Vec::new();
    for i in 0..list.len() {
        while let Some(&top) = stack.last() {
            if list[top].end <= list[i].start {
                stack.pop();
            } else {
                break;
            }
        }
        let end = list[i].end;
        for &j in &stack {
            if list[j].end < end {
                list[j].end = end;
            }
        }
        stack.push(i);
    }
}

/// `(pid, tid)` of every place: users on their own thread, a host's own
/// lines on thread 0, pooled places (requests, connections, validations,
/// fault windows) on the lowest thread free at their start.
fn allocate(tl: &Timeline, slices: &BTreeMap<Place, Vec<Slice>>) -> BTreeMap<Place, (u64, u64)> {
    let mut threads = BTreeMap::new();
    let mut pools: BTreeMap<u64, Vec<(u64, u64, Place)>> = BTreeMap::new();
    for (place, list) in slices {
        let start = list.iter().map(|s| s.start).min().unwrap_or(0);
        let end = list.iter().map(|s| s.end).max().unwrap_or(0);
        let pid = match place {
            Place::Window(_) | Place::Track(Track::Sim) => SIM_PID,
            Place::Track(Track::Boot(h)) => host_pid(*h),
            Place::Track(Track::User(u)) => host_pid(tl.users[*u].host),
            Place::Track(t @ (Track::Gateway(_) | Track::Lb(_) | Track::Auth(_))) => {
                match t.lane(tl) {
                    Lane::Host(h) => host_pid(h),
                    _ => SIM_PID,
                }
            }
        };
        match place {
            Place::Track(Track::Sim | Track::Boot(_)) => {
                threads.insert(*place, (pid, 0));
            }
            Place::Track(Track::User(u)) => {
                threads.insert(*place, (pid, *u as u64 + 1));
            }
            _ => pools.entry(pid).or_default().push((start, end, *place)),
        }
    }
    for (pid, mut places) in pools {
        places.sort();
        let mut free_at: Vec<u64> = Vec::new();
        for (start, end, place) in places {
            let slot = match free_at.iter().position(|&f| f <= start) {
                Some(slot) => slot,
                None => {
                    free_at.push(0);
                    free_at.len() - 1
                }
            };
            free_at[slot] = end.max(start + 1);
            threads.insert(place, (pid, slot as u64 + 1));
        }
    }
    threads
}

/// Process and thread names, in a fixed order.
fn metadata(tl: &Timeline, threads: &BTreeMap<Place, (u64, u64)>, out: &mut Vec<Value>) {
    let meta = |name: &str, pid: u64, tid: u64, args: Value| json!({ "ph": "M", "name": name, "pid": pid, "tid": tid, "args": args });
    out.push(meta(
        "process_name",
        SIM_PID,
        0,
        json!({ "name": "sim (faults)" }),
    ));
    out.push(meta(
        "process_sort_index",
        SIM_PID,
        0,
        json!({ "sort_index": 0 }),
    ));
    out.push(meta("thread_name", SIM_PID, 0, json!({ "name": "driver" })));
    for (h, host) in tl.hosts.iter().enumerate() {
        let pid = host_pid(h);
        out.push(meta("process_name", pid, 0, json!({ "name": host.name })));
        out.push(meta(
            "process_sort_index",
            pid,
            0,
            json!({ "sort_index": pid }),
        ));
        if !host.clients {
            out.push(meta(
                "thread_name",
                pid,
                0,
                json!({ "name": format!("{} (host)", host.name) }),
            ));
        }
    }
    let mut named: BTreeMap<(u64, u64), String> = BTreeMap::new();
    for (place, &(pid, tid)) in threads {
        let name = match place {
            Place::Track(Track::User(u)) => tl.users[*u].name.clone(),
            Place::Track(Track::Gateway(_)) => format!("connections {tid}"),
            Place::Track(Track::Lb(_)) => format!("requests {tid}"),
            Place::Track(Track::Auth(_)) => format!("validations {tid}"),
            Place::Window(_) => format!("faults {tid}"),
            Place::Track(Track::Sim | Track::Boot(_)) => continue,
        };
        named.entry((pid, tid)).or_insert(name);
    }
    for ((pid, tid), name) in named {
        out.push(meta("thread_name", pid, tid, json!({ "name": name })));
        out.push(meta(
            "thread_sort_index",
            pid,
            tid,
            json!({ "sort_index": tid }),
        ));
    }
}
