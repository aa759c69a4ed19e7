//! One agent run: the orchestrator that a factory makes for one message.
//!
//! A run emits `agent_started`, then LLM steps (`agent_thinking`, latency
//! drawn from the seed) and tool calls (`tool_executing`, a database
//! connection from the bounded pool, `tool_completed`), then
//! `agent_completed`; or an `error` event (`overloaded`) when the pool stays
//! exhausted past its acquire timeout.
//!
//! A run may also crash ([`RunOutput::Crash`]): that is how the defects of
//! `[bugs]` surface, as an unhandled error that the connection turns into
//! 1011. The fixed pipeline never crashes.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use rand::RngExt;
use rand::rngs::StdRng;
use tokio::sync::mpsc::UnboundedSender;

use super::{AgentSpec, DbConn, OrchestratorFactory};
use crate::services::mutants::Mutant;
use crate::trace::{ConnId, Kind, PipelineEvent, Probe, RunId};
use crate::vocab::ServerType;

/// What the gateway hands the pipeline for one message.
pub struct RunRequest {
    pub user: Rc<str>,
    pub run: RunId,
    pub message_id: String,
    pub agent: &'static AgentSpec,
}

/// What a run sends its connection.
#[derive(Debug, Clone, PartialEq)]
pub enum RunOutput {
    Event(AgentEvent),
    /// An unhandled error in the pipeline, naming the component.
    Crash(String),
}

/// Where a run's outputs go: the event channel of one connection. The
/// fixed gateway hands each run its own connection's context.
#[derive(Debug, Clone)]
pub struct RunContext {
    /// The connection the channel belongs to.
    pub conn: ConnId,
    /// Boxed: a channel allocates room for 32 items at a time, and each
    /// connection has one (32 boxes are 256 bytes; 32 outputs were 5 KiB).
    pub tx: UnboundedSender<Box<RunOutput>>,
}

/// Per-partition row counts a warehouse query reports with
/// `tool_completed`. The fixed tool keys them by a string; the defective one
/// (`[bugs] serialization_failure`) by a `(shard, partition)` pair, which
/// JSON cannot represent as an object key, so serialising the event fails.
#[derive(Debug, Clone, PartialEq)]
pub enum ToolStats {
    ByName(BTreeMap<String, u64>),
    ByPair(BTreeMap<(u32, u32), u64>),
}

/// One event of a run, before the connection stamps `user_id` and `seq`.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentEvent {
    pub kind: ServerType,
    pub run_id: String,
    pub message_id: String,
    pub agent: &'static str,
    pub tool: Option<&'static str>,
    pub code: Option<&'static str>,
    pub text: Option<String>,
    pub stats: Option<ToolStats>,
}

pub struct Orchestrator {
    factory: Rc<OrchestratorFactory>,
    request: RunRequest,
    rng: StdRng,
}

/// How long a tool holds its database connection.
pub const TOOL_WORK: (Duration, Duration) = (Duration::from_millis(20), Duration::from_millis(200));

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

    fn event(&self, kind: ServerType) -> AgentEvent {
        AgentEvent {
            kind,
            run_id: self.request.run.to_string(),
            message_id: self.request.message_id.clone(),
            agent: self.request.agent.name,
            tool: None,
            code: None,
            text: None,
            stats: None,
        }
    }

    fn probe(&self, probe: Probe) {
        let f = &self.factory;
        f.recorder.probe(&f.host, Some(&self.request.user), probe);
    }

    /// Hand `output` to the context. A context whose connection has closed
    /// loses it; that is recorded, because nobody else will ever see it.
    fn emit(&self, out: &RunContext, output: RunOutput) {
        let kind = match &output {
            RunOutput::Event(ev) => ev.kind.as_str(),
            RunOutput::Crash(_) => "crash",
        };
        if out.tx.send(Box::new(output)).is_err() {
            let lost = PipelineEvent::OutputLost {
                run: self.request.run,
                to: out.conn,
                kind,
            };
            self.factory.recorder.record(
                &self.factory.host,
                Some(&self.request.user),
                Kind::Pipeline(lost),
            );
            self.probe(Probe::OutputLost);
        }
    }

    async fn think(&mut self, out: &RunContext) {
        let llm = &self.factory.config.llm_latency;
        let delay = self.rng.random_range(llm.min..=llm.max);
        self.emit(out, RunOutput::Event(self.event(ServerType::AgentThinking)));
        tokio::time::sleep(delay).await;
    }

    /// What a warehouse query reports about the partitions it read.
    fn stats(&mut self) -> ToolStats {
        let rows: Vec<((u32, u32), u64)> = (0..2u32)
            .map(|p| ((p / 2, p), self.rng.random_range(10..10_000)))
            .collect();
        if self.factory.bugs.serialization_failure {
            ToolStats::ByPair(rows.into_iter().collect())
        } else {
            ToolStats::ByName(
                rows.into_iter()
                    .map(|((s, p), n)| (format!("{s}.{p}"), n))
                    .collect(),
            )
        }
    }

    /// Run to the end, sending each event as it happens. The caller drops
    /// the task to cancel it (connection gone).
    pub async fn run(mut self, out: RunContext) {
        self.emit(&out, RunOutput::Event(self.event(ServerType::AgentStarted)));
        self.think(&out).await;
        let tools = &self.factory.config.tools_per_run;
        let calls = self.rng.random_range(tools.min..=tools.max);
        for _ in 0..calls {
            if self.tool_call(&out).await.is_err() {
                return;
            }
            if self.factory.bugs.mutant == Some(Mutant::RunHangsAfterTool) {
                // The planted mistake: an upstream call with no timeout.
                std::future::pending::<()>().await;
            }
            self.think(&out).await;
        }
        let mut done = self.event(ServerType::AgentCompleted);
        done.text = Some(format!(
            "{} answered {}",
            self.request.agent.name, self.request.message_id
        ));
        self.emit(&out, RunOutput::Event(done));
    }

    /// One tool call: `tool_executing`, a database connection held for the
    /// tool's work, `tool_completed`. `Err` when the run ended instead (a
    /// crash or `overloaded`, already sent).
    async fn tool_call(&mut self, out: &RunContext) -> Result<(), ()> {
        let tool = self.pick_tool();
        let work = self.rng.random_range(TOOL_WORK.0..=TOOL_WORK.1);
        let mut ev = self.event(ServerType::ToolExecuting);
        ev.tool = Some(tool);
        self.emit(out, RunOutput::Event(ev));
        if !self.factory.tools.resolved(tool) {
            let why = format!("tool {tool} is None (optional component missing at runtime)");
            self.emit(out, RunOutput::Crash(why));
            return Err(());
        }
        let conn = self.db_connection(out).await?;
        if self.factory.bugs.mutant == Some(Mutant::LeakPoolOnCancel) {
            // The planted mistake: `conn = pool.get(); work(); pool.put(conn)`
            // with no `finally`, so a cancelled run never gives it back.
            let held = std::mem::ManuallyDrop::new(conn);
            tokio::time::sleep(work).await;
            drop(std::mem::ManuallyDrop::into_inner(held));
        } else {
            tokio::time::sleep(work).await;
            drop(conn);
        }
        let mut ev = self.event(ServerType::ToolCompleted);
        ev.tool = Some(tool);
        if tool == "query_warehouse" {
            ev.stats = Some(self.stats());
        }
        self.emit(out, RunOutput::Event(ev));
        Ok(())
    }

    /// The agent's next tool, drawn from the run's own stream.
    fn pick_tool(&mut self) -> &'static str {
        let tool = self.request.agent.tools[self.rng.random_range(0..3)];
        if self.factory.bugs.mutant != Some(Mutant::HashMapOrder) {
            return tool;
        }
        // The planted mistake: the first key of a HashMap, whose iteration
        // order differs from map to map.
        let by_name: std::collections::HashMap<&str, ()> =
            self.request.agent.tools.iter().map(|t| (*t, ())).collect();
        by_name.keys().next().copied().unwrap_or(tool)
    }

    /// A database connection for the current tool: waited for up to the
    /// acquire timeout (`overloaded` after it), or, in the defective
    /// pipeline, taken only if one is free at once (a 1011 otherwise).
    async fn db_connection(&self, out: &RunContext) -> Result<DbConn, ()> {
        let (run, user) = (self.request.run, &self.request.user);
        let db = &self.factory.db;
        if self.factory.bugs.pool_exhaustion_error {
            return db.try_acquire_now(run, user).ok_or_else(|| {
                let why = format!(
                    "database pool exhausted ({} of {} in use, acquire did not wait)",
                    db.in_use(),
                    self.factory.config.db_pool
                );
                self.emit(out, RunOutput::Crash(why));
            });
        }
        if db.exhausted() {
            self.probe(Probe::PoolWaited);
        }
        if let Some(conn) = db.acquire(run, user).await {
            return Ok(conn);
        }
        let timeout = PipelineEvent::PoolTimeout {
            run,
            waited: self.factory.config.db_acquire_timeout,
            in_use: db.in_use(),
        };
        let recorder = &self.factory.recorder;
        recorder.record(&self.factory.host, Some(user), Kind::Pipeline(timeout));
        self.probe(Probe::PoolAcquireTimedOut);
        let mut ev = self.event(ServerType::Error);
        ev.code = Some("overloaded");
        ev.text = Some("database pool exhausted; try again".into());
        self.emit(out, RunOutput::Event(ev));
        Err(())
    }
}
