//! What users saw: connections, runs, backoffs, tokens, and the ends of
//! messages that arrive at a browser (an lb answer, the gateway's
//! `connection_established`, a close frame).

use std::time::Duration;

use super::builder::{At, Builder, Pending};
use super::text::{client_class, client_text};
use super::{SpanKind, Track, code_class, http_class};
use crate::trace::{Event, Incoming, Kind};
use crate::vocab::{ClientType, ServerType};

impl Builder {
    pub(super) fn client(&mut self, i: usize, e: &Event, u: usize) {
        let at = e.at;
        let me = Track::User(u);
        let (text, seq) = client_text(&e.kind, &self.users[u].name);
        let class = client_class(&e.kind);
        match &e.kind {
            Kind::Connecting { conn, .. } => self.connecting(i, at, u, *conn),
            Kind::ConnectFailed { conn, reason } => {
                let text = format!("c{conn}: connect failed: {reason}");
                self.end_conn(u, (at, Some(i)), "conn lost", text);
            }
            Kind::HttpRejected { conn, status } => self.http_rejected(i, at, u, *conn, *status),
            Kind::Opened { .. } => {
                if let Some((sent, req, 101)) = self.pending[u].lb_answer.take() {
                    let from = (sent, Track::Lb(req));
                    self.arrow(from, (at, me), u, "http ok", "101 Switching Protocols");
                }
            }
            Kind::Sent { frame, .. } => {
                let p = &mut self.pending[u];
                match &frame.message_id {
                    Some(m) if frame.kind.is(ClientType::UserMessage) => {
                        p.sends.push((at, m.clone()));
                    }
                    _ => p.other_send = Some((at, frame.kind.to_string())),
                }
            }
            Kind::Received { conn, event } => self.received(u, at, *conn, event),
            Kind::Closed {
                conn,
                code,
                reason,
                by_client,
            } => self.closed(i, at, u, *conn, *code, reason, *by_client),
            Kind::Backoff { delay } => {
                let text = format!("backoff {}ms", delay.as_millis());
                let until = (at + *delay, None);
                self.span(
                    SpanKind::Backoff,
                    (at, Some(i)),
                    until,
                    me,
                    Some(u),
                    "backoff",
                    text,
                );
            }
            Kind::Finished { outcome } => {
                self.users[u].outcome = Some(outcome.clone());
                self.cut_runs(u, (at, Some(i)));
                let text = "connection abandoned".to_string();
                self.end_conn(u, (at, Some(i)), "conn open", text);
            }
            _ => {}
        }
        self.mark(i, at, me, Some(u), class, text, seq);
    }

    /// A new attempt: whatever the last one left pending is moot.
    fn connecting(&mut self, i: usize, at: Duration, u: usize, conn: u32) {
        let now = self.now(at);
        self.cut_runs(u, now);
        self.end_conn(u, now, "conn lost", "superseded".to_string());
        let p = &mut self.pending[u];
        *p = Pending::default();
        p.connect = Some((at, conn));
        p.conn = Some((conn, (at, Some(i))));
    }

    /// lb refused the upgrade with `status`: its answer arrives, and the
    /// connection ends.
    fn http_rejected(&mut self, i: usize, at: Duration, u: usize, conn: u32, status: u16) {
        self.users[u].http.push(status);
        if let Some((sent, req, s)) = self.pending[u].lb_answer.take()
            && s == status
        {
            self.arrow(
                (sent, Track::Lb(req)),
                (at, Track::User(u)),
                u,
                format!("http {}", http_class(status)),
                format!("HTTP {status}"),
            );
        }
        self.end_conn(
            u,
            (at, Some(i)),
            &format!("conn {}", http_class(status)),
            format!("c{conn}: upgrade refused, HTTP {status}"),
        );
    }

    /// The user's connection `conn` ended with `code`: the gateway's close
    /// frame (or its echo of the user's) arrives, and runs are cut.
    #[allow(clippy::too_many_arguments)]
    fn closed(
        &mut self,
        i: usize,
        at: Duration,
        u: usize,
        conn: u32,
        code: u16,
        reason: &str,
        by_client: bool,
    ) {
        self.users[u].codes.push(code);
        let class = format!("c{code} {}", code_class(code));
        if let Some((sent, gc, c)) = self.pending[u].gateway_close.take()
            && c == code
            && self.gateway_conns[gc].conn == Some(conn)
        {
            let text = if by_client {
                format!("close {code} (echo)")
            } else {
                format!("close {code}")
            };
            let (from, to) = ((sent, Track::Gateway(gc)), (at, Track::User(u)));
            self.arrow(from, to, u, format!("close {class}"), text);
        }
        self.cut_runs(u, (at, Some(i)));
        let by = if by_client { "client" } else { "server" };
        let mut text = format!("c{conn}: closed {code} by {by}");
        if !reason.is_empty() {
            text.push_str(": ");
            text.push_str(reason);
        }
        self.end_conn(u, (at, Some(i)), &format!("conn {class}"), text);
    }

    pub(super) fn received(&mut self, u: usize, at: Duration, conn: u32, ev: &Incoming) {
        let me = Track::User(u);
        if ev.kind.is(ServerType::ConnectionEstablished)
            && let Some((sent, gc)) = self.pending[u].ready.take()
            && self.gateway_conns[gc].conn == Some(conn)
        {
            self.arrow(
                (sent, Track::Gateway(gc)),
                (at, me),
                u,
                "event",
                "connection_established",
            );
        }
        let Some(run) = &ev.run_id else { return };
        let terminal = ev.is_terminal();
        let p = &mut self.pending[u];
        if !p.runs.contains_key(&**run) {
            let text = format!(
                "run {run} {} {}",
                ev.agent.as_deref().unwrap_or("?"),
                ev.message_id.as_deref().unwrap_or("?")
            );
            let now = (at, Some(self.current));
            p.runs.insert(run.to_string(), (now, text));
        }
        if terminal && let Some((start, text)) = self.pending[u].runs.remove(&**run) {
            let class = if ev.kind.is(ServerType::Error) {
                "run error"
            } else {
                "run"
            };
            let text = format!("{text}: {}", ev.kind);
            let now = self.now(at);
            self.span(SpanKind::Run, start, now, me, Some(u), class, text);
            if let Some((start, gc, text)) = self.gateway_runs.remove(&**run) {
                let end = at.min(self.gateway_conns[gc].end);
                self.span(
                    SpanKind::Run,
                    start,
                    (end, None),
                    Track::Gateway(gc),
                    Some(u),
                    class,
                    format!("{text}: {}", ev.kind),
                );
            }
        }
    }

    /// Runs the user saw start but not finish, cut at `at`.
    pub(super) fn cut_runs(&mut self, u: usize, at: At) {
        for (_, (start, text)) in std::mem::take(&mut self.pending[u].runs) {
            self.span(
                SpanKind::Run,
                start,
                at,
                Track::User(u),
                Some(u),
                "run cut",
                format!("{text}: cut"),
            );
        }
    }

    pub(super) fn end_conn(&mut self, u: usize, at: At, class: &str, text: String) {
        if let Some((_, start)) = self.pending[u].conn.take() {
            self.span(
                SpanKind::Conn,
                start,
                at,
                Track::User(u),
                Some(u),
                class,
                text,
            );
        }
    }
}
