//! What a read error from a client earns it, on every gateway route: a
//! close frame with the code RFC 6455 gives its cause, or nothing because
//! the transport itself is gone.
//!
//! tungstenite reports a client's bad frame as an error of the read, like
//! a lost transport. Treating every such error as lost (as the gateway
//! did) dropped TCP without a close frame, so the client saw 1006 and
//! reconnected to send the same bad frame again (issue 21). The codes:
//! a frame or message over the size limit 1009; a text message that is
//! not UTF-8 1007 (RFC 6455, 8.1); a framing violation (reserved bits,
//! an unmasked frame, an unknown opcode, a fragmented or oversized control
//! frame, a continuation with nothing to continue) 1002 (7.4.1).

use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::error::ProtocolError;

/// The longest close reason: a close frame's payload is at most 125
/// bytes, two of them the code.
const MAX_REASON_BYTES: usize = 123;

/// The close `e` earns the client, as code and reason; `None` when the
/// transport is gone (or the error is the server's own), and there is
/// nobody to tell.
pub fn close_for(e: &WsError) -> Option<(u16, String)> {
    let (code, reason) = match e {
        WsError::Capacity(e) => (1009, format!("frame too large: {e}")),
        WsError::Utf8(e) => (1007, format!("invalid UTF-8 in a text message: {e}")),
        WsError::Protocol(p) if client_violation(p) => (1002, format!("protocol violation: {p}")),
        _ => return None,
    };
    Some((code, truncate(reason)))
}

/// Whether a protocol error is the client breaking RFC 6455's framing, as
/// opposed to the transport ending (`ResetWithoutClosingHandshake`) or a
/// handshake or sending problem, which are not the client's frames.
fn client_violation(p: &ProtocolError) -> bool {
    matches!(
        p,
        ProtocolError::NonZeroReservedBits
            | ProtocolError::UnmaskedFrameFromClient
            | ProtocolError::FragmentedControlFrame
            | ProtocolError::ControlFrameTooBig
            | ProtocolError::UnknownControlFrameType(_)
            | ProtocolError::UnknownDataFrameType(_)
            | ProtocolError::UnexpectedContinueFrame
            | ProtocolError::ExpectedFragment(_)
            | ProtocolError::InvalidOpcode(_)
            | ProtocolError::InvalidCloseSequence
    )
}

/// `reason` cut to what a close frame can carry, on a character boundary.
fn truncate(mut reason: String) -> String {
    if reason.len() > MAX_REASON_BYTES {
        let mut end = MAX_REASON_BYTES;
        while !reason.is_char_boundary(end) {
            end -= 1;
        }
        reason.truncate(end);
    }
    reason
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cause_gets_its_code_and_a_lost_transport_none() {
        let utf8 = WsError::Utf8("invalid utf-8 sequence".into());
        assert_eq!(close_for(&utf8).map(|c| c.0), Some(1007));
        let rsv = WsError::Protocol(ProtocolError::NonZeroReservedBits);
        assert_eq!(close_for(&rsv).map(|c| c.0), Some(1002));
        let reset = WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake);
        assert_eq!(close_for(&reset), None);
        assert_eq!(close_for(&WsError::ConnectionClosed), None);
    }

    #[test]
    fn a_long_reason_fits_a_close_frame() {
        let long = "é".repeat(100);
        let cut = truncate(long);
        assert!(cut.len() <= MAX_REASON_BYTES);
        assert!(cut.chars().all(|c| c == 'é'));
    }
}
