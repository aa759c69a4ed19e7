//! What a simulated user is and does, in the words a scenario file, the
//! trace and the oracle share: the token it presents, where it puts it,
//! and the invalid frame it may send.

use super::named_enum;

named_enum! {
    /// The token a user presents; only `valid` may be admitted.
    pub enum TokenKind as "token kind" {
        /// Correctly signed and unexpired.
        Valid = "valid",
        /// Correctly signed, `exp` in the past of the simulated clock.
        Expired = "expired",
        /// Signed with the wrong key.
        BadSignature = "bad_signature",
        /// Not a JWT at all.
        Malformed = "malformed",
        /// An empty token where one is expected.
        Missing = "missing",
    }
}

named_enum! {
    /// Where the client puts the token in the upgrade request.
    pub enum TokenVia as "token channel" {
        /// `Authorization: Bearer <jwt>`.
        Header = "header",
        /// `Sec-WebSocket-Protocol: jwt-auth, jwt.<jwt>`.
        Subprotocol = "subprotocol",
    }
}

named_enum! {
    /// A deliberately invalid frame a user sends once (`misbehave`).
    pub enum Misbehave as "misbehaviour" {
        /// Only valid messages.
        None = "none",
        /// A text frame that is not JSON: the gateway closes with 1007.
        BadJson = "bad_json",
        /// JSON without the fields of a `user_message`: 1007.
        WrongShape = "wrong_shape",
        /// A 100 KiB frame, over the gateway's 64 KiB limit: 1009.
        Oversized = "oversized",
        /// A `type` the gateway does not map: an `error` event, and the
        /// connection stays open.
        UnknownType = "unknown_type",
    }
}

impl Misbehave {
    pub fn is_none(&self) -> bool {
        *self == Misbehave::None
    }

    /// Whether the gateway rightly closes the connection for it, so the
    /// user's messages are not owed an answer.
    pub fn forfeits_answers(&self) -> bool {
        matches!(
            self,
            Misbehave::BadJson | Misbehave::WrongShape | Misbehave::Oversized
        )
    }
}
