//! Processes and threads: one process per host, a thread per user, thread
//! 0 for a server host's own events, and pools of threads that requests,
//! connections, validations and fault windows are laid on, so concurrency
//! reads as depth.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::SIM_PID;
use super::slices::{Place, Slice};
use crate::report::timeline::{Lane, Timeline, Track};

pub(super) fn host_pid(host: usize) -> u64 {
    host as u64 + 2
}

/// `(pid, tid)` of every place: users on their own thread, a host's own
/// events on thread 0, pooled places (requests, connections, validations,
/// fault windows) on the lowest thread free at their start.
pub(super) fn allocate(
    tl: &Timeline,
    slices: &BTreeMap<Place, Vec<Slice>>,
) -> BTreeMap<Place, (u64, u64)> {
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
pub(super) fn metadata(tl: &Timeline, threads: &BTreeMap<Place, (u64, u64)>, out: &mut Vec<Value>) {
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
