//! The gateway's wire format: client frames in, JSON events out
//! (docs/design.md, "What the client sees").

use serde::Serialize;
use serde_json::Value;

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
///
/// Written straight from a borrowed [`Frame`], keys in the order a
/// `serde_json::Value` object sorts them (the order these frames have
/// always had on the wire; the test below holds the two side by side):
/// building a `Value` first cost more than the rest of sending an event.
pub fn render(event: &ServerEvent, user_id: &str, seq: u64) -> Result<String, serde_json::Error> {
    let mut frame = Frame {
        user_id,
        seq,
        ..Frame::default()
    };
    frame.kind = match event {
        ServerEvent::ConnectionEstablished { connection_id } => {
            frame.connection_id = Some(connection_id);
            ServerType::ConnectionEstablished.as_str()
        }
        ServerEvent::Pong => ServerType::Pong.as_str(),
        ServerEvent::Error {
            code,
            detail,
            message_id,
        } => {
            frame.code = Some(code);
            frame.detail = Some(detail);
            frame.message_id = message_id.as_deref();
            ServerType::Error.as_str()
        }
        ServerEvent::Agent(ev) => {
            frame.run_id = Some(&ev.run_id);
            frame.message_id = Some(&ev.message_id);
            frame.agent = Some(ev.agent);
            frame.tool = ev.tool;
            frame.code = ev.code;
            frame.text = ev.text.as_deref();
            frame.rows = ev.stats.as_ref().map(Rows);
            ev.kind.as_str()
        }
    };
    serde_json::to_string(&frame)
}

/// An outgoing frame's fields, in sorted key order; absent ones are left
/// out.
#[derive(Default, Serialize)]
struct Frame<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    connection_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rows: Option<Rows<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run_id: Option<&'a str>,
    seq: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool: Option<&'a str>,
    #[serde(rename = "type")]
    kind: &'a str,
    user_id: &'a str,
}

/// A tool's statistics as the `rows` object.
struct Rows<'a>(&'a ToolStats);

impl Serialize for Rows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            ToolStats::ByName(rows) => rows.serialize(s),
            // Fails: a tuple is not a valid JSON object key.
            ToolStats::ByPair(rows) => rows.serialize(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::{Map, json};

    use super::*;

    /// The reference: the frame built as a `Value` object, as the gateway
    /// rendered it before `render` wrote it directly.
    fn via_value(
        event: &ServerEvent,
        user_id: &str,
        seq: u64,
    ) -> Result<String, serde_json::Error> {
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

    fn agent_event(kind: ServerType, stats: Option<ToolStats>) -> AgentEvent {
        AgentEvent {
            kind,
            run_id: "g1.2.r3".into(),
            message_id: "user-0001-m\"1\"".into(),
            agent: "data_helper",
            tool: Some("fetch_schema"),
            code: Some("tool_failed"),
            text: Some("caf\u{e9}\n\u{1}".into()),
            stats,
        }
    }

    #[test]
    fn renders_every_event_as_a_value_object_does() {
        let by_name = BTreeMap::from([("b".to_string(), 2), ("a".to_string(), 1)]);
        let events = [
            ServerEvent::ConnectionEstablished {
                connection_id: "g1.1".into(),
            },
            ServerEvent::Pong,
            ServerEvent::Error {
                code: "overloaded",
                detail: "3 runs in flight".into(),
                message_id: Some("m1".into()),
            },
            ServerEvent::Error {
                code: "unknown_message_type",
                detail: "subscribe".into(),
                message_id: None,
            },
            ServerEvent::Agent(agent_event(ServerType::AgentStarted, None)),
            ServerEvent::Agent(AgentEvent {
                tool: None,
                code: None,
                text: None,
                ..agent_event(ServerType::AgentThinking, None)
            }),
            ServerEvent::Agent(agent_event(
                ServerType::ToolCompleted,
                Some(ToolStats::ByName(by_name)),
            )),
        ];
        for event in &events {
            for (user, seq) in [("user-0001", 1), ("-", u64::MAX), ("\"q\"", 0)] {
                assert_eq!(
                    render(event, user, seq).expect("renders"),
                    via_value(event, user, seq).expect("renders"),
                    "{event:?}"
                );
            }
        }
        // The defect's statistics (tuple keys) fail both ways, alike.
        let by_pair = ServerEvent::Agent(agent_event(
            ServerType::ToolCompleted,
            Some(ToolStats::ByPair(BTreeMap::from([((1, 2), 3)]))),
        ));
        let new = render(&by_pair, "u", 1).expect_err("a tuple key");
        let old = via_value(&by_pair, "u", 1).expect_err("a tuple key");
        assert_eq!(new.to_string(), old.to_string());
    }

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
