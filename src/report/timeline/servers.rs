//! Server lines: load balancer requests, gateway connections and runs,
//! auth validations, and the ends of messages that arrive at a server.

use std::time::Duration;

use super::builder::{At, Builder};
use super::{GatewayConn, Track, code_class, http_class};
use crate::trace::Event;

impl Builder {
    pub(super) fn note(&mut self, i: usize, e: &Event, text: &str, user: Option<usize>) {
        let at = e.at;
        let host = self.host(&e.host);
        match &*e.host {
            "lb" => self.lb_note(i, at, text, user),
            "gateway" => self.gateway_note(i, at, host, text, user),
            "auth" => self.auth_note(i, at, host, text, user),
            _ => self.mark(i, at, Track::Boot(host), user, "note", text, None),
        }
    }

    pub(super) fn lb_note(&mut self, i: usize, at: Duration, text: &str, user: Option<usize>) {
        let method = text.split(' ').next().unwrap_or("");
        let is_request = !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase());
        let status: Option<u16> = method.parse().ok().filter(|s| (100..600).contains(s));
        let req = match user {
            Some(u) if is_request => {
                let req = self.new_lb_request(at);
                let p = &mut self.pending[u];
                p.lb_request = Some(req);
                if let Some((sent, _)) = p.connect.take() {
                    self.arrow(
                        (sent, Track::User(u)),
                        (at, Track::Lb(req)),
                        u,
                        "request",
                        "GET /ws (upgrade)",
                    );
                }
                self.pending[u].lb_forward = Some((at, req));
                req
            }
            Some(u) => match self.pending[u].lb_request {
                Some(req) => req,
                None => self.new_lb_request(at),
            },
            None if is_request => {
                let req = self.new_lb_request(at);
                self.lb_anonymous = Some(req);
                req
            }
            None => match self.lb_anonymous {
                Some(req) => req,
                None => self.new_lb_request(at),
            },
        };
        let class = match status {
            Some(101) => "note http ok".to_string(),
            Some(s) => format!("note http {}", http_class(s)),
            None if text.contains("(stripped") => "note strip".to_string(),
            None => "note".to_string(),
        };
        if let (Some(u), Some(s)) = (user, status) {
            self.pending[u].lb_answer = Some((at, req, s));
            if s != 101 {
                self.pending[u].lb_forward = None;
            }
            let start = (self.lb_requests[req], Some(self.lb_events[req]));
            self.span(
                start,
                (at, Some(i)),
                Track::Lb(req),
                Some(u),
                format!("request {}", class.trim_start_matches("note ")),
                format!("{} {text}", self.users[u].name),
                true,
            );
        }
        self.mark(i, at, Track::Lb(req), user, class, text, None);
    }

    pub(super) fn new_lb_request(&mut self, at: Duration) -> usize {
        self.lb_requests.push(at);
        self.lb_events.push(self.current);
        self.lb_requests.len() - 1
    }

    pub(super) fn gateway_note(
        &mut self,
        i: usize,
        at: Duration,
        host: usize,
        text: &str,
        user: Option<usize>,
    ) {
        // `g1.2 ...` (a connection) or `g1.2.r3 ...` (one of its runs).
        let first = text.split(' ').next().unwrap_or("");
        let conn_id = conn_id_of(first);
        let Some(conn_id) = conn_id else {
            self.startup_note(at, host, text);
            let class =
                if text.starts_with("gateway draining") || text.starts_with("gateway stopped") {
                    "note down"
                } else {
                    "note"
                };
            return self.mark(i, at, Track::Boot(host), user, class, text, None);
        };
        let gc = match self.gateway_conn_index.get(conn_id) {
            Some(&gc) => gc,
            None => {
                self.gateway_conn_index
                    .insert(conn_id.to_string(), self.gateway_conns.len());
                self.gateway_conns.push(GatewayConn {
                    id: conn_id.to_string(),
                    user,
                    start: at,
                    start_event: i,
                    end_event: None,
                    end: self.end,
                    close: None,
                });
                self.gateway_conns.len() - 1
            }
        };
        if self.gateway_conns[gc].user.is_none() {
            self.gateway_conns[gc].user = user;
        }
        let me = Track::Gateway(gc);
        let rest = text[first.len()..].trim_start();
        // `g1.2 g1.2.r1 supervisor ...`: a line about one of its runs.
        let (run_id, rest) = match rest.split_once(' ') {
            Some((word, after))
                if word.len() > conn_id.len() && conn_id_of(word) == Some(conn_id) =>
            {
                (word, after)
            }
            _ if first.len() > conn_id.len() => (first, rest),
            _ => ("", rest),
        };
        let mut class = "note".to_string();
        if let Some(u) = user {
            let p = &mut self.pending[u];
            // An answer from auth reaches the gateway's next line.
            let auth_answer = p.auth_answer.take();
            let forward = if rest == "state ACCEPTED" {
                p.lb_forward.take()
            } else {
                None
            };
            p.gateway = Some((gc, at));
            if let Some((sent, call, answer)) = auth_answer {
                let ok = if answer.starts_with("200") {
                    "ok"
                } else {
                    "policy"
                };
                self.arrow(
                    (sent, Track::Auth(call)),
                    (at, me),
                    u,
                    format!("answer {ok}"),
                    answer,
                );
            }
            if let Some((sent, req)) = forward {
                self.arrow(
                    (sent, Track::Lb(req)),
                    (at, me),
                    u,
                    "request",
                    "upgrade forwarded",
                );
            }
            if let Some(retry) = rest
                .strip_prefix("auth call ")
                .and_then(|r| r.split("retry in ").nth(1))
            {
                let ms: u64 = retry.trim_end_matches("ms").parse().unwrap_or(0);
                self.pending[u].auth_retry = Some(at + Duration::from_millis(ms));
                class = "note retry".into();
            }
            if rest == "state PROCESSING_READY" {
                self.pending[u].ready = Some((at, gc));
            }
            if let Some(route) = rest.strip_prefix("supervisor -> ") {
                let msg = route.rsplit(' ').next().unwrap_or("");
                let p = &mut self.pending[u];
                if let Some(pos) = p.sends.iter().position(|(_, m)| m == msg) {
                    let (sent, m) = p.sends.remove(pos);
                    self.arrow(
                        (sent, Track::User(u)),
                        (at, me),
                        u,
                        "message",
                        format!("user_message {m}"),
                    );
                }
                self.gateway_runs.insert(
                    run_id.to_string(),
                    ((at, Some(i)), gc, format!("run {run_id} {route}")),
                );
                class = "note route".into();
            }
            if rest.starts_with("unknown message type")
                && let Some((sent, kind)) = self.pending[u].other_send.take()
            {
                self.arrow((sent, Track::User(u)), (at, me), u, "message", kind);
            }
            // The user's close frame is not in the trace (only its end,
            // when the echo arrives): the echo is drawn.
            if let Some(code) = rest
                .strip_prefix("client closed ")
                .and_then(|c| c.parse::<u16>().ok())
            {
                self.pending[u].gateway_close = Some((at, gc, code));
            }
        }
        if let Some(close) = rest.strip_prefix("close ") {
            let code: u16 = close
                .split(' ')
                .next()
                .and_then(|c| c.parse().ok())
                .unwrap_or(0);
            self.gateway_conns[gc].close = Some(code);
            class = format!("note close c{code} {}", code_class(code));
            if let Some(u) = user {
                // A frame the user sent may be what this close answers: a
                // bad frame, or a message that broke the server.
                let p = &mut self.pending[u];
                let answered = match (p.other_send.take(), code) {
                    (Some((sent, kind)), _) => Some((sent, kind)),
                    (None, 1007 | 1009 | 1011) => p
                        .sends
                        .pop()
                        .map(|(sent, m)| (sent, format!("user_message {m}"))),
                    _ => None,
                };
                if let Some((sent, text)) = answered {
                    self.arrow((sent, Track::User(u)), (at, me), u, "message", text);
                }
                self.pending[u].gateway_close = Some((at, gc, code));
            }
        }
        if rest == "state CLOSED" {
            self.gateway_conns[gc].end = at;
            self.gateway_conns[gc].end_event = Some(i);
            for (start, run_gc, text) in self.take_gateway_runs(gc) {
                self.span(
                    start,
                    (at, Some(i)),
                    Track::Gateway(run_gc),
                    user,
                    "run cut",
                    format!("{text}: cut"),
                    false,
                );
            }
        }
        if rest.contains("bypass") {
            class = "note defect".into();
        }
        self.mark(i, at, me, user, class, text, None);
    }

    pub(super) fn take_gateway_runs(&mut self, gc: usize) -> Vec<(At, usize, String)> {
        let ids: Vec<String> = self
            .gateway_runs
            .iter()
            .filter(|(_, (_, c, _))| *c == gc)
            .map(|(id, _)| id.clone())
            .collect();
        ids.iter()
            .filter_map(|id| self.gateway_runs.remove(id))
            .collect()
    }

    pub(super) fn auth_note(
        &mut self,
        i: usize,
        at: Duration,
        host: usize,
        text: &str,
        user: Option<usize>,
    ) {
        let answer = text.split(" -> ").nth(1);
        let (Some(u), Some(answer)) = (user, answer) else {
            self.startup_note(at, host, text);
            return self.mark(i, at, Track::Boot(host), user, "note", text, None);
        };
        let call = self.auth_calls.len();
        let p = &mut self.pending[u];
        // The gateway called when it last wrote a line (or when its retry was due).
        let start = match (p.gateway, p.auth_retry.take()) {
            (_, Some(retry)) if retry <= at => retry,
            (Some((_, last)), _) => last,
            _ => at,
        }
        .min(at);
        p.auth_answer = Some((at, call, answer.to_string()));
        let gc = p.gateway.map(|(gc, _)| gc);
        self.auth_calls.push(start);
        let ok = if answer.starts_with("200") {
            "ok"
        } else {
            "policy"
        };
        if let Some(gc) = gc {
            self.arrow(
                (start, Track::Gateway(gc)),
                (at, Track::Auth(call)),
                u,
                "request",
                "POST /v1/validate",
            );
        }
        let name = self.users[u].name.clone();
        self.span(
            (start, None),
            (at, Some(i)),
            Track::Auth(call),
            Some(u),
            format!("validate {ok}"),
            format!("validate {name} -> {answer}"),
            true,
        );
        self.mark(
            i,
            at,
            Track::Auth(call),
            user,
            format!("note {ok}"),
            text,
            None,
        );
    }
}

/// `g1.2` from `g1.2` or `g1.2.r3`.
fn conn_id_of(word: &str) -> Option<&str> {
    let rest = word.strip_prefix('g')?;
    let mut parts = rest.split('.');
    let boot = parts.next()?;
    let conn = parts.next()?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(boot) || !digits(conn) {
        return None;
    }
    match parts.next() {
        None => Some(word),
        Some(run) if run.strip_prefix('r').is_some_and(digits) && parts.next().is_none() => {
            Some(&word[..1 + boot.len() + 1 + conn.len()])
        }
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::conn_id_of;

    #[test]
    fn connection_ids() {
        assert_eq!(conn_id_of("g1.2"), Some("g1.2"));
        assert_eq!(conn_id_of("g12.345.r6"), Some("g12.345"));
        assert_eq!(conn_id_of("gateway"), None);
        assert_eq!(conn_id_of("g1"), None);
        assert_eq!(conn_id_of("g1.2.x"), None);
    }
}
