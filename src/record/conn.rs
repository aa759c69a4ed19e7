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
            // The journal keeps its own strings: nothing to share them with.
            .map(|t| Message::of(crate::client::parse_incoming(t, &mut Default::default())));
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
            message: message.map(Box::new),
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

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::record::journal::read_back;
    use crate::scenario::TokenKind;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("stagesim-conn-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("a scratch dir");
            Scratch(dir.join("observed.jsonl"))
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.parent().expect("a dir"));
        }
    }

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            let name = hyper::header::HeaderName::from_bytes(name.as_bytes()).expect("a name");
            h.insert(name, value.parse().expect("a value"));
        }
        h
    }

    #[test]
    fn the_token_s_channel_and_kind_are_recorded_never_the_token() {
        let net = crate::net::LiveNet::bind(&[]).expect("live");
        let (_live, _) = crate::net::go_live(net);
        let now = crate::net::since_epoch();
        let hour = Duration::from_secs(3600);
        let mint = |kind| crate::tokens::mint(kind, "alice", now, hour).expect("a token");
        let (valid, expired) = (mint(TokenKind::Valid), mint(TokenKind::Expired));
        let scratch = Scratch::new("tokens");
        let journal = Rc::new(Journal::create(&scratch.0, false).expect("a journal"));
        let checking = Observer::new(journal.clone(), true);
        let subprotocol = format!("jwt-auth, jwt.{expired}");
        let requests = [
            headers(&[("authorization", format!("Bearer {valid}"))]),
            headers(&[("sec-websocket-protocol", subprotocol.clone())]),
            headers(&[
                ("authorization", format!("Bearer {valid}")),
                ("sec-websocket-protocol", subprotocol),
            ]),
            headers(&[("x-request-id", "user-0007/c3".into())]),
        ];
        for h in &requests {
            drop(checking.request(h));
        }
        drop(Observer::new(journal.clone(), false).request(&requests[0]));
        journal.finish().expect("written");
        let text = std::fs::read_to_string(&scratch.0).expect("read");
        assert!(!text.contains(&valid) && !text.contains(&expired), "{text}");
        let seen: Vec<(String, u32, Vec<String>, String)> = read_back(&scratch.0)
            .expect("entries")
            .into_iter()
            .map(|e| match e.what {
                What::Connecting { token_via, token } => (e.user, e.conn, token_via, token),
                other => panic!("{other:?}"),
            })
            .collect();
        let via = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            seen,
            [
                ("alice".into(), 1, via(&["header"]), "valid".into()),
                ("alice".into(), 2, via(&["subprotocol"]), "expired".into()),
                (
                    "alice".into(),
                    3,
                    via(&["header", "subprotocol"]),
                    "valid".into()
                ),
                ("user-0007".into(), 3, via(&[]), "none".into()),
                ("alice".into(), 1, via(&["header"]), "unknown".into()),
            ]
        );
    }

    /// A server close frame (unmasked, as servers send them).
    fn close_frame(code: u16, reason: &str) -> Vec<u8> {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend(reason.as_bytes());
        let mut frame = vec![0x88, payload.len() as u8];
        frame.extend(payload);
        frame
    }

    #[test]
    fn a_close_is_the_first_close_frame_s_and_one_left_open_at_the_stop_stays_open() {
        let scratch = Scratch::new("closes");
        let journal = Rc::new(Journal::create(&scratch.0, false).expect("a journal"));
        let observer = Observer::new(journal.clone(), false);
        let id = |n: &str| headers(&[("x-request-id", format!("{n}/c1"))]);
        let closed = observer.request(&id("closed"));
        closed.answered(101, None);
        closed.bytes(Flow::Down, &close_frame(1011, "message router: boom"));
        closed.ended(false);
        drop(closed);
        let dropped = observer.request(&id("dropped"));
        dropped.answered(101, Some("jwt-auth"));
        drop(dropped);
        let refused = observer.request(&id("refused"));
        refused.answered(503, None);
        drop(refused);
        let open = observer.request(&id("open"));
        open.answered(101, None);
        journal.stop();
        drop(open);
        assert_eq!(journal.counts.get().open, 0);
        journal.finish().expect("written");
        let ends: Vec<(String, What)> = read_back(&scratch.0)
            .expect("entries")
            .into_iter()
            .filter(|e| matches!(e.what, What::Closed { .. } | What::HttpRejected { .. }))
            .map(|e| (e.user, e.what))
            .collect();
        let close = |code, reason: &str, side: &str| What::Closed {
            code,
            reason: reason.into(),
            side: side.into(),
        };
        assert_eq!(
            ends,
            [
                (
                    "closed".into(),
                    close(1011, "message router: boom", "server")
                ),
                ("dropped".into(), close(1006, "", "none")),
                ("refused".into(), What::HttpRejected { status: 503 }),
            ]
        );
    }
}
