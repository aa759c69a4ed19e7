//! The three services of one run (`auth`, `gateway` with its pipeline, `lb`),
//! built from a scenario and a seed: the one place both a simulated world
//! (`world`, which makes each a turmoil host) and live mode (which spawns
//! them on real sockets) get them from.

use std::rc::Rc;

use super::auth::AuthService;
use super::gateway::{Control, Gateway};
use super::lb::LoadBalancer;
use super::limits::Limits;
use crate::net::{AUTH, GATEWAY, LB};
use crate::scenario::Scenario;
use crate::trace::Recorder;

pub struct Backend {
    pub auth: Rc<AuthService>,
    pub gateway: Rc<Gateway>,
    pub lb: Rc<LoadBalancer>,
    /// The fault driver's handle on the gateway (drains and restarts).
    pub control: Rc<Control>,
}

impl Backend {
    /// A simulation's services: [`Limits::simulated_for`] its users.
    pub fn new(scenario: &Scenario, seed: u64, recorder: &Recorder) -> Self {
        let users = scenario.users.iter().map(|g| g.count).sum();
        Self::with_limits(scenario, seed, recorder, Limits::simulated_for(users))
    }

    /// The services with `limits` (live mode: [`Limits::live`], or what
    /// `serve`'s flags made of it).
    pub fn with_limits(
        scenario: &Scenario,
        seed: u64,
        recorder: &Recorder,
        limits: Limits,
    ) -> Self {
        let auth = Rc::new(AuthService {
            startup: scenario.auth.startup,
            latency: scenario.auth.latency,
            seed: crate::seed::derive(seed, "auth"),
            recorder: recorder.clone(),
            host: Rc::from(AUTH),
            boots: Default::default(),
            clock: Rc::default(),
            leeway: scenario.auth.leeway,
        });
        let control = Rc::new(Control::default());
        let gateway = Rc::new(Gateway {
            config: scenario.gateway.clone(),
            agents: scenario.agents.clone(),
            seed: crate::seed::derive(seed, "gateway"),
            recorder: recorder.clone(),
            host: Rc::from(GATEWAY),
            control: control.clone(),
            boots: Default::default(),
            bugs: scenario.bugs,
            // What staging's deployment was called; only the defective bypass
            // check looks at it.
            environment: "staging-eu-west-1".into(),
            limits,
        });
        let lb = Rc::new(LoadBalancer {
            strip_headers: scenario.load_balancer.strip_headers.clone(),
            recorder: recorder.clone(),
            host: Rc::from(LB),
            upstream_path: None,
            middlebox: Rc::default(),
            limits,
            open: Default::default(),
            tap: None,
        });
        Self {
            auth,
            gateway,
            lb,
            control,
        }
    }

    /// Run the three services as tasks of the current `LocalSet`, as live
    /// mode does (a simulation makes each a turmoil host instead).
    pub fn spawn_local(&self) {
        tokio::task::spawn_local(self.auth.clone().serve());
        tokio::task::spawn_local(self.gateway.clone().serve());
        tokio::task::spawn_local(self.lb.clone().serve());
    }
}
