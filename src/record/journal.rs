//! `observed.jsonl`: what `stagesim record` saw, one JSON object a line,
//! written as it happens and read back once recording ends.
//!
//! `ConnObserver -> Entry -> Journal (a buffered file) -> observed.jsonl ->
//! read_back -> Entry`s for `infer` and `observed`. Each entry is one event
//! of one connection in the trace's own terms (`connecting`, `opened`,
//! `http_rejected`, a `frame` that is a trace's `sent`/`received`,
//! `closed`), with the line a simulated trace file would have for it
//! (`line`), so `jq -r .line` gives a client-side trace file. Nothing is
//! kept in memory once written: recording's memory does not grow with
//! the traffic.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufRead, BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::trace::{Incoming, Outgoing, Shared};
use crate::vocab::{ReadType, SentKind};

/// One observed event of one connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Milliseconds since recording started.
    pub at_ms: u64,
    /// The proxy's own number for the connection, from 1.
    pub id: u64,
    /// The user it belongs to: the request id's user (`user-0003` of
    /// `x-request-id: user-0003/c2`), else the token's subject, else
    /// `conn-N` (one user per connection).
    pub user: String,
    /// The user's connection number (`c2`: 2).
    pub conn: u32,
    #[serde(flatten)]
    pub what: What,
    /// The event as a trace file writes it; absent for frames a trace has
    /// no event for (control frames, binary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<String>,
}

impl Entry {
    pub fn at(&self) -> Duration {
        Duration::from_millis(self.at_ms)
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum What {
    /// The upgrade request arrived. `token_via`: `header`, `subprotocol`,
    /// both or neither; `token`: `valid`, `expired`, `bad_signature`,
    /// `malformed`, `not_yet_valid` (checked with `--secret`), `unknown`
    /// (no `--secret`) or `none`. Never the token itself.
    Connecting {
        token_via: Vec<String>,
        token: String,
    },
    /// The upgrade was answered with this status instead of 101.
    HttpRejected { status: u16 },
    /// The upgrade was answered 101.
    Opened { protocol: Option<String> },
    /// One message or control frame, `up` (client to backend) or `down`.
    Frame {
        dir: String,
        opcode: String,
        bytes: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<Box<Message>>,
        /// The text, with `--bodies` only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// The connection ended: the first close frame's code and reason and
    /// the side that sent it (`client`, `server`), or 1006 with side
    /// `none` when the transport ended without one.
    Closed {
        code: u16,
        reason: String,
        side: String,
    },
}

/// A text frame's protocol fields (docs/wire-protocol.md), as a client
/// reads them; absent fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Message {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Message {
    pub fn of(i: Incoming) -> Message {
        Message {
            kind: i.kind.to_string(),
            message_id: i.message_id.as_deref().map(str::to_string),
            agent: i.agent.as_deref().map(str::to_string),
            user_id: i.user_id.as_deref().map(str::to_string),
            seq: i.seq,
            run_id: i.run_id.as_deref().map(str::to_string),
            tool: i.tool.as_deref().map(str::to_string),
            code: i.code.as_deref().map(str::to_string),
        }
    }

    pub fn incoming(&self) -> Incoming {
        Incoming {
            kind: ReadType::from_trace(&self.kind),
            user_id: self.user_id.as_deref().map(Shared::from),
            seq: self.seq,
            run_id: self.run_id.as_deref().map(Shared::from),
            message_id: self.message_id.as_deref().map(Shared::from),
            agent: self.agent.as_deref().map(Shared::from),
            tool: self.tool.as_deref().map(Shared::from),
            code: self.code.as_deref().map(Shared::from),
        }
    }

    pub fn outgoing(&self, bytes: u64) -> Outgoing {
        Outgoing {
            kind: SentKind::named(&self.kind),
            message_id: self.message_id.clone(),
            agent: self.agent.clone(),
            bytes: bytes as usize,
        }
    }
}

/// Counts shown by the progress line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub connections: u64,
    pub open: u64,
    pub frames: u64,
    pub closes: u64,
}

/// The open `observed.jsonl`, shared by every connection's observer.
pub struct Journal {
    out: RefCell<BufWriter<File>>,
    /// The first write error: reported when recording ends.
    failed: RefCell<Option<io::Error>>,
    pub counts: Cell<Counts>,
    /// Whether frames carry their text (`--bodies`).
    pub bodies: bool,
    /// Recording has stopped: connections still open are not closed by
    /// anyone, so no close is written for them.
    stopped: Cell<bool>,
}

impl Journal {
    pub fn create(path: &Path, bodies: bool) -> io::Result<Journal> {
        Ok(Journal {
            out: RefCell::new(BufWriter::new(File::create(path)?)),
            failed: RefCell::new(None),
            counts: Cell::default(),
            bodies,
            stopped: Cell::new(false),
        })
    }

    /// Append one entry (a failed write is kept and reported at the end).
    pub fn write(&self, entry: &Entry) {
        if self.failed.borrow().is_some() {
            return;
        }
        let mut out = self.out.borrow_mut();
        let written = serde_json::to_writer(&mut *out, entry)
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        if let Err(e) = written {
            *self.failed.borrow_mut() = Some(e);
        }
    }

    pub fn stop(&self) {
        self.stopped.set(true);
    }

    pub fn stopped(&self) -> bool {
        self.stopped.get()
    }

    pub fn count(&self, change: impl FnOnce(&mut Counts)) {
        let mut c = self.counts.get();
        change(&mut c);
        self.counts.set(c);
    }

    /// Flush to disk; the first error met while writing, if any.
    pub fn finish(&self) -> io::Result<()> {
        if let Some(e) = self.failed.borrow_mut().take() {
            return Err(e);
        }
        let mut out = self.out.borrow_mut();
        out.flush()?;
        out.get_ref().sync_all()
    }
}

/// Every entry of a journal, in the order written.
pub fn read_back(path: &Path) -> Result<Vec<Entry>, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut entries = Vec::new();
    for (n, line) in io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let mut entry: Entry = serde_json::from_str(&line)
            .map_err(|e| format!("{} line {}: {e}", path.display(), n + 1))?;
        entry.line = None;
        entries.push(entry);
    }
    Ok(entries)
}
