//! Faults a live run can honour, applied on the wall clock as
//! `faults::sim` applies them on the simulated one: a gateway's drain or
//! restart (it closes every connection with 1001 or 1012 and stops; after
//! `for`, once it has stopped, it boots again), and the byte-level faults
//! of `lb`'s middlebox (`reset`, `slice`, `bandwidth`, `slow_close`,
//! `latency`), which work on real sockets as they do on simulated ones.
//! Every other action is refused before the run starts, with the reason.
//!
//! `faults::schedule -> plan (or a refusal) -> drive: sleep until each
//! action, drain the gateway, await its end, boot it again`.

use std::rc::Rc;
use std::time::Duration;

use super::bytes::ByteFaults;
use super::schedule::{Action, ByteChange, FaultId, FaultSchedule, Step};
use crate::net::GATEWAY;
use crate::scenario::{Fault, Scenario, Target};
use crate::services::gateway::{Control, Gateway};
use crate::services::middlebox::Middlebox;
use crate::trace::{FaultEvent, Kind, Recorder};

/// One gateway drain: when, with which close code, and how long the
/// gateway stays down at least.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// The fault it is, for the trace.
    pub fault: FaultId,
    pub at: Duration,
    pub code: u16,
    pub down_for: Duration,
}

/// What a live run applies: the gateway's drains in time order, and `lb`'s
/// byte changes.
#[derive(Debug, Clone, Default)]
pub struct Plan {
    pub drains: Vec<Drain>,
    pub bytes: Vec<Step<ByteChange>>,
}

/// The plan of `scenario`'s faults, or why one cannot run live.
pub fn plan(scenario: &Scenario) -> Result<Plan, String> {
    let schedule = FaultSchedule::of(scenario, &[]);
    // The first fault in file order that live cannot apply.
    let refused = schedule
        .network
        .iter()
        .filter(|s| !matches!(s.what, Action::Drain(..) | Action::Bounce(_)))
        .min_by_key(|s| s.fault);
    if let Some(step) = refused {
        return Err(refusal(
            step.fault,
            &scenario.faults[step.fault.0],
            &step.what,
        ));
    }
    let drains = schedule
        .network
        .iter()
        .filter_map(|step| match step.what {
            Action::Drain(_, code) => Some(Drain {
                fault: step.fault,
                at: step.at,
                code,
                down_for: scenario.faults[step.fault.0].lasts().unwrap_or_default(),
            }),
            _ => None,
        })
        .collect();
    Ok(Plan {
        drains,
        bytes: schedule.bytes,
    })
}

fn refusal(id: FaultId, fault: &Fault, action: &Action) -> String {
    let why = match action {
        Action::Crash(_) => {
            "a crash stops a host with no goodbye, and a live service's connections are \
             tasks that outlive any one of them (only the gateway's restart, which drains, \
             is honoured live)"
        }
        Action::Skew { .. } => {
            "live services share the machine's one clock, which stagesim does not set off"
        }
        _ => {
            "it acts on the network between hosts, which live runs on the machine's own \
             loopback with no proxy between the services"
        }
    };
    let host = match fault.target() {
        Target::Host(h) => format!(", host = \"{h}\""),
        Target::Link(_) => String::new(),
    };
    format!(
        "[[faults]] {id} (kind = \"{}\"{host}) cannot be honoured live: {why}. Run the scenario \
         simulated (stagesim run), or remove the fault to run it live.",
        fault.kind(),
    )
}

/// Apply `changes` to `lb`'s middlebox on the wall clock, recording each
/// as the simulation's driver does.
pub async fn drive_bytes(
    changes: Vec<Step<ByteChange>>,
    middlebox: Rc<Middlebox>,
    recorder: Recorder,
) {
    let started = tokio::time::Instant::now();
    let host: Rc<str> = Rc::from("sim");
    let mut schedule = ByteFaults::new(changes, middlebox);
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
            fault: drain.fault,
            host: GATEWAY.into(),
            code: drain.code,
        });
        // As simulated: the next boot waits for `for` and for the old boot
        // to have stopped, whichever is later.
        tokio::time::sleep_until(started + drain.at + drain.down_for).await;
        let _ = boot.await;
        record(FaultEvent::Restarted {
            fault: drain.fault,
            host: GATEWAY.into(),
        });
        boot = tokio::task::spawn_local(gateway.clone().serve());
    }
    // Dropping the handle detaches the last boot: it runs until the live run
    // ends.
    drop(boot);
}
