//! `stagesim live`: a scenario in real time on 127.0.0.1, judged by the same
//! oracle as a simulation.
//!
//! `Scenario + seed -> net::LiveNet (free ports) -> the services of
//! services::backend and the users of client::plan, on one thread with
//! tokio's sockets and the wall clock -> Trace (real elapsed times) ->
//! run::judge`. With a target (`ws://HOST:PORT/PATH`), our `lb` forwards
//! to that backend instead of our gateway and auth, and the same users and
//! oracle judge it (docs/wire-protocol.md says what it must speak). The
//! seed fixes the plan (who arrives when, with which token,
//! what they send, the services' own random draws), not the timing: the
//! machine schedules the rest, so two live runs with one seed may differ.

use crate::run::target_notes::{self, TargetNotes};

use std::net::{SocketAddr, ToSocketAddrs};
use std::rc::Rc;

use crate::client::{self, ClientEnv, HealSwitch};
use crate::faults::live as faults;
use crate::net::{AUTH, GATEWAY, LB, LiveNet, go_live};
use crate::run::Outcome;
use crate::scenario::Scenario;
use crate::services::backend::Backend;
use crate::services::lb::LoadBalancer;
use crate::services::limits::Limits;
use crate::trace::{FaultEvent, Kind, Recorder};

/// How a live run is set up beyond its scenario.
#[derive(Debug, Clone, Default)]
pub struct LiveOptions {
    /// Drive this backend instead of stagesim's gateway and auth.
    pub target: Option<Target>,
    /// The token signing secret the backend trusts (default: tokens').
    pub secret: Option<String>,
}

/// An external backend: `ws://HOST:PORT/PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: SocketAddr,
    pub path: String,
}

impl Target {
    /// Parse and resolve `ws://HOST:PORT/PATH` (the path defaults to `/`).
    /// Port 0 and a path that is not a URI path (RFC 3986) are refused:
    /// `lb` forwards every upgrade to exactly this path, and nothing
    /// listens on port 0.
    pub fn parse(url: &str) -> Result<Self, String> {
        let rest = url
            .strip_prefix("ws://")
            .ok_or_else(|| format!("`{url}` is not a ws:// URL (wss:// is not supported)"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if !authority.contains(':') {
            return Err(format!("`{url}` has no port; write ws://HOST:PORT/PATH"));
        }
        check_resource(path).map_err(|why| format!("`{url}`: the path {why}"))?;
        let addr = authority
            .to_socket_addrs()
            .map_err(|e| format!("cannot resolve `{authority}`: {e}"))?
            .next()
            .ok_or_else(|| format!("`{authority}` resolves to no address"))?;
        if addr.port() == 0 {
            return Err(format!(
                "`{url}` names port 0, which no backend listens on; give the port it listens on"
            ));
        }
        Ok(Self {
            addr,
            path: path.to_string(),
        })
    }
}

/// A WebSocket resource name (RFC 6455 3): an absolute path and an optional
/// query, of RFC 3986's characters only (percent escapes whole), no
/// fragment; and one that `lb`'s HTTP library reads the same way.
fn check_resource(resource: &str) -> Result<(), String> {
    let bytes = resource.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'#' => return Err("has a fragment (`#...`), which a WebSocket URL cannot have".into()),
            _ => b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?".contains(&b),
        };
        if !ok {
            let shown = if b.is_ascii_graphic() {
                format!("`{}`", char::from(b))
            } else {
                format!("0x{b:02x}")
            };
            return Err(format!(
                "is not a URI path: byte {i}, {shown}, must be percent-encoded (%XX)"
            ));
        }
    }
    resource
        .parse::<hyper::Uri>()
        .map(|_| ())
        .map_err(|e| format!("is not a URI path: {e}"))
}

/// Run `scenario` live and judge it; `Err` says why it cannot run live.
pub fn run(scenario: &Scenario, seed: u64, options: &LiveOptions) -> Result<Outcome, String> {
    // Against a target, judged as with --fixed (see `target_notes`).
    let notes = options.target.as_ref().map(|_| TargetNotes::of(scenario));
    let mut prepared;
    let scenario = if notes.is_some() {
        prepared = scenario.clone();
        target_notes::set_aside(&mut prepared);
        &prepared
    } else {
        scenario
    };
    let plan = faults::plan(scenario)?;
    if options.target.is_some() && !plan.drains.is_empty() {
        return Err(
            "its faults act on stagesim's gateway, and with --target there is none; \
             remove the faults to drive your backend"
                .into(),
        );
    }
    let any: SocketAddr = ([127, 0, 0, 1], 0).into();
    let net = match &options.target {
        None => LiveNet::bind(&[(LB, any), (GATEWAY, any), (AUTH, any)]),
        Some(target) => {
            LiveNet::bind(&[(LB, any)]).map(|net| net.with_address(GATEWAY, target.addr))
        }
    }
    .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?
    .with_secret(options.secret.clone());
    let rt = runtime()?;
    let local = tokio::task::LocalSet::new();
    let recorder = Recorder::new();
    let end = local.block_on(&rt, async {
        let (_live, net) = go_live(net);
        start_backend(scenario, seed, &recorder, options.target.as_ref(), plan);
        let (heal, signal) = HealSwitch::new();
        let env = ClientEnv {
            seed,
            recorder: recorder.clone(),
            clock: Rc::default(),
            heal: signal,
        };
        let mut users = tokio::task::JoinSet::new();
        for (_host, mine) in client::plan::declare(scenario, seed, &recorder) {
            users.spawn_local(client::run_host(mine, env.clone()));
        }
        // As in a simulation: the run ends when every user has finished;
        // at the scenario's time the heal begins (users send nothing new),
        // and it ends when they are done or `converge_within` is up. Live
        // faults end on their own schedule.
        let all_done = async { while users.join_next().await.is_some() {} };
        until_converged(scenario, all_done, &heal, &recorder).await;
        net.elapsed()
    });
    // Dropping the task set stops the services and any user left.
    drop(local);
    let mut outcome = crate::run::judge(scenario, seed, recorder.finish(end));
    outcome.live = true;
    outcome.target = notes;
    Ok(outcome)
}

/// The one-thread runtime live services run on (`live`, `record`).
pub fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a tokio runtime: {e}"))
}

/// Wait for `all_done`: for the scenario's `duration`, then, if users
/// are still busy, through the heal phase (recorded, users told) for at
/// most `converge_within`.
async fn until_converged(
    scenario: &Scenario,
    all_done: impl std::future::Future<Output = ()>,
    heal: &HealSwitch,
    recorder: &Recorder,
) {
    let within = scenario.expect.converge_within;
    let mut all_done = std::pin::pin!(all_done);
    if tokio::time::timeout(scenario.duration, &mut all_done)
        .await
        .is_err()
    {
        let heal_event = Kind::Fault(FaultEvent::Heal {
            converge_within: within,
        });
        recorder.record(&Rc::from("sim"), None, heal_event);
        heal.raise();
        let _ = tokio::time::timeout(within, &mut all_done).await;
    }
}

/// Spawn our `lb`, and our gateway and auth unless a target replaces them.
fn start_backend(
    scenario: &Scenario,
    seed: u64,
    recorder: &Recorder,
    target: Option<&Target>,
    plan: faults::Plan,
) {
    let backend = Backend::with_limits(scenario, seed, recorder, Limits::live());
    let bytes = faults::drive_bytes(plan.bytes, backend.lb.middlebox.clone(), recorder.clone());
    tokio::task::spawn_local(bytes);
    let Some(target) = target else {
        tokio::task::spawn_local(backend.auth.clone().serve());
        // The gateway boots under the fault driver, which drains and
        // reboots it when the scenario says.
        let (gateway, control) = (backend.gateway.clone(), backend.control.clone());
        tokio::task::spawn_local(faults::drive(
            gateway,
            control,
            plan.drains,
            recorder.clone(),
        ));
        tokio::task::spawn_local(backend.lb.clone().serve());
        return;
    };
    let lb = Rc::new(LoadBalancer {
        strip_headers: backend.lb.strip_headers.clone(),
        recorder: recorder.clone(),
        host: backend.lb.host.clone(),
        upstream_path: Some(target.path.clone()),
        middlebox: backend.lb.middlebox.clone(),
        limits: backend.lb.limits,
        open: Default::default(),
        tap: None,
    });
    tokio::task::spawn_local(lb.serve());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_paths_must_be_uri_paths() {
        for good in ["/", "/ws", "/a/b?x=1&y=%2F", "/~user/@:;,=+$!*'()"] {
            assert_eq!(check_resource(good), Ok(()), "{good}");
        }
        for bad in [
            "/a b", "/a\"b", "/{x}", "/%zz", "/%4", "/a#frag", "/é", "/a\\b", "/\n",
        ] {
            assert!(check_resource(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn port_zero_is_refused() {
        let refused = Target::parse("ws://127.0.0.1:0/").unwrap_err();
        assert!(refused.contains("port 0"), "{refused}");
        let ok = Target::parse("ws://127.0.0.1:9/ws").expect("a target");
        assert_eq!((ok.addr.port(), ok.path.as_str()), (9, "/ws"));
    }
}
