//! The connection's third step, PROCESSING_READY: `connection_established`,
//! then the conversation until something ends it. Each client frame and
//! each agent run's output is handled by its own function, which either
//! lets the conversation go on or names the [`Exit`] that ends it; the
//! close itself is the next step's job.

use std::ops::ControlFlow;
use std::rc::Rc;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use super::admit::Admitted;
use super::{Conn, Exit, SendError, Socket};
use crate::services::gateway::violation;
use crate::services::gateway::wire::{ClientFrame, ServerEvent};
use crate::services::mutants::Mutant;
use crate::services::pipeline::{RunContext, RunOutput, RunRequest, supervisor_pick};
use crate::trace::{Component, ConnEvent, ConnState, Probe, RunId, TransportEnd};

/// Go on with the conversation, or end it this way.
type Step = ControlFlow<Exit>;

/// What the conversation holds besides the connection itself.
pub(super) struct Conversation {
    /// `None` for the defective gateway that reads the global orchestrator
    /// at message time (`[bugs] orchestrator_singleton`).
    factory: Admitted,
    /// Where this connection's runs send their output, and where it
    /// arrives.
    context: RunContext,
    outputs: mpsc::UnboundedReceiver<Box<RunOutput>>,
    /// The runs started here; dropping the set cancels them.
    runs: JoinSet<()>,
}

/// Enter PROCESSING_READY: send `connection_established`.
pub(super) async fn establish(
    conn: &mut Conn,
    socket: &mut Socket,
    factory: Admitted,
) -> Result<Conversation, Exit> {
    conn.state(ConnState::ProcessingReady);
    let established = ServerEvent::ConnectionEstablished {
        connection_id: conn.id.to_string(),
    };
    if let Err(e) = conn.send(&mut socket.sink, &established).await {
        return Err(Exit::NeverEstablished(e.text()));
    }
    let (tx, outputs) = mpsc::unbounded_channel();
    let context = RunContext { conn: conn.id, tx };
    if conn.gw.bugs.shared_user_context {
        // The defective gateway kept one module-level context: the newest
        // connection's event channel replaces everyone's.
        *conn.boot.shared_context.borrow_mut() = Some(context.clone());
    }
    Ok(Conversation {
        factory,
        context,
        outputs,
        runs: JoinSet::new(),
    })
}

/// The conversation, until something ends it.
pub(super) async fn converse(
    conn: &mut Conn,
    socket: &mut Socket,
    talk: &mut Conversation,
) -> Exit {
    let mut shutdown = conn.boot.shutdown.clone();
    loop {
        let step = tokio::select! {
            biased;
            _ = shutdown.wait_for(|c| c.is_some()) => {
                let (code, reason) = conn.shutdown_close();
                // Reap the runs that finished: what is left is still working.
                while talk.runs.try_join_next().is_some() {}
                conn.shutdown_probes(code, !talk.runs.is_empty());
                Step::Break(Exit::Close(code, reason.into()))
            }
            Some(output) = talk.outputs.recv() => forward(conn, socket, *output).await,
            frame = socket.stream.next() => match frame {
                None => Step::Break(Exit::Lost(TransportEnd::Ended)),
                Some(Err(e)) => Step::Break(transport_error(conn, e)),
                Some(Ok(frame)) => on_frame(conn, socket, talk, frame).await,
            },
        };
        if let Step::Break(exit) = step {
            return exit;
        }
    }
}

/// One agent run's output, sent on to the client.
async fn forward(conn: &mut Conn, socket: &mut Socket, output: RunOutput) -> Step {
    let ev = match output {
        RunOutput::Event(ev) => ev,
        RunOutput::Crash(detail) => {
            return Step::Break(Exit::Crash(Component::AgentPipeline, detail));
        }
    };
    match conn.send(&mut socket.sink, &ServerEvent::Agent(ev)).await {
        Ok(()) => Step::Continue(()),
        Err(SendError::Serialise(e)) => Step::Break(Exit::Crash(Component::EventSerialiser, e)),
        Err(SendError::Transport(e)) => Step::Break(Exit::Lost(TransportEnd::SendFailed(e))),
    }
}

/// A frame too large, not UTF-8 or breaking RFC 6455's framing gets its
/// close code; anything else is the transport ending.
fn transport_error(conn: &Conn, e: tokio_tungstenite::tungstenite::Error) -> Exit {
    match violation::close_for(&e) {
        Some((code, reason)) => {
            conn.probe(Probe::InvalidFrameClosed);
            Exit::Close(code, reason)
        }
        None => Exit::Lost(TransportEnd::Error(e.to_string())),
    }
}

async fn on_frame(
    conn: &mut Conn,
    socket: &mut Socket,
    talk: &mut Conversation,
    frame: Message,
) -> Step {
    match frame {
        Message::Text(text) => match crate::services::gateway::wire::parse(text.as_str()) {
            Err(invalid) => {
                conn.probe(Probe::InvalidFrameClosed);
                Step::Break(Exit::Close(1007, format!("invalid message: {}", invalid.0)))
            }
            Ok(frame) => on_client_frame(conn, socket, talk, frame).await,
        },
        Message::Binary(_) => {
            conn.probe(Probe::InvalidFrameClosed);
            Step::Break(Exit::Close(1003, "binary frames are not messages".into()))
        }
        Message::Close(frame) => {
            let code = frame.map(|f| u16::from(f.code)).unwrap_or(1005);
            conn.log(ConnEvent::ClientClosed { code });
            // tungstenite queued the echo; flushing the sink sends it.
            let _ = futures_util::SinkExt::flush(&mut socket.sink).await;
            let _ = futures_util::SinkExt::close(&mut socket.sink).await;
            Step::Break(Exit::Closed)
        }
        // Control frames are answered by tungstenite itself.
        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Step::Continue(()),
    }
}

async fn on_client_frame(
    conn: &mut Conn,
    socket: &mut Socket,
    talk: &mut Conversation,
    frame: ClientFrame,
) -> Step {
    match frame {
        ClientFrame::Ping => reply(conn, socket, &ServerEvent::Pong).await,
        ClientFrame::Unknown { kind } if conn.gw.bugs.unknown_type_crash => {
            // The defective router indexed its handler table with the
            // client's type unchecked.
            let detail = format!("KeyError('{kind}')");
            Step::Break(Exit::Crash(Component::MessageRouter, detail))
        }
        ClientFrame::Unknown { kind } => {
            conn.log(ConnEvent::UnknownType { kind: kind.clone() });
            conn.probe(Probe::UnknownTypeAnswered);
            let ev = ServerEvent::Error {
                code: "unknown_message_type",
                detail: format!("no handler for message type `{kind}`"),
                message_id: None,
            };
            reply(conn, socket, &ev).await
        }
        ClientFrame::UserMessage {
            message_id, agent, ..
        } => on_user_message(conn, socket, talk, message_id, &agent).await,
    }
}

/// Send a reply; a connection that cannot take it is closed.
async fn reply(conn: &mut Conn, socket: &mut Socket, event: &ServerEvent) -> Step {
    match conn.send(&mut socket.sink, event).await {
        Ok(()) => Step::Continue(()),
        Err(_) => Step::Break(Exit::Closed),
    }
}

/// A user message: refused with its reason, or routed to an agent run.
async fn on_user_message(
    conn: &mut Conn,
    socket: &mut Socket,
    talk: &mut Conversation,
    message_id: String,
    agent: &str,
) -> Step {
    if conn.gw.bugs.mutant == Some(Mutant::RefuseEverything) {
        let ev = ServerEvent::Error {
            code: "overloaded",
            detail: "busy, try again".into(),
            message_id: Some(message_id),
        };
        return reply(conn, socket, &ev).await;
    }
    if conn.boot.pipeline.factory_now().is_none() {
        conn.probe(Probe::MessageDuringInitialisation);
    }
    let Some(spec) = supervisor_pick(agent) else {
        let ev = ServerEvent::Error {
            code: "unknown_agent",
            detail: format!("no agent named `{agent}`"),
            message_id: Some(message_id),
        };
        return reply(conn, socket, &ev).await;
    };
    let factory = match &talk.factory {
        Some(f) => f.clone(),
        // The defective global orchestrator, set only when
        // initialisation ends.
        None => match conn.boot.pipeline.factory_now() {
            Some(f) => f,
            None => {
                let detail = "global orchestrator is None (read before initialisation finished)";
                return Step::Break(Exit::Crash(Component::MessageRouter, detail.into()));
            }
        },
    };
    if let Some(refusal) = run_limit(conn, &mut talk.runs, &message_id) {
        return reply(conn, socket, &refusal).await;
    }
    conn.runs += 1;
    let run = RunId {
        conn: conn.id,
        n: conn.runs,
    };
    conn.log(ConnEvent::Routed {
        run,
        agent: spec.name,
        message_id: message_id.clone(),
    });
    let orchestrator = factory.create(RunRequest {
        user: conn.who.clone().unwrap_or_else(|| Rc::from("-")),
        run,
        message_id,
        agent: spec,
    });
    let out = if conn.gw.bugs.shared_user_context {
        let shared = conn.boot.shared_context.borrow().clone();
        shared.unwrap_or_else(|| talk.context.clone())
    } else {
        talk.context.clone()
    };
    talk.runs.spawn_local(orchestrator.run(out));
    Step::Continue(())
}

/// The refusal of a message that would start one run more than the
/// connection may have in flight (`max_runs_per_connection`): recorded,
/// and answered `error` `overloaded` with its `message_id` and no
/// `run_id`, since no run starts. `None`: there is room. Finished runs are
/// reaped first, so the set holds only runs still working and a long
/// connection does not keep every run it ever had.
fn run_limit<T: 'static>(
    conn: &Conn,
    runs: &mut JoinSet<T>,
    message_id: &str,
) -> Option<ServerEvent> {
    while runs.try_join_next().is_some() {}
    let in_flight = u32::try_from(runs.len()).unwrap_or(u32::MAX);
    let limit = conn.gw.limits.max_runs_per_connection;
    if in_flight < limit {
        return None;
    }
    conn.log(ConnEvent::RunLimitReached {
        message_id: message_id.to_string(),
        in_flight,
        limit,
    });
    Some(ServerEvent::Error {
        code: "overloaded",
        detail: format!(
            "{in_flight} agent runs in flight on this connection, its limit; \
             send the message again when one has finished"
        ),
        message_id: Some(message_id.to_string()),
    })
}
