//! RFC 6455 frames read off one direction of a spliced connection, as the
//! bytes go by: `bytes -> FrameReader::feed -> Frame`s.
//!
//! The reader never holds more than one frame header and the first
//! [`KEPT`] bytes of the message being read: a larger message is counted,
//! not kept, so memory per connection stays bounded whatever a client
//! sends. Client frames are masked (RFC 6455 5.3); the mask is undone on
//! the bytes kept. Fragmented messages are joined into one [`Frame`].

/// Bytes of one message kept for reading its type (and its body under
/// `--bodies`): the protocol's own frame limit.
pub const KEPT: usize = 64 * 1024;

/// One whole message, or a control frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// `text`, `binary`, `close`, `ping`, `pong`, or `opcode-N`.
    pub opcode: &'static str,
    /// Payload length (all fragments of a message).
    pub bytes: u64,
    /// The first [`KEPT`] bytes of the payload, unmasked.
    pub payload: Vec<u8>,
}

impl Frame {
    /// A close frame's code and reason: `(1005, "")` for one without a code.
    pub fn close(&self) -> (u16, String) {
        match self.payload.as_slice() {
            [a, b, reason @ ..] => (
                u16::from_be_bytes([*a, *b]),
                String::from_utf8_lossy(reason).into_owned(),
            ),
            _ => (1005, String::new()),
        }
    }
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        0x1 => "text",
        0x2 => "binary",
        0x8 => "close",
        0x9 => "ping",
        0xA => "pong",
        0x3..=0x7 => "opcode-reserved",
        _ => "opcode-control-reserved",
    }
}

/// The reader's position in the current frame.
#[derive(Debug)]
struct Header {
    fin: bool,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    /// Payload bytes of this frame read so far.
    read: u64,
}

/// Reads frames from one direction's bytes, in any chunking.
#[derive(Debug, Default)]
pub struct FrameReader {
    /// Header bytes collected so far (at most 14).
    head: Vec<u8>,
    current: Option<Header>,
    /// The fragmented message being joined: its opcode, length, kept bytes.
    message: Option<(u8, u64, Vec<u8>)>,
    /// The stream stopped being WebSocket frames (bad header): ignored
    /// from here on.
    lost: bool,
}

impl FrameReader {
    /// Feed the next bytes; every frame completed by them, in order.
    pub fn feed(&mut self, mut bytes: &[u8]) -> Vec<Frame> {
        let mut done = Vec::new();
        while !bytes.is_empty() && !self.lost {
            match &mut self.current {
                None => {
                    let taken = self.read_head(bytes);
                    bytes = &bytes[taken..];
                }
                Some(h) => {
                    let n = (h.len - h.read).min(bytes.len() as u64) as usize;
                    let offset = h.read;
                    h.read += n as u64;
                    self.keep(&bytes[..n], offset);
                    bytes = &bytes[n..];
                }
            }
            if let Some(frame) = self.finish_frame() {
                done.push(frame);
            }
        }
        done
    }

    /// Take header bytes; the header starts its frame once whole.
    fn read_head(&mut self, bytes: &[u8]) -> usize {
        let mut taken = 0;
        while taken < bytes.len() {
            self.head.push(bytes[taken]);
            taken += 1;
            if let Some(header) = parse_head(&self.head) {
                self.head.clear();
                if header.opcode >= 0x8 && (!header.fin || header.len > 125) {
                    self.lost = true;
                } else {
                    self.start(header.opcode);
                    self.current = Some(header);
                }
                break;
            }
        }
        taken
    }

    /// A data frame starts a message or continues one; a control frame is
    /// its own message (it may come between fragments).
    fn start(&mut self, opcode: u8) {
        if opcode != 0 && opcode < 0x8 {
            self.message = Some((opcode, 0, Vec::new()));
        }
    }

    /// Payload bytes at `offset` within the current frame: unmask and keep.
    fn keep(&mut self, bytes: &[u8], offset: u64) {
        let Some(Header { mask, opcode, .. }) = self.current else {
            return;
        };
        let unmask = |i: usize, b: u8| match mask {
            Some(m) => b ^ m[(offset as usize + i) % 4],
            None => b,
        };
        if opcode >= 0x8 {
            // Control payloads are at most 125 bytes: kept in `head`, which
            // is empty while a payload is read.
            let kept = bytes.iter().enumerate().map(|(i, b)| unmask(i, *b));
            self.head.extend(kept);
            return;
        }
        if let Some((_, len, kept)) = &mut self.message {
            *len += bytes.len() as u64;
            let room = KEPT.saturating_sub(kept.len()).min(bytes.len());
            kept.extend(bytes[..room].iter().enumerate().map(|(i, b)| unmask(i, *b)));
        }
    }

    /// The current frame, if all of it has been read; a message once its
    /// final fragment is.
    fn finish_frame(&mut self) -> Option<Frame> {
        let h = self.current.as_ref()?;
        if h.read < h.len {
            return None;
        }
        let h = self.current.take()?;
        if h.opcode >= 0x8 {
            return Some(Frame {
                opcode: opcode_name(h.opcode),
                bytes: h.len,
                payload: std::mem::take(&mut self.head),
            });
        }
        if !h.fin {
            return None;
        }
        let (opcode, bytes, payload) = self.message.take()?;
        Some(Frame {
            opcode: opcode_name(opcode),
            bytes,
            payload,
        })
    }
}

/// A whole frame header, once `head` holds one.
fn parse_head(head: &[u8]) -> Option<Header> {
    let [b0, b1, rest @ ..] = head else {
        return None;
    };
    let masked = b1 & 0x80 != 0;
    let (len, used) = match b1 & 0x7F {
        126 => (
            u64::from(u16::from_be_bytes(rest.get(..2)?.try_into().ok()?)),
            2,
        ),
        127 => (u64::from_be_bytes(rest.get(..8)?.try_into().ok()?), 8),
        n => (u64::from(n), 0),
    };
    let mask = if masked {
        Some(rest.get(used..used + 4)?.try_into().ok()?)
    } else {
        None
    };
    if rest.len() != used + if masked { 4 } else { 0 } {
        return None;
    }
    Some(Header {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0F,
        mask,
        len,
        read: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(u8::from(fin) << 7) | opcode];
        let m = if mask.is_some() { 0x80 } else { 0 };
        match payload.len() {
            n if n < 126 => out.push(m | n as u8),
            n if n < 65536 => {
                out.push(m | 126);
                out.extend((n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend((n as u64).to_be_bytes());
            }
        }
        match mask {
            Some(k) => {
                out.extend(k);
                out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
            }
            None => out.extend(payload),
        }
        out
    }

    #[test]
    fn frames_are_read_whatever_the_chunking_and_unmasked() {
        let mut bytes = frame(true, 1, Some([1, 2, 3, 4]), br#"{"type":"ping"}"#);
        bytes.extend(frame(true, 8, Some([9, 8, 7, 6]), b"\x03\xe8done"));
        for chunk in [1, 2, 3, 7, bytes.len()] {
            let mut r = FrameReader::default();
            let frames: Vec<Frame> = bytes.chunks(chunk).flat_map(|c| r.feed(c)).collect();
            assert_eq!(frames.len(), 2, "chunk {chunk}");
            assert_eq!(frames[0].opcode, "text");
            assert_eq!(frames[0].payload, br#"{"type":"ping"}"#);
            assert_eq!(frames[1].close(), (1000, "done".into()));
        }
    }

    #[test]
    fn fragments_join_around_a_control_frame_and_big_messages_are_counted_not_kept() {
        let mut bytes = frame(false, 1, None, b"{\"type\":");
        bytes.extend(frame(true, 9, None, b"hi"));
        bytes.extend(frame(true, 0, None, b"\"pong\"}"));
        let big = vec![b'x'; KEPT + 70_000];
        bytes.extend(frame(true, 2, None, &big));
        let mut r = FrameReader::default();
        let frames = r.feed(&bytes);
        let seen: Vec<_> = frames.iter().map(|f| (f.opcode, f.bytes)).collect();
        assert_eq!(
            seen,
            [("ping", 2), ("text", 15), ("binary", big.len() as u64)]
        );
        assert_eq!(frames[1].payload, b"{\"type\":\"pong\"}");
        assert_eq!(frames[2].payload.len(), KEPT);
    }

    #[test]
    fn a_close_without_a_code_is_1005() {
        let mut r = FrameReader::default();
        let frames = r.feed(&frame(true, 8, None, b""));
        assert_eq!(frames[0].close(), (1005, String::new()));
    }
}
