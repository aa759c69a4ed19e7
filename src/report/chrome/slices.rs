//! From the timeline to `X` slices on places (a track, or a fault window),
//! and flow ends bound to them: `Timeline -> slices + flows -> threads`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::SIM_PID;
use crate::report::timeline::{Arrow, SpanKind, Timeline, Track, WindowKind};

/// Where a slice is drawn before pool threads are allocated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Place {
    Track(Track),
    /// A fault or stripping window on the `sim` process.
    Window(usize),
}

#[derive(Debug, Clone)]
pub(super) struct Slice {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) name: String,
    pub(super) cat: &'static str,
    pub(super) args: Value,
    pub(super) container: bool,
    /// Creation order: the last tie-break, so sorting is total.
    pub(super) order: usize,
}

/// A flow end: a place and a time inside a slice there.
pub(super) type FlowEnd = (Place, u64);

/// A message drawn as a flow: its two ends, text and class.
pub(super) struct Flow {
    pub(super) from: FlowEnd,
    pub(super) to: FlowEnd,
    pub(super) text: String,
    pub(super) class: String,
}

fn us(d: Duration) -> u64 {
    d.as_micros() as u64
}

/// The start of `d`'s simulated millisecond, in microseconds.
fn ms_us(d: Duration) -> u64 {
    (d.as_millis() as u64) * 1000
}

/// The slices of every place, as they are laid.
#[derive(Default)]
pub(super) struct Slices {
    pub(super) by_place: BTreeMap<Place, Vec<Slice>>,
    order: usize,
    /// Event slice starts per track and millisecond, in trace order.
    at_ms: BTreeMap<(Track, u64), Vec<u64>>,
    /// Each trace event's track and slice start.
    event_ts: BTreeMap<usize, (Track, u64)>,
}

impl Slices {
    fn push(&mut self, place: Place, mut s: Slice) {
        s.order = self.order;
        self.order += 1;
        self.by_place.entry(place).or_default().push(s);
    }

    /// Every event a short slice, 3 us after the last one on its track
    /// within the same millisecond; the driver's events are returned as
    /// global instants instead.
    pub(super) fn marks(&mut self, tl: &Timeline) -> Vec<Value> {
        let mut instants = Vec::new();
        for m in &tl.marks {
            if m.track == Track::Sim {
                instants.push(json!({
                    "ph": "i", "s": "g", "name": m.text, "cat": "fault",
                    "ts": us(m.at), "pid": SIM_PID, "tid": 0,
                }));
                continue;
            }
            let list = self.at_ms.entry((m.track, ms_us(m.at))).or_default();
            let ts = ms_us(m.at) + 3 * list.len() as u64;
            list.push(ts);
            self.event_ts.insert(m.event, (m.track, ts));
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
            let slice = Slice {
                start: ts,
                end: ts + 2,
                name,
                cat,
                args,
                container: false,
                order: 0,
            };
            self.push(Place::Track(m.track), slice);
        }
        instants
    }

    /// Spans, bounded by their events' slices where they have them.
    pub(super) fn spans(&mut self, tl: &Timeline) {
        for sp in &tl.spans {
            let on_track = |e: Option<usize>| {
                e.and_then(|e| self.event_ts.get(&e))
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
            let slice = Slice {
                start,
                end,
                name: sp.text.clone(),
                cat,
                args,
                container: sp.kind.holds_others(),
                order: 0,
            };
            self.push(Place::Track(sp.track), slice);
        }
    }

    /// Windows: startups on their host's own thread, faults on `sim`.
    pub(super) fn windows(&mut self, tl: &Timeline) {
        for (i, w) in tl.windows.iter().enumerate() {
            let hosts: Vec<&str> = w.hosts.iter().map(|&h| tl.hosts[h].name.as_str()).collect();
            let (from_ms, to_ms) = (w.start.as_millis() as u64, w.end.as_millis() as u64);
            let args = json!({ "hosts": hosts, "from_ms": from_ms, "to_ms": to_ms });
            let (place, cat) = match (w.kind, w.hosts.first()) {
                (WindowKind::Startup, Some(&h)) => (Place::Track(Track::Boot(h)), "startup"),
                _ => (Place::Window(i), "fault"),
            };
            let slice = Slice {
                start: ms_us(w.start),
                end: ms_us(w.end),
                name: w.text.clone(),
                cat,
                args,
                container: true,
                order: 0,
            };
            self.push(place, slice);
        }
    }

    /// Flows: each end on the event slice there (the last one at that
    /// millisecond for a sender, the first for a receiver), or on a slice
    /// of its own.
    pub(super) fn flows(&mut self, tl: &Timeline) -> Vec<Flow> {
        let mut flows = Vec::new();
        for a in &tl.arrows {
            let from = self.flow_end(tl, a, a.from, true);
            let to = self.flow_end(tl, a, a.to, false);
            flows.push(Flow {
                from,
                to,
                text: a.text.clone(),
                class: a.class.clone(),
            });
        }
        flows
    }

    fn flow_end(
        &mut self,
        tl: &Timeline,
        a: &Arrow,
        (at, track): (Duration, Track),
        sender: bool,
    ) -> FlowEnd {
        let key = (track, ms_us(at));
        let list = self.at_ms.entry(key).or_default();
        let ts = match (sender, list.first(), list.last()) {
            (true, _, Some(&last)) => last,
            (false, Some(&first), _) => first,
            _ => {
                let ts = key.1 + 3 * list.len() as u64;
                list.push(ts);
                let verb = if sender { "send" } else { "receive" };
                let slice = Slice {
                    start: ts,
                    end: ts + 2,
                    name: format!("{verb} {}", a.text),
                    cat: "message",
                    args: json!({ "user": tl.users[a.user].name }),
                    container: false,
                    order: 0,
                };
                self.push(Place::Track(track), slice);
                ts
            }
        };
        (Place::Track(track), ts + 1)
    }

    /// Make every place's slices properly nested.
    pub(super) fn nest(&mut self) {
        for list in self.by_place.values_mut() {
            nest(list);
        }
    }
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
