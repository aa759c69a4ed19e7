//! The agent pipeline, in-process in the gateway as in the real backend.
//!
//! Initialisation takes `[agents] startup` (about 7 s in staging). Until it
//! ends there is no [`OrchestratorFactory`]; a connection waits for it (up
//! to the gateway's `ready_timeout`) before it may take messages. Once ready,
//! each message gets its own orchestrator from the factory, never a global
//! one: a run's state is the run's alone.

mod agents;
mod db_pool;
mod orchestrator;

use std::rc::Rc;
use std::time::Duration;

use tokio::sync::watch;

pub use agents::{AgentSpec, spec, supervisor_pick};
pub use db_pool::{DbConn, DbPool};
pub use orchestrator::{
    AgentEvent, Orchestrator, RunContext, RunOutput, RunRequest, TOOL_WORK, ToolStats,
};

use crate::scenario::{AgentsConfig, Bugs};
use crate::services::mutants::Mutant;
use crate::trace::{Kind, PipelineEvent, Recorder};

/// The pipeline of one gateway boot.
pub struct Pipeline {
    ready: watch::Receiver<Option<Rc<OrchestratorFactory>>>,
}

/// The tool implementations the factory resolved at startup: `None` is a
/// component that is missing at runtime (only with
/// `[bugs] missing_component_at_runtime`; the fixed pipeline refuses to
/// start instead, which never happens in a complete build).
#[derive(Debug, Clone, Default)]
pub struct ToolRegistry {
    missing: Vec<&'static str>,
}

impl ToolRegistry {
    fn resolve(bugs: &Bugs) -> Self {
        let missing = if bugs.missing_component_at_runtime {
            agents::OPTIONAL_COMPONENT_TOOLS.to_vec()
        } else {
            Vec::new()
        };
        Self { missing }
    }

    /// Whether `tool` resolved to an implementation.
    pub fn resolved(&self, tool: &str) -> bool {
        !self.missing.contains(&tool)
    }
}

/// Makes one orchestrator per request once the pipeline is initialised.
pub struct OrchestratorFactory {
    config: AgentsConfig,
    bugs: Bugs,
    tools: ToolRegistry,
    db: Rc<DbPool>,
    seed: u64,
    recorder: Recorder,
    host: Rc<str>,
}

impl Pipeline {
    /// Start initialising in the background; returns at once.
    pub fn start(
        config: AgentsConfig,
        bugs: Bugs,
        seed: u64,
        recorder: Recorder,
        host: Rc<str>,
    ) -> Self {
        let (tx, rx) = watch::channel(None);
        tokio::task::spawn_local(async move {
            let initialising = PipelineEvent::Initialising {
                startup: config.startup,
                db_pool: config.db_pool,
            };
            recorder.record(&host, None, Kind::Pipeline(initialising));
            tokio::time::sleep(config.startup).await;
            // The planted mistake builds the pool one too large.
            let planted = u32::from(bugs.mutant == Some(Mutant::PoolOneTooLarge));
            let db = DbPool::new(
                config.db_pool + planted,
                config.db_acquire_timeout,
                recorder.clone(),
                host.clone(),
            );
            let factory = OrchestratorFactory {
                config,
                bugs,
                tools: ToolRegistry::resolve(&bugs),
                db,
                seed,
                recorder: recorder.clone(),
                host: host.clone(),
            };
            recorder.record(&host, None, Kind::Pipeline(PipelineEvent::Ready));
            let _ = tx.send(Some(Rc::new(factory)));
            // Keep the sender alive so waiters see a value, not a closed channel.
            std::future::pending::<()>().await;
        });
        Self { ready: rx }
    }

    /// The factory if initialisation has ended, without waiting: what the
    /// defective gateway's global orchestrator read sees
    /// (`[bugs] orchestrator_singleton`).
    pub fn factory_now(&self) -> Option<Rc<OrchestratorFactory>> {
        self.ready.borrow().clone()
    }

    /// The factory, waiting up to `timeout` for initialisation to end.
    pub async fn factory_within(&self, timeout: Duration) -> Option<Rc<OrchestratorFactory>> {
        let mut rx = self.ready.clone();
        let wait = async {
            match rx.wait_for(|f| f.is_some()).await {
                Ok(f) => f.clone(),
                Err(_) => None,
            }
        };
        tokio::time::timeout(timeout, wait).await.ok().flatten()
    }
}

impl OrchestratorFactory {
    /// A fresh orchestrator for one request.
    pub fn create(self: &Rc<Self>, request: RunRequest) -> Orchestrator {
        Orchestrator::new(self.clone(), request)
    }
}
