//! One agent run: the orchestrator that a factory makes for one message.
//!
//! A run emits `agent_started`, then LLM steps (`agent_thinking`, latency
//! drawn from the seed) and tool calls (`tool_executing`, a database
//! connection from the bounded pool, `tool_completed`), then
//! `agent_completed`; or an `error` event (`overloaded`) when the pool stays
//! exhausted past its acquire timeout.

use std::rc::Rc;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedSender;

use super::{AgentSpec, OrchestratorFactory};

/// What the gateway hands the pipeline for one message.
pub struct RunRequest {
    pub user: Rc<str>,
    pub run_id: String,
    pub message_id: String,
    pub agent: &'static AgentSpec,
}

/// One event of a run, before the connection stamps `user_id` and `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvent {
    pub kind: &'static str,
    pub run_id: String,
    pub message_id: String,
    pub agent: &'static str,
    pub tool: Option<&'static str>,
    pub code: Option<&'static str>,
    pub text: Option<String>,
}

pub struct Orchestrator {
    factory: Rc<OrchestratorFactory>,
    request: RunRequest,
    rng: StdRng,
}

/// How long a tool holds its database connection.
const TOOL_WORK: (Duration, Duration) = (Duration::from_millis(20), Duration::from_millis(200));

impl Orchestrator {
    pub(super) fn new(factory: Rc<OrchestratorFactory>, request: RunRequest) -> Self {
        // Keyed by user and message, so a run's draws do not depend on what
        // other runs happen to be doing.
        let rng = crate::seed::rng(
            factory.seed,
            &format!("run/{}/{}", request.user, request.message_id),
        );
        Self {
            factory,
            request,
            rng,
        }
    }

    fn event(&self, kind: &'static str) -> AgentEvent {
        AgentEvent {
            kind,
            run_id: self.request.run_id.clone(),
            message_id: self.request.message_id.clone(),
            agent: self.request.agent.name,
            tool: None,
            code: None,
            text: None,
        }
    }

    async fn think(&mut self, out: &UnboundedSender<AgentEvent>) {
        let llm = &self.factory.config.llm_latency;
        let delay = self.rng.random_range(llm.min..=llm.max);
        let _ = out.send(self.event("agent_thinking"));
        tokio::time::sleep(delay).await;
    }

    /// Run to the end, sending each event as it happens. The caller drops
    /// the task to cancel it (connection gone).
    pub async fn run(mut self, out: UnboundedSender<AgentEvent>) {
        let _ = out.send(self.event("agent_started"));
        self.think(&out).await;
        let tools = &self.factory.config.tools_per_run;
        let calls = self.rng.random_range(tools.min..=tools.max);
        for _ in 0..calls {
            let tool = self.request.agent.tools[self.rng.random_range(0..3)];
            let work = self.rng.random_range(TOOL_WORK.0..=TOOL_WORK.1);
            let mut ev = self.event("tool_executing");
            ev.tool = Some(tool);
            let _ = out.send(ev);
            let Some(conn) = self.factory.db.acquire().await else {
                self.factory.recorder.note(
                    &self.factory.host,
                    Some(&self.request.user),
                    format!(
                        "{} db pool exhausted for {}ms ({} in use)",
                        self.request.run_id,
                        self.factory.config.db_acquire_timeout.as_millis(),
                        self.factory.db.in_use()
                    ),
                );
                let mut ev = self.event("error");
                ev.code = Some("overloaded");
                ev.text = Some("database pool exhausted; try again".into());
                let _ = out.send(ev);
                return;
            };
            tokio::time::sleep(work).await;
            drop(conn);
            let mut ev = self.event("tool_completed");
            ev.tool = Some(tool);
            let _ = out.send(ev);
            self.think(&out).await;
        }
        let mut done = self.event("agent_completed");
        done.text = Some(format!(
            "{} answered {}",
            self.request.agent.name, self.request.message_id
        ));
        let _ = out.send(done);
    }
}
