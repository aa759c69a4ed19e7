//! Token validations at auth: each runs from the gateway's `AuthCall` (an
//! arrow gateway -> auth) to auth's answer for that user (a span on auth,
//! and an answer on its way back to the connection that called).

use super::builder::{AuthAnswer, Builder};
use super::text::{auth_answer_class, auth_answer_text};
use super::{SpanKind, Track};
use crate::trace::{AuthEvent, Event};

impl Builder {
    pub(super) fn auth(&mut self, i: usize, e: &Event, ev: &AuthEvent, user: Option<usize>) {
        match (user, ev.status()) {
            (Some(u), Some(status)) => self.validation(i, e, u, ev, status),
            _ => {
                let host = self.host(&e.host);
                self.auth_startup(e.at, host, ev);
                self.note(i, e, Track::Boot(host), user, "note");
            }
        }
    }

    /// auth answered `status` to user `u`'s gateway connection: the call
    /// that connection opened with `AuthCall` ends here.
    fn validation(&mut self, i: usize, e: &Event, u: usize, ev: &AuthEvent, status: u16) {
        let at = e.at;
        let call = self.auth_calls.len();
        let track = Track::Auth(call);
        let gc = self.auth_waiting.remove(&u);
        let called = gc.and_then(|gc| self.conn_pending[gc].auth_call.take());
        let start = called.unwrap_or(at).min(at);
        self.auth_calls.push(start);
        let class = auth_answer_class(status);
        let answer = auth_answer_text(ev, status);
        if let Some(gc) = gc {
            let from = (start, Track::Gateway(gc));
            self.arrow(from, (at, track), u, "request", "POST /v1/validate");
            self.conn_pending[gc].auth_answer = Some(AuthAnswer {
                at,
                call,
                class,
                text: answer.clone(),
            });
        }
        let text = format!("validate {} -> {answer}", self.users[u].name);
        let (span_class, note_class) = (format!("validate {class}"), format!("note {class}"));
        let (from, to) = ((start, None), (at, Some(i)));
        self.span(
            SpanKind::Validation,
            from,
            to,
            track,
            Some(u),
            span_class,
            text,
        );
        self.note(i, e, track, Some(u), note_class);
    }
}
