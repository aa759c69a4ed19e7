//! The gateway host: its boots, and each connection by its [`ConnId`]:
//! the connection's span (first event to `State(Closed)`), its runs (from
//! `Routed`), its close code, and the ends of messages that arrive there
//! (the forwarded upgrade, auth's answer, a user's frame).

use std::time::Duration;

use super::builder::{Builder, ConnPending};
use super::text::conn_class;
use super::{GatewayConn, SpanKind, Track};
use crate::trace::{ConnEvent, ConnId, ConnState, Event, GatewayEvent, PipelineEvent};

impl Builder {
    pub(super) fn gateway(&mut self, i: usize, e: &Event, ev: &GatewayEvent, user: Option<usize>) {
        let GatewayEvent::Conn { conn, event } = ev else {
            let host = self.host(&e.host);
            self.gateway_startup(e.at, host, ev);
            let class = match ev {
                GatewayEvent::Draining { .. } | GatewayEvent::Stopped => "note down",
                _ => "note",
            };
            return self.note(i, e, Track::Boot(host), user, class);
        };
        let gc = self.gateway_conn(i, e.at, *conn, event, user);
        // The connection's user, from its request id, owns the lane even
        // where the event names the user auth accepted instead.
        let user = self.gateway_conns[gc].user;
        if let Some(u) = user {
            self.conn_messages(e.at, gc, u, event);
        }
        match event {
            ConnEvent::Close { code, .. } => self.gateway_conns[gc].close = Some(*code),
            ConnEvent::State(ConnState::Closed) => self.conn_closed(i, e.at, gc),
            _ => {}
        }
        self.note(i, e, Track::Gateway(gc), user, conn_class(event));
    }

    /// The pipeline: its initialisation on the gateway's own row; a run's
    /// trouble on the row of the connection that started the run.
    pub(super) fn pipeline(
        &mut self,
        i: usize,
        e: &Event,
        ev: &PipelineEvent,
        user: Option<usize>,
    ) {
        let run = match ev {
            PipelineEvent::PoolTimeout { run, .. } | PipelineEvent::OutputLost { run, .. } => run,
            // Every tool call takes and returns one: evidence for the
            // oracle, too many to draw.
            PipelineEvent::PoolAcquired { .. } | PipelineEvent::PoolReleased { .. } => return,
            PipelineEvent::Initialising { .. } | PipelineEvent::Ready => {
                let host = self.host(&e.host);
                self.pipeline_startup(e.at, host, ev);
                return self.note(i, e, Track::Boot(host), user, "note");
            }
        };
        let gc = self.gateway_index.get(&run.conn).copied();
        let gc = gc.unwrap_or_else(|| self.new_gateway_conn(i, e.at, run.conn, user));
        let user = self.gateway_conns[gc].user.or(user);
        self.note(i, e, Track::Gateway(gc), user, "note");
    }

    /// The connection `id`, from its first event on; `Accepted` links it to
    /// the user's connection its request id names.
    fn gateway_conn(
        &mut self,
        i: usize,
        at: Duration,
        id: ConnId,
        ev: &ConnEvent,
        user: Option<usize>,
    ) -> usize {
        let gc = match self.gateway_index.get(&id) {
            Some(&gc) => gc,
            None => self.new_gateway_conn(i, at, id, user),
        };
        if let ConnEvent::Accepted { request: Some(r) } = ev
            && let Some(&u) = self.user_index.get(&r.user)
        {
            self.gateway_conns[gc].user = Some(u);
            self.gateway_conns[gc].conn = Some(r.conn);
        }
        if self.gateway_conns[gc].user.is_none() {
            self.gateway_conns[gc].user = user;
        }
        gc
    }

    fn new_gateway_conn(
        &mut self,
        i: usize,
        at: Duration,
        id: ConnId,
        user: Option<usize>,
    ) -> usize {
        self.gateway_index.insert(id, self.gateway_conns.len());
        self.gateway_conns.push(GatewayConn {
            id,
            user,
            conn: None,
            start: at,
            start_event: i,
            end_event: None,
            end: self.end,
            close: None,
        });
        self.conn_pending.push(ConnPending::default());
        self.gateway_conns.len() - 1
    }

    /// The ends of messages that arrive at connection `gc` of user `u`, and
    /// the first ends of those it sends.
    fn conn_messages(&mut self, at: Duration, gc: usize, u: usize, ev: &ConnEvent) {
        let me = (at, Track::Gateway(gc));
        // auth's answer reaches the connection's next event.
        if let Some(a) = self.conn_pending[gc].auth_answer.take() {
            let class = format!("answer {}", a.class);
            self.arrow((a.at, Track::Auth(a.call)), me, u, class, a.text);
        }
        match ev {
            ConnEvent::Accepted { request: Some(r) } => {
                // The upgrade lb forwarded, if it was this connection's.
                if let Some((sent, req, conn)) = self.pending[u].lb_forward.take()
                    && conn == Some(r.conn)
                {
                    self.arrow(
                        (sent, Track::Lb(req)),
                        me,
                        u,
                        "request",
                        "upgrade forwarded",
                    );
                }
            }
            ConnEvent::AuthCall { .. } => {
                self.conn_pending[gc].auth_call = Some(at);
                self.auth_waiting.insert(u, gc);
            }
            ConnEvent::State(ConnState::ProcessingReady) => self.pending[u].ready = Some((at, gc)),
            ConnEvent::Routed {
                run,
                agent,
                message_id,
            } => {
                let p = &mut self.pending[u];
                if let Some(pos) = p.sends.iter().position(|(_, m)| m == message_id) {
                    let (sent, m) = p.sends.remove(pos);
                    let text = format!("user_message {m}");
                    self.arrow((sent, Track::User(u)), me, u, "message", text);
                }
                let text = format!("run {run} {agent} for {message_id}");
                let start = (at, Some(self.current));
                // Keyed as the wire writes the run id, which is what the
                // user's events carry.
                self.gateway_runs.insert(run.to_string(), (start, gc, text));
            }
            ConnEvent::UnknownType { .. } => {
                if let Some((sent, kind)) = self.pending[u].other_send.take() {
                    self.arrow((sent, Track::User(u)), me, u, "message", kind);
                }
            }
            // The user's close frame is not in the trace (only its end,
            // when the echo arrives): the echo is drawn.
            ConnEvent::ClientClosed { code } => {
                self.pending[u].gateway_close = Some((at, gc, *code));
            }
            ConnEvent::Close { code, .. } => self.gateway_closes(at, gc, u, *code),
            _ => {}
        }
    }

    /// The gateway sends close `code`. A frame the user sent may be what it
    /// answers: a bad frame, or a message that broke the server.
    fn gateway_closes(&mut self, at: Duration, gc: usize, u: usize, code: u16) {
        let p = &mut self.pending[u];
        let answered = match (p.other_send.take(), code) {
            (Some((sent, kind)), _) => Some((sent, kind)),
            (None, 1007 | 1009 | 1011) => p
                .sends
                .pop()
                .map(|(sent, m)| (sent, format!("user_message {m}"))),
            _ => None,
        };
        p.gateway_close = Some((at, gc, code));
        if let Some((sent, text)) = answered {
            let to = (at, Track::Gateway(gc));
            self.arrow((sent, Track::User(u)), to, u, "message", text);
        }
    }

    /// `State(Closed)`: the connection ends, and cuts its runs.
    fn conn_closed(&mut self, i: usize, at: Duration, gc: usize) {
        self.gateway_conns[gc].end = at;
        self.gateway_conns[gc].end_event = Some(i);
        let user = self.gateway_conns[gc].user;
        let ids: Vec<String> = self
            .gateway_runs
            .iter()
            .filter(|(_, (_, c, _))| *c == gc)
            .map(|(id, _)| id.clone())
            .collect();
        for id in ids {
            let Some((start, _, text)) = self.gateway_runs.remove(&id) else {
                continue;
            };
            self.span(
                SpanKind::Run,
                start,
                (at, Some(i)),
                Track::Gateway(gc),
                user,
                "run cut",
                format!("{text}: cut"),
            );
        }
    }
}
