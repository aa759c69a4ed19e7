//! Load balancer requests: `Forwarded` starts one, an event with an HTTP
//! status answers it (a span from one to the other), and the user's
//! upgrade arrives there (an arrow from the user's `Connecting`).

use std::time::Duration;

use super::builder::Builder;
use super::text::{lb_answer_class, lb_class};
use super::{SpanKind, Track};
use crate::trace::LbEvent;

impl Builder {
    pub(super) fn lb(&mut self, i: usize, at: Duration, ev: &LbEvent, user: Option<usize>) {
        let req = match ev {
            LbEvent::Forwarded { .. } => self.lb_forwarded(at, user),
            _ => self.lb_open_request(at, user),
        };
        if let (Some(u), Some(status)) = (user, ev.status()) {
            self.lb_answered(i, at, u, req, status, ev);
        }
        self.mark(
            i,
            at,
            Track::Lb(req),
            user,
            lb_class(ev),
            ev.to_string(),
            None,
        );
    }

    /// A new request; the user's upgrade travels client -> lb.
    fn lb_forwarded(&mut self, at: Duration, user: Option<usize>) -> usize {
        let req = self.new_lb_request(at);
        let Some(u) = user else {
            self.lb_anonymous = Some(req);
            return req;
        };
        let p = &mut self.pending[u];
        p.lb_request = Some(req);
        // The user's connection under way is the one lb forwards: the
        // gateway's `Accepted` names it, and takes the next hop.
        let conn = p.conn.map(|(conn, _)| conn);
        let connect = p.connect.take();
        p.lb_forward = Some((at, req, conn));
        if let Some((sent, _)) = connect {
            self.arrow(
                (sent, Track::User(u)),
                (at, Track::Lb(req)),
                u,
                "request",
                "GET /ws (upgrade)",
            );
        }
        req
    }

    /// The request an event that starts none belongs to: the user's open
    /// one, or the open one with no user.
    fn lb_open_request(&mut self, at: Duration, user: Option<usize>) -> usize {
        let open = match user {
            Some(u) => self.pending[u].lb_request,
            None => self.lb_anonymous,
        };
        match open {
            Some(req) => req,
            None => self.new_lb_request(at),
        }
    }

    fn new_lb_request(&mut self, at: Duration) -> usize {
        self.lb_requests.push(at);
        self.lb_events.push(self.current);
        self.lb_requests.len() - 1
    }

    /// lb answered `status`: the request's span ends, and the answer is on
    /// its way to the user (`101` or a refusal).
    fn lb_answered(
        &mut self,
        i: usize,
        at: Duration,
        u: usize,
        req: usize,
        status: u16,
        ev: &LbEvent,
    ) {
        let p = &mut self.pending[u];
        p.lb_answer = Some((at, req, status));
        if status != 101 {
            // Refused here: nothing reaches the gateway.
            p.lb_forward = None;
        }
        let start = (self.lb_requests[req], Some(self.lb_events[req]));
        self.span(
            SpanKind::Request,
            start,
            (at, Some(i)),
            Track::Lb(req),
            Some(u),
            format!("request {}", lb_answer_class(status)),
            format!("{} {ev}", self.users[u].name),
        );
    }
}
