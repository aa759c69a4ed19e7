//! The `type` of a WebSocket frame, both ways (docs/wire-protocol.md).
//!
//! The gateway writes a [`ServerType`], the client sends a [`ClientType`];
//! the trace records what a user read ([`ReadType`]: a known type, or what
//! a backend under `--target` sent instead) and what it sent ([`SentKind`]:
//! a protocol frame, or one of the deliberately invalid frames a misbehaving
//! user sends). Each is written in the trace and reports by its wire name,
//! so the trace text is what it was when these were strings.

use std::fmt;

use super::named_enum;

named_enum! {
    /// The `type` of a frame the server sends.
    pub enum ServerType as "server event type" {
        ConnectionEstablished = "connection_established",
        Pong = "pong",
        AgentStarted = "agent_started",
        AgentThinking = "agent_thinking",
        ToolExecuting = "tool_executing",
        ToolCompleted = "tool_completed",
        AgentCompleted = "agent_completed",
        Error = "error",
    }
}

impl ServerType {
    /// One of the five events of an agent run.
    pub fn is_agent_event(self) -> bool {
        matches!(
            self,
            Self::AgentStarted
                | Self::AgentThinking
                | Self::ToolExecuting
                | Self::ToolCompleted
                | Self::AgentCompleted
        )
    }

    /// A frame that answers a message for good: its run's answer, or a
    /// refusal.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::AgentCompleted | Self::Error)
    }
}

named_enum! {
    /// The `type` of a frame the protocol lets a client send.
    pub enum ClientType as "client message type" {
        UserMessage = "user_message",
        Ping = "ping",
    }
}

/// The `type` a user read in a server frame. A backend under `--target`
/// may send anything, so a string the protocol does not have is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ReadType {
    Server(ServerType),
    /// A string `type` the protocol does not have.
    Unknown(String),
    /// A JSON object without a string `type` (`<untyped>`).
    #[default]
    Untyped,
    /// Not a JSON object at all (`<unparseable>`).
    Unparseable,
}

impl ReadType {
    /// The type named by a frame's `type` string.
    pub fn named(text: &str) -> Self {
        text.parse()
            .map_or_else(|_| Self::Unknown(text.to_string()), Self::Server)
    }

    /// What the trace wrote (`Display`) read back, `<untyped>` and
    /// `<unparseable>` included: for files that store a read type by name.
    pub fn from_trace(text: &str) -> Self {
        match text {
            "<untyped>" => Self::Untyped,
            "<unparseable>" => Self::Unparseable,
            _ => Self::named(text),
        }
    }

    /// The protocol's type, when it is one.
    pub fn server(&self) -> Option<ServerType> {
        match self {
            Self::Server(t) => Some(*t),
            _ => None,
        }
    }

    /// Whether this is `t`.
    pub fn is(&self, t: ServerType) -> bool {
        self.server() == Some(t)
    }

    /// The wire name, or `<untyped>` / `<unparseable>`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Server(t) => t.as_str(),
            Self::Unknown(s) => s,
            Self::Untyped => "<untyped>",
            Self::Unparseable => "<unparseable>",
        }
    }
}

impl From<ServerType> for ReadType {
    fn from(t: ServerType) -> Self {
        Self::Server(t)
    }
}

impl fmt::Display for ReadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a user sent: a protocol frame, a JSON frame of a type the protocol
/// does not have (the gateway owes it `unknown_message_type`), or one of
/// the invalid frames of a misbehaving user (docs/scenario-format.md,
/// `misbehave`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SentKind {
    Client(ClientType),
    UnknownType(String),
    BadJson,
    WrongShape,
    Oversized,
}

impl SentKind {
    /// The kind named `text` in a trace: the inverse of `as_str`.
    pub fn named(text: &str) -> Self {
        match text {
            "bad_json" => Self::BadJson,
            "wrong_shape" => Self::WrongShape,
            "oversized" => Self::Oversized,
            _ => text
                .parse()
                .map_or_else(|_| Self::UnknownType(text.to_string()), Self::Client),
        }
    }

    /// Whether this is `t`.
    pub fn is(&self, t: ClientType) -> bool {
        *self == Self::Client(t)
    }

    /// The wire `type`, or the misbehaviour's name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Client(t) => t.as_str(),
            Self::UnknownType(s) => s,
            Self::BadJson => "bad_json",
            Self::WrongShape => "wrong_shape",
            Self::Oversized => "oversized",
        }
    }
}

impl From<ClientType> for SentKind {
    fn from(t: ClientType) -> Self {
        Self::Client(t)
    }
}

impl fmt::Display for SentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_back_to_the_same_kind() {
        for t in ServerType::ALL {
            assert_eq!(ReadType::named(t.as_str()), ReadType::Server(*t));
        }
        assert_eq!(
            ReadType::named("typing"),
            ReadType::Unknown("typing".into())
        );
        for k in [
            SentKind::Client(ClientType::UserMessage),
            SentKind::Client(ClientType::Ping),
            SentKind::UnknownType("typing_indicator".into()),
            SentKind::BadJson,
            SentKind::WrongShape,
            SentKind::Oversized,
        ] {
            assert_eq!(SentKind::named(k.as_str()), k);
        }
    }
}
