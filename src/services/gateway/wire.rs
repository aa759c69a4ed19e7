//! The gateway's wire format: client frames in, JSON events out
//! (docs/design.md, "What the client sees").

use serde_json::{Map, Value, json};

use crate::services::pipeline::{AgentEvent, ToolStats};
use crate::vocab::{ClientType, ServerType};

/// A client text frame, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientFrame {
    UserMessage {
        message_id: String,
        agent: String,
        text: String,
    },
    Ping,
    /// Valid JSON with a `type` this gateway does not map.
    Unknown {
        kind: String,
    },
}

/// Why a text frame is not a valid message (closes with 1007).
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub String);

pub fn parse(text: &str) -> Result<ClientFrame, Invalid> {
    let value: Value = serde_json::from_str(text).map_err(|e| Invalid(format!("not JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| Invalid("not a JSON object".into()))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| Invalid("no string `type`".into()))?;
    let field = |k: &str| {
        obj.get(k)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| Invalid(format!("user_message without string `{k}`")))
    };
    match kind.parse() {
        Ok(ClientType::UserMessage) => Ok(ClientFrame::UserMessage {
            message_id: field("message_id")?,
            agent: field("agent")?,
            text: field("text")?,
        }),
        Ok(ClientType::Ping) => Ok(ClientFrame::Ping),
        Err(_) => Ok(ClientFrame::Unknown {
            kind: kind.to_string(),
        }),
    }
}

/// An outgoing event before the connection stamps it.
#[derive(Debug, Clone, PartialEq)]
pub enum ServerEvent {
    ConnectionEstablished {
        connection_id: String,
    },
    Pong,
    Error {
        code: &'static str,
        detail: String,
        message_id: Option<String>,
    },
    Agent(AgentEvent),
}

/// The JSON text of `event` as `user_id` sees it, with sequence number `seq`.
pub fn render(event: &ServerEvent, user_id: &str, seq: u64) -> Result<String, serde_json::Error> {
    let mut obj = Map::new();
    let kind = match event {
        ServerEvent::ConnectionEstablished { connection_id } => {
            obj.insert("connection_id".into(), json!(connection_id));
            ServerType::ConnectionEstablished
        }
        ServerEvent::Pong => ServerType::Pong,
        ServerEvent::Error {
            code,
            detail,
            message_id,
        } => {
            obj.insert("code".into(), json!(code));
            obj.insert("detail".into(), json!(detail));
            if let Some(m) = message_id {
                obj.insert("message_id".into(), json!(m));
            }
            ServerType::Error
        }
        ServerEvent::Agent(ev) => {
            obj.insert("run_id".into(), json!(ev.run_id));
            obj.insert("message_id".into(), json!(ev.message_id));
            obj.insert("agent".into(), json!(ev.agent));
            if let Some(t) = ev.tool {
                obj.insert("tool".into(), json!(t));
            }
            if let Some(c) = ev.code {
                obj.insert("code".into(), json!(c));
            }
            if let Some(t) = &ev.text {
                obj.insert("text".into(), json!(t));
            }
            match &ev.stats {
                None => {}
                Some(ToolStats::ByName(rows)) => {
                    obj.insert("rows".into(), serde_json::to_value(rows)?);
                }
                // Fails: a tuple is not a valid JSON object key.
                Some(ToolStats::ByPair(rows)) => {
                    obj.insert("rows".into(), serde_json::to_value(rows)?);
                }
            }
            ev.kind
        }
    };
    obj.insert("type".into(), json!(kind.as_str()));
    obj.insert("user_id".into(), json!(user_id));
    obj.insert("seq".into(), json!(seq));
    serde_json::to_string(&Value::Object(obj))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_shapes_and_rejects_the_rest() {
        let m = parse(r#"{"type":"user_message","message_id":"m1","agent":"triage","text":"hi"}"#);
        assert!(matches!(m, Ok(ClientFrame::UserMessage { .. })));
        assert_eq!(parse(r#"{"type":"ping"}"#), Ok(ClientFrame::Ping));
        assert_eq!(
            parse(r#"{"type":"subscribe"}"#),
            Ok(ClientFrame::Unknown {
                kind: "subscribe".into()
            })
        );
        assert!(parse("{not json").is_err());
        assert!(parse(r#"{"type":"user_message"}"#).is_err());
        assert!(parse("[1,2]").is_err());
    }
}
