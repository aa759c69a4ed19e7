//! Token validations at auth: each runs from the gateway's `AuthCall` (an
//! arrow gateway -> auth) to auth's answer for that user (a span on auth,
//! and an answer on its way back to the connection that called).

use std::time::Duration;

use super::builder::{AuthAnswer, Builder};
use super::text::{auth_answer_class, auth_answer_text};
use super::{SpanKind, Track};
use crate::trace::{AuthEvent, Event, describe};

impl Builder {
    pub(super) fn auth(&mut self, i: usize, e: &Event, ev: &AuthEvent, user: Option<usize>) {
        let text = describe(&e.kind);
        match (user, ev.status()) {
            (Some(u), Some(status)) => self.validation(i, e.at, u, ev, status, text),
            _ => {
                let host = self.host(&e.host);
                self.auth_startup(e.at, host, ev);
                self.mark(i, e.at, Track::Boot(host), user, "note", text, None);
            }
        }
    }

    /// auth answered `status` to user `u`'s gateway connection: the call
    /// that connection opened with `AuthCall` ends here.
    fn validation(
        &mut self,
        i: usize,
        at: Duration,
        u: usize,
        ev: &AuthEvent,
        status: u16,
        text: String,
    ) {
        let call = self.auth_calls.len();
        let gc = self.auth_waiting.remove(&u);
        let called = gc.and_then(|gc| self.conn_pending[gc].auth_call.take());
        let start = called.unwrap_or(at).min(at);
        self.auth_calls.push(start);
        let class = auth_answer_class(status);
        let answer = auth_answer_text(ev, status);
        if let Some(gc) = gc {
            self.arrow(
                (start, Track::Gateway(gc)),
                (at, Track::Auth(call)),
                u,
                "request",
                "POST /v1/validate",
            );
            self.conn_pending[gc].auth_answer = Some(AuthAnswer {
                at,
                call,
                class,
                text: answer.clone(),
            });
        }
        let name = &self.users[u].name;
        let span_text = format!("validate {name} -> {answer}");
        self.span(
            SpanKind::Validation,
            (start, None),
            (at, Some(i)),
            Track::Auth(call),
            Some(u),
            format!("validate {class}"),
            span_text,
        );
        let track = Track::Auth(call);
        self.mark(i, at, track, Some(u), format!("note {class}"), text, None);
    }
}
