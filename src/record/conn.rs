//! One connection through `stagesim record`'s `lb`, observed: the upgrade
//! (when, how the token came and what kind it is, never the token), the
//! answer, every frame both ways, and how it closed.
//!
//! `lb -> services::tap -> Observer::request -> ConnObserver (answered,
//! bytes -> frames::FrameReader, ended) -> journal::Entry`s, written as
//! they happen. An observer holds two frame readers and a few fields; it
//! is dropped with its connection.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use hyper::HeaderMap;

use super::frames::{Frame, FrameReader};
use super::journal::{Entry, Journal, Message, What};
use crate::services::middlebox::Flow;
use crate::services::tap::{ConnTap, Tap};
use crate::trace::{Event, Kind, RequestId, render_event};

/// The host client events are recorded on: the trace's own name for a
/// browser's side.
pub const CLIENT_HOST: &str = "clients-1";

/// Every connection's observer is made here.
pub struct Observer {
    journal: Rc<Journal>,
    next_id: Cell<u64>,
    /// Connections seen per user without a request id's own number.
    conns: RefCell<BTreeMap<String, u32>>,
    /// Whether tokens are checked (`--secret` given).
    check_tokens: bool,
}

impl Observer {
    pub fn new(journal: Rc<Journal>, check_tokens: bool) -> Observer {
        Observer {
            journal,
            next_id: Cell::new(1),
            conns: RefCell::default(),
            check_tokens,
        }
    }

    /// Who the connection belongs to and its number for that user.
    fn whose(&self, headers: &HeaderMap, token: Option<&str>, id: u64) -> (String, u32) {
        let named = crate::services::http::request_id(headers).and_then(RequestId::parse);
        if let Some(r) = named {
            return (r.user.to_string(), r.conn);
        }
        let user = token
            .and_then(crate::tokens::unverified_subject)
            .unwrap_or_else(|| format!("conn-{id:06}"));
        let mut conns = self.conns.borrow_mut();
        let n = conns.entry(user.clone()).or_default();
        *n += 1;
        (user, *n)
    }

    fn token_kind(&self, token: Option<&str>) -> String {
        let Some(token) = token else {
            return "none".into();
        };
        if !self.check_tokens {
            return "unknown".into();
        }
        match crate::tokens::verify(token, crate::net::since_epoch(), Duration::ZERO) {
            Ok(_) => "valid".into(),
            Err(refusal) => refusal.as_str().into(),
        }
    }
}

impl Tap for Observer {
    fn request(&self, headers: &HeaderMap) -> Rc<dyn ConnTap> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let (token, via) = token_of(headers);
        let (user, conn) = self.whose(headers, token.as_deref(), id);
        let observer = ConnObserver {
            journal: self.journal.clone(),
            id,
            user,
            conn,
            state: RefCell::default(),
        };
        let connecting = What::Connecting {
            token_via: via,
            token: self.token_kind(token.as_deref()),
        };
        observer.write(connecting, Some(Kind::Connecting { conn, attempt: 1 }));
        self.journal.count(|c| {
            c.connections += 1;
            c.open += 1;
        });
        Rc::new(observer)
    }
}

/// The token a client sent and how: the header's first (as the gateway
/// reads them), else the subprotocol's; and the channels it came by.
fn token_of(headers: &HeaderMap) -> (Option<String>, Vec<String>) {
    let header = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let offered: Vec<&str> = headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let sub = offered
        .contains(&"jwt-auth")
        .then(|| offered.iter().find_map(|p| p.strip_prefix("jwt.")))
        .flatten()
        .map(str::to_string);
    let mut via = Vec::new();
    if header.is_some() {
        via.push("header".to_string());
    }
    if sub.is_some() {
        via.push("subprotocol".to_string());
    }
    (header.or(sub), via)
}

#[derive(Default)]
struct ConnState {
    up: FrameReader,
    down: FrameReader,
    /// The first close frame: code, reason, the side that sent it.
    close: Option<(u16, String, &'static str)>,
    /// Answered (101 or a refusal): the open count was settled or the
    /// splice will settle it.
    answered: Option<u16>,
    ended: bool,
}

/// One connection's observer.
pub struct ConnObserver {
    journal: Rc<Journal>,
    id: u64,
    user: String,
    conn: u32,
    state: RefCell<ConnState>,
}

impl ConnObserver {
    /// Write `what`, with the trace line of `kind` when a trace has one.
    fn write(&self, what: What, kind: Option<Kind>) {
        let at = crate::net::elapsed();
        let line = kind.map(|kind| {
            let event = Event {
                at,
                host: Rc::from(CLIENT_HOST),
                user: Some(Rc::from(self.user.as_str())),
                kind,
            };
            render_event(&event)
        });
        let entry = Entry {
            at_ms: at.as_millis() as u64,
            id: self.id,
            user: self.user.clone(),
            conn: self.conn,
            what,
            line,
        };
        self.journal.write(&entry);
    }

    fn frame(&self, flow: Flow, frame: Frame) {
        let conn = self.conn;
        let dir = match flow {
            Flow::Up => "client",
            Flow::Down => "server",
        };
        if frame.opcode == "close" {
            let mut state = self.state.borrow_mut();
            if state.close.is_none() {
                let (code, reason) = frame.close();
                state.close = Some((code, reason, dir));
            }
        }
        let text = (frame.opcode == "text").then(|| String::from_utf8_lossy(&frame.payload));
        let message = text
            .as_deref()
            .map(|t| Message::of(crate::client::parse_incoming(t)));
        let kind = message.as_ref().map(|m| match flow {
            Flow::Up => Kind::Sent {
                conn,
                frame: m.outgoing(frame.bytes),
            },
            Flow::Down => Kind::Received {
                conn,
                event: m.incoming(),
            },
        });
        let what = What::Frame {
            dir: if flow == Flow::Up { "up" } else { "down" }.into(),
            opcode: frame.opcode.into(),
            bytes: frame.bytes,
            message,
            body: text.filter(|_| self.journal.bodies).map(|t| t.into_owned()),
        };
        self.write(what, kind);
        self.journal.count(|c| c.frames += 1);
    }
}

impl ConnTap for ConnObserver {
    fn answered(&self, status: u16, protocol: Option<&str>) {
        self.state.borrow_mut().answered = Some(status);
        let conn = self.conn;
        if status == 101 {
            let protocol = protocol.map(str::to_string);
            let kind = Kind::Opened {
                conn,
                protocol: protocol.clone(),
            };
            self.write(What::Opened { protocol }, Some(kind));
        } else {
            let kind = Kind::HttpRejected { conn, status };
            self.write(What::HttpRejected { status }, Some(kind));
        }
    }

    fn bytes(&self, flow: Flow, bytes: &[u8]) {
        let frames = {
            let mut state = self.state.borrow_mut();
            match flow {
                Flow::Up => state.up.feed(bytes),
                Flow::Down => state.down.feed(bytes),
            }
        };
        for frame in frames {
            self.frame(flow, frame);
        }
    }

    fn ended(&self, _reset: bool) {
        let (code, reason, side) = {
            let mut state = self.state.borrow_mut();
            if state.ended || self.journal.stopped() {
                return;
            }
            state.ended = true;
            state.close.take().unwrap_or((1006, String::new(), "none"))
        };
        let kind = Kind::Closed {
            conn: self.conn,
            code,
            reason: reason.clone(),
            by_client: side == "client",
        };
        let what = What::Closed {
            code,
            reason,
            side: side.into(),
        };
        self.write(what, Some(kind));
        self.journal.count(|c| c.closes += 1);
    }
}

impl Drop for ConnObserver {
    /// The connection is gone: no longer open, however it ended. One
    /// upgraded but never ended (the proxy stopping mid-splice) is closed
    /// here as its client saw it last: 1006.
    fn drop(&mut self) {
        let upgraded = self.state.borrow().answered == Some(101);
        if upgraded {
            self.ended(false);
        }
        self.journal.count(|c| c.open = c.open.saturating_sub(1));
    }
}
