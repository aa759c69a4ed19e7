//! Faults a live run can honour, applied on the wall clock as the
//! simulation's driver applies them on the simulated one: a `drain` or a
//! `restart` of the gateway (it closes every connection with 1001 or 1012
//! and stops; after `for`, once it has stopped, it boots again), and the
//! byte-level faults of `lb`'s middlebox (`reset`, `slice`, `bandwidth`,
//! `slow_close`, `latency`), which work on real sockets as they do on
//! simulated ones. Every other fault is refused before the run starts, with
//! the reason.
//!
//! `Scenario faults -> plan (or a refusal) -> drive: sleep until each fault,
//! drain the gateway, await its end, boot it again`.

use std::rc::Rc;
use std::time::Duration;

use crate::net::GATEWAY;
use crate::scenario::{Fault, FaultKind, Scenario};
use crate::services::gateway::{Control, Gateway};
use crate::services::middlebox::Middlebox;
use crate::trace::{FaultEvent, Kind, Recorder};
use crate::world::ByteFaults;

/// One gateway drain: when, with which close code, and how long the
/// gateway stays down at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    pub at: Duration,
    pub code: u16,
    pub down_for: Duration,
}

/// The drains of `scenario`, in time order, or why it cannot run live.
pub fn plan(scenario: &Scenario) -> Result<Vec<Drain>, String> {
    let mut drains = Vec::new();
    for (i, f) in scenario.faults.iter().enumerate() {
        let code = match (f.kind, f.host.as_deref()) {
            (FaultKind::Drain, Some(GATEWAY)) => 1001,
            (FaultKind::Restart, Some(GATEWAY)) => 1012,
            // Driven by `drive_bytes`.
            (kind, _) if kind.is_byte_level() => continue,
            _ => return Err(refusal(i, f)),
        };
        drains.push(Drain {
            at: f.at,
            code,
            down_for: f.duration.unwrap_or_default(),
        });
    }
    drains.sort_by_key(|d| d.at);
    Ok(drains)
}

fn refusal(i: usize, f: &Fault) -> String {
    let why = match f.kind {
        FaultKind::Partition | FaultKind::LossyPartition | FaultKind::Hold => {
            "it acts on the network between hosts, which live runs on the machine's own \
             loopback with no proxy between the services"
        }
        FaultKind::Crash | FaultKind::Restart => {
            "a crash stops a host with no goodbye, and a live service's connections are \
             tasks that outlive any one of them (only the gateway's restart, which drains, \
             is honoured live)"
        }
        FaultKind::Drain => "only the gateway drains",
        FaultKind::Skew => {
            "live services share the machine's one clock, which stagesim does not set off"
        }
        FaultKind::Reset
        | FaultKind::Slice
        | FaultKind::Bandwidth
        | FaultKind::SlowClose
        | FaultKind::Latency => "it is honoured live; this refusal cannot happen",
    };
    format!(
        "[[faults]] #{} (kind = \"{}\"{}) cannot be honoured live: {why}. Run the scenario \
         simulated (stagesim run), or remove the fault to run it live.",
        i + 1,
        f.kind,
        f.host
            .as_deref()
            .map_or(String::new(), |h| format!(", host = \"{h}\""))
    )
}

/// Apply the byte-level faults of `faults` to `lb`'s middlebox on the wall
/// clock, recording each change as the simulation's driver does.
pub async fn drive_bytes(faults: Vec<Fault>, middlebox: Rc<Middlebox>, recorder: Recorder) {
    let started = tokio::time::Instant::now();
    let host: Rc<str> = Rc::from("sim");
    let mut schedule = ByteFaults::new(&faults, middlebox);
    while let Some(due) = schedule.next_due() {
        tokio::time::sleep_until(started + due).await;
        for event in schedule.apply_due(due) {
            recorder.record(&host, None, Kind::Fault(event));
        }
    }
}

/// Boot the gateway, then apply `drains` on the wall clock; runs until the
/// last drain's reboot (the services run on after it returns).
pub async fn drive(
    gateway: Rc<Gateway>,
    control: Rc<Control>,
    drains: Vec<Drain>,
    recorder: Recorder,
) {
    let started = tokio::time::Instant::now();
    let host: Rc<str> = Rc::from("sim");
    let record = |fault: FaultEvent| recorder.record(&host, None, Kind::Fault(fault));
    let mut boot = tokio::task::spawn_local(gateway.clone().serve());
    for drain in drains {
        tokio::time::sleep_until(started + drain.at).await;
        control.request_drain(drain.code);
        record(FaultEvent::Drain {
            host: GATEWAY.into(),
            code: drain.code,
        });
        // As simulated: the next boot waits for `for` and for the old boot
        // to have stopped, whichever is later.
        tokio::time::sleep_until(started + drain.at + drain.down_for).await;
        let _ = boot.await;
        record(FaultEvent::Restarted {
            host: GATEWAY.into(),
        });
        boot = tokio::task::spawn_local(gateway.clone().serve());
    }
    // Dropping the handle detaches the last boot: it runs until the live run
    // ends.
    drop(boot);
}
