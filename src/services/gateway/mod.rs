//! The gateway: the WebSocket endpoint on `gateway:9000`, with the agent
//! pipeline in-process.
//!
//! One boot: wait `[gateway] startup`, start initialising the pipeline in
//! the background, listen, and run one [`conn`] state machine per accepted
//! connection. A drain request from the driver stops the listener, closes
//! every connection (with 1012 for a `restart` fault, 1001 for a `drain`)
//! and ends the boot; the driver then starts the next boot. The accept loop
//! outlives its errors (`net::Acceptor`), so running out of descriptors
//! pauses the gateway instead of ending it.

mod auth_client;
pub use auth_client::CALL_TIMEOUT as AUTH_CALL_TIMEOUT;
mod conn;
pub use conn::CLOSE_TIMEOUT;
mod echo;
pub mod token;
mod violation;
pub mod wire;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use tokio::sync::{Notify, watch};

use crate::net::{self, Acceptor, GATEWAY, GATEWAY_PORT, TcpListener};
use crate::scenario::{self, Bugs};
use crate::services::limits::Limits;
use crate::services::pipeline::{Pipeline, RunContext};
use crate::trace::{GatewayEvent, Kind, Recorder};

/// How long a draining gateway waits for its connections to finish closing.
pub const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// The driver's handle on the gateway: the one way a fault reaches it short
/// of a crash.
#[derive(Default)]
pub struct Control {
    pending: Cell<Option<u16>>,
    notify: Notify,
}

impl Control {
    /// Ask the running boot to close every connection with `code` and stop.
    pub fn request_drain(&self, code: u16) {
        self.pending.set(Some(code));
        self.notify.notify_one();
    }

    async fn drain_requested(&self) -> u16 {
        loop {
            if let Some(code) = self.pending.take() {
                return code;
            }
            self.notify.notified().await;
        }
    }
}

/// Configuration and handles shared by every boot of the gateway host.
pub struct Gateway {
    pub config: scenario::GatewayConfig,
    pub agents: scenario::AgentsConfig,
    pub seed: u64,
    pub recorder: Recorder,
    pub host: Rc<str>,
    pub control: Rc<Control>,
    pub boots: Cell<u32>,
    /// The defects switched on (`[bugs]`); all off is the fixed gateway.
    pub bugs: Bugs,
    /// The deployment's name, as staging's environment variable had it.
    pub environment: String,
    /// Timeouts and caps (`services::limits`).
    pub limits: Limits,
}

impl Gateway {
    /// Whether the auth bypass is on. The defective check
    /// (`[bugs] staging_auth_bypass`) turned it on for anything that looked
    /// like staging; the fixed gateway never bypasses auth.
    pub fn auth_bypass(&self) -> bool {
        self.bugs.staging_auth_bypass && self.environment.contains("staging")
    }
}

/// State of one boot, shared by its connections.
pub(crate) struct Boot {
    pub number: u32,
    pub pipeline: Pipeline,
    /// Set to a close code when the boot drains.
    pub shutdown: watch::Receiver<Option<u16>>,
    /// Connections currently open, counted from the TCP accept (the
    /// connection limit).
    pub active: Cell<u32>,
    /// Woken when a connection ends, so a drain can wait for the last one.
    pub ended: Notify,
    /// Echo route connections open now (its own cap).
    pub echo_active: Cell<u32>,
    /// The one user context of the defective gateway
    /// (`[bugs] shared_user_context`): the event channel of whichever
    /// connection was set up last. The fixed gateway never uses it.
    pub shared_context: RefCell<Option<RunContext>>,
}

impl Gateway {
    fn log(&self, event: GatewayEvent) {
        self.recorder.record(&self.host, None, Kind::Gateway(event));
    }

    /// The host software: one boot.
    pub async fn serve(self: Rc<Self>) -> turmoil::Result {
        let number = self.boots.get() + 1;
        self.boots.set(number);
        self.log(GatewayEvent::Boot {
            boot: number,
            startup: self.config.startup,
            max_connections: self.config.max_connections,
        });
        tokio::time::sleep(self.config.startup).await;
        let pipeline = Pipeline::start(
            self.agents.clone(),
            self.bugs,
            self.seed,
            self.recorder.clone(),
            self.host.clone(),
        );
        let (shutdown_tx, shutdown) = watch::channel(None);
        let boot = Rc::new(Boot {
            number,
            pipeline,
            shutdown,
            active: Cell::new(0),
            ended: Notify::new(),
            echo_active: Cell::new(0),
            shared_context: Default::default(),
        });
        let mut acceptors = Vec::new();
        for port in GATEWAY_PORT..GATEWAY_PORT + self.limits.gateway_ports {
            let listener = TcpListener::bind(GATEWAY, port).await?;
            acceptors.push(Acceptor::new(listener, "gateway"));
        }
        self.log(GatewayEvent::Listening);
        let mut next_id = 0u64;
        let code = loop {
            tokio::select! {
                biased;
                code = self.control.drain_requested() => break code,
                stream = net::next_of(&mut acceptors) => {
                    next_id += 1;
                    tokio::task::spawn_local(conn::handle(self.clone(), boot.clone(), stream, next_id));
                }
            }
        };
        drop(acceptors);
        self.log(GatewayEvent::Draining {
            code,
            connections: boot.active.get(),
        });
        let _ = shutdown_tx.send(Some(code));
        let _ = tokio::time::timeout(DRAIN_GRACE, async {
            while boot.active.get() > 0 {
                boot.ended.notified().await;
            }
        })
        .await;
        self.log(GatewayEvent::Stopped);
        Ok(())
    }
}
