//! One function turns a scenario and a seed into a simulation and runs it:
//! `Scenario + seed -> turmoil Sim (hosts, users, faults) -> Trace`.
//!
//! The host set is small and fixed (`lb`, `gateway`, `auth` and one to four
//! `clients-K`), because turmoil's cost grows with hosts^3 x ticks; users
//! are tasks on the client hosts. The driver loop is a few lines: jump over
//! the ticks in which nothing is due (never past the next fault), apply the
//! faults due now, step the simulation one tick, stop when every user is
//! finished or the scenario's time is up.
//!
//! Time is event-driven by default ([`Stepping::FastForward`]): the patched
//! turmoil (vendor/README.md) runs only hosts with something to do and skips
//! idle ticks. [`Stepping::EveryTick`] runs every host every tick, as
//! turmoil does unpatched; both give the same verdict (tests/stepping.rs),
//! not always the same bytes (tokio reseeds a runtime's RNG on each entry).

use std::rc::Rc;
use std::time::{Duration, SystemTime};

use crate::client::{self, ClientEnv, HealSignal, HealSwitch};
use crate::faults::FaultSchedule;
use crate::faults::sim::{Clocks, Driver, Handles};
use crate::net::HostClock;
use crate::net::{AUTH, GATEWAY, LB};
use crate::scenario::{PCT_DEPTH, PCT_POLLS, Scenario, Schedule};
use crate::services::backend::Backend;
use crate::services::gateway::Control;
use crate::services::middlebox::Middlebox;
use crate::trace::{Kind, Recorder, Trace};

/// Simulated wall-clock start of every run: 2026-01-01T00:00:00Z. Fixed, so
/// tokens minted in a run are the same bytes on every machine.
pub const EPOCH_SECS: u64 = 1_767_225_600;
/// Room in each host's TCP buffers and accept backlog: a full backlog
/// panics turmoil, and 10,000 users may arrive in one window.
const TCP_CAPACITY: usize = 1 << 16;

/// How the simulation advances its clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stepping {
    /// Run only the hosts with something to do, and jump over idle ticks.
    #[default]
    FastForward,
    /// Run every host every tick (turmoil's own behaviour): the reference
    /// the fast path is checked against.
    EveryTick,
}

/// Run `scenario` with `seed` to the end and return its trace.
pub fn simulate(scenario: &Scenario, seed: u64) -> Trace {
    simulate_stepping(scenario, seed, Stepping::default())
}

/// [`simulate`], stepping as asked.
pub fn simulate_stepping(scenario: &Scenario, seed: u64, stepping: Stepping) -> Trace {
    let mut sim = builder(scenario, seed, stepping).build();
    let recorder = Recorder::new();
    let sim_host: Rc<str> = Rc::from("sim");
    let (control, middlebox, auth_clock) = servers(&mut sim, scenario, seed, &recorder);
    let (heal, signal) = HealSwitch::new();
    let client_hosts = clients(&mut sim, scenario, seed, &recorder, &signal);
    let hosts: Vec<String> = client_hosts.iter().map(|(h, _)| h.clone()).collect();
    let mut clocks: Clocks = client_hosts.into_iter().collect();
    clocks.insert(AUTH.to_string(), auth_clock);
    let handles = Handles {
        control,
        middlebox,
        clocks,
    };
    let schedule = FaultSchedule::of(scenario, &hosts);
    let driver = Driver::new(schedule, scenario.auth.leeway, handles, recorder.clone());
    let phases = Phases {
        heal_at: scenario.duration,
        end: scenario.duration + scenario.expect.converge_within,
        heal,
    };
    let end = drive(&mut sim, driver, phases, &recorder, &sim_host);
    recorder.finish(end)
}

/// turmoil, configured from the scenario and seeded.
fn builder(scenario: &Scenario, seed: u64, stepping: Stepping) -> turmoil::Builder {
    let mut builder = turmoil::Builder::new();
    builder
        .rng_seed(crate::seed::turmoil_seed(seed))
        .fast_forward(stepping == Stepping::FastForward)
        .epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(EPOCH_SECS))
        .tick_duration(scenario.network.tick)
        // The driver stops at the scenario's duration; turmoil's own limit
        // is set past it so that it never fails the run first.
        .simulation_duration(
            scenario.duration + scenario.expect.converge_within + Duration::from_secs(1),
        )
        .tcp_capacity(TCP_CAPACITY)
        .min_message_latency(scenario.network.latency.min)
        .max_message_latency(scenario.network.latency.max);
    if let Some(timeout) = scenario.network.tcp_user_timeout {
        builder.tcp_user_timeout(timeout);
    }
    builder.task_order(task_order(scenario.world.schedule, seed));
    builder
}

/// turmoil's task order for `[world] schedule`. `random` and `pct` draw from
/// their own sub-seed, never from turmoil's RNG, so `fifo` runs as before.
pub fn task_order(schedule: Schedule, seed: u64) -> turmoil::TaskOrder {
    let seed = crate::seed::derive(seed, "schedule");
    match schedule {
        Schedule::Fifo => turmoil::TaskOrder::Fifo,
        Schedule::Random => turmoil::TaskOrder::Random { seed },
        Schedule::Pct => turmoil::TaskOrder::Pct {
            seed,
            depth: PCT_DEPTH,
            polls: PCT_POLLS,
        },
    }
}

/// The backend's hosts: auth, gateway, lb (in that order: host creation
/// order is part of the seeded run). Returns the driver's handles on the
/// gateway, on `lb`'s middlebox and on auth's clock.
fn servers(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    seed: u64,
    recorder: &Recorder,
) -> (Rc<Control>, Rc<Middlebox>, Rc<HostClock>) {
    let Backend {
        auth,
        gateway,
        lb,
        control,
    } = Backend::new(scenario, seed, recorder);
    let middlebox = lb.middlebox.clone();
    let auth_clock = auth.clock.clone();
    sim.host(AUTH, move || auth.clone().serve());
    sim.host(GATEWAY, move || gateway.clone().serve());
    sim.host(LB, move || lb.clone().serve());
    (control, middlebox, auth_clock)
}

/// Every user (declared in the trace at time zero with the stripped
/// headers) on the client hosts that run them; returns the hosts' names
/// and clocks.
fn clients(
    sim: &mut turmoil::Sim<'_>,
    scenario: &Scenario,
    seed: u64,
    recorder: &Recorder,
    heal: &HealSignal,
) -> Vec<(String, Rc<HostClock>)> {
    let mut hosts = Vec::new();
    for (host, mine) in client::plan::declare(scenario, seed, recorder) {
        let env = ClientEnv {
            seed,
            recorder: recorder.clone(),
            clock: Rc::default(),
            heal: heal.clone(),
        };
        hosts.push((host.clone(), env.clock.clone()));
        sim.client(host.as_str(), client::run_host(mine, env));
    }
    hosts
}

/// The two phases of a run: faults until `heal_at` (the scenario's
/// `duration`), then the heal until every user is idle or `end`.
struct Phases {
    heal_at: Duration,
    end: Duration,
    heal: HealSwitch,
}

/// The driver loop: skip idle ticks (not past the next fault or the heal),
/// apply the faults due, step one tick, until every user is finished. At
/// the heal, lift every fault and tell users to send nothing new; stop at
/// the heal phase's end if users are still busy. Returns when the run
/// stopped.
fn drive(
    sim: &mut turmoil::Sim<'_>,
    mut driver: Driver,
    phases: Phases,
    recorder: &Recorder,
    sim_host: &Rc<str>,
) -> Duration {
    let mut healed = false;
    loop {
        let limit = if healed { phases.end } else { phases.heal_at };
        // A no-op when stepping every tick.
        sim.skip_idle(driver.next_due().map_or(limit, |at| at.min(limit)));
        if !healed && sim.elapsed() >= phases.heal_at {
            driver.heal(sim, phases.end - phases.heal_at);
            phases.heal.raise();
            healed = true;
        }
        if sim.elapsed() >= phases.end {
            break;
        }
        driver.apply_due(sim);
        match sim.step() {
            Ok(true) => {
                if !healed {
                    driver.record_unreached(sim.elapsed());
                }
                return sim.elapsed();
            }
            Ok(false) => {}
            Err(e) => {
                let stopped = Kind::Stopped {
                    reason: e.to_string(),
                };
                recorder.record_at(sim.elapsed(), sim_host, None, stopped);
                return sim.elapsed();
            }
        }
    }
    sim.elapsed()
}
