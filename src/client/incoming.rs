//! A server frame as a user reads it: leniently, field by field.
//!
//! `text frame -> parse -> trace::Incoming` (recorded by the session), its
//! strings shared with the user's recent frames through [`Recent`]. A
//! user records whatever it got, so nothing here rejects a frame that is a
//! JSON object: a field of the wrong type reads as absent, a repeated key
//! keeps its last value, unknown keys are skipped. Anything else (invalid
//! JSON, an array, a string) is `<unparseable>`.
//!
//! This is what reading the frame into a `serde_json::Value` and looking
//! the fields up gives (the test below holds the two side by side), without
//! building the tree: every event of every run passes through here.

use std::collections::VecDeque;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::trace::{Incoming, Shared};
use crate::vocab::ReadType;

/// The strings of a user's recent frames, shared by the frames that repeat
/// them (the user, run, message, agent). A few suffice: a run's events come
/// together, and a miss only costs a copy.
#[derive(Debug, Default)]
pub struct Recent(VecDeque<Shared>);

impl Recent {
    const KEEP: usize = 8;

    /// `text`, shared with an equal recent string if there is one.
    pub fn intern(&mut self, text: &str) -> Shared {
        if let Some(known) = self.0.iter().find(|r| &***r == text) {
            return known.clone();
        }
        let new = Shared::from(text);
        if self.0.len() == Self::KEEP {
            self.0.pop_front();
        }
        self.0.push_back(new.clone());
        new
    }
}

/// Parse a server frame leniently, sharing its strings through `recent`.
pub fn parse(text: &str, recent: &mut Recent) -> Incoming {
    let mut de = serde_json::Deserializer::from_str(text);
    let fields = de
        .deserialize_any(FrameVisitor(recent))
        .and_then(|f| de.end().map(|()| f));
    let Ok(IncomingFields { kind, rest }) = fields else {
        return Incoming {
            kind: ReadType::Unparseable,
            ..Incoming::default()
        };
    };
    Incoming {
        kind: kind.map_or(ReadType::Untyped, |k| ReadType::named(&k)),
        ..rest
    }
}

/// The fields of the frame's top-level object; `kind` is `type`.
struct FrameVisitor<'r>(&'r mut Recent);

impl<'de> Visitor<'de> for FrameVisitor<'_> {
    type Value = IncomingFields;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut f = Incoming::default();
        let mut kind = None;
        while let Some(key) = map.next_key::<Key>()? {
            match key {
                Key::Type => kind = map.next_value::<Loose<String>>()?.0,
                Key::UserId => f.user_id = map.next_value_seed(Interned(self.0))?,
                Key::Seq => f.seq = map.next_value::<Loose<u64>>()?.0,
                Key::RunId => f.run_id = map.next_value_seed(Interned(self.0))?,
                Key::MessageId => f.message_id = map.next_value_seed(Interned(self.0))?,
                Key::Agent => f.agent = map.next_value_seed(Interned(self.0))?,
                Key::Tool => f.tool = map.next_value_seed(Interned(self.0))?,
                Key::Code => f.code = map.next_value_seed(Interned(self.0))?,
                Key::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(IncomingFields { kind, rest: f })
    }
}

/// What [`FrameVisitor`] read: `type` kept apart, since a frame without
/// one is `<untyped>`.
struct IncomingFields {
    kind: Option<String>,
    rest: Incoming,
}

/// The keys a user looks at; every other key is skipped.
enum Key {
    Type,
    UserId,
    Seq,
    RunId,
    MessageId,
    Agent,
    Tool,
    Code,
    Other,
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
        Ok(match key {
            "type" => Key::Type,
            "user_id" => Key::UserId,
            "seq" => Key::Seq,
            "run_id" => Key::RunId,
            "message_id" => Key::MessageId,
            "agent" => Key::Agent,
            "tool" => Key::Tool,
            "code" => Key::Code,
            _ => Key::Other,
        })
    }
}

/// A string field read loosely ([`Loose`]), shared through [`Recent`].
struct Interned<'r>(&'r mut Recent);

impl<'de> DeserializeSeed<'de> for Interned<'_> {
    type Value = Option<Shared>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let Loose(text) = d.deserialize_any(LooseVisitor::<Text<'de>>(std::marker::PhantomData))?;
        Ok(text.map(|t| self.0.intern(t.as_str())))
    }
}

/// A string as the deserializer lends it: borrowed from the frame when it
/// has no escapes, copied when it has.
enum Text<'de> {
    Borrowed(&'de str),
    Owned(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
        }
    }
}

/// A value that reads as `Some` when it has the type `T` (a string, or a
/// non-negative integer), and as `None` when it is anything else.
struct Loose<T>(Option<T>);

impl<'de, T: LooseTarget<'de>> de::Deserialize<'de> for Loose<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LooseVisitor(std::marker::PhantomData))
    }
}

/// The types a field is read as.
trait LooseTarget<'de>: Sized {
    fn from_str(_: &str) -> Option<Self> {
        None
    }
    fn from_borrowed(v: &'de str) -> Option<Self> {
        Self::from_str(v)
    }
    fn from_u64(_: u64) -> Option<Self> {
        None
    }
}

impl LooseTarget<'_> for String {
    fn from_str(v: &str) -> Option<Self> {
        Some(v.to_string())
    }
}

impl LooseTarget<'_> for u64 {
    fn from_u64(v: u64) -> Option<Self> {
        Some(v)
    }
}

struct LooseVisitor<T>(std::marker::PhantomData<T>);

impl<'de> LooseTarget<'de> for Text<'de> {
    fn from_str(v: &str) -> Option<Self> {
        Some(Text::Owned(v.to_string()))
    }
    fn from_borrowed(v: &'de str) -> Option<Self> {
        Some(Text::Borrowed(v))
    }
}

impl<'de, T: LooseTarget<'de>> Visitor<'de> for LooseVisitor<T> {
    type Value = Loose<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Loose(T::from_str(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Loose(T::from_borrowed(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Loose(T::from_u64(v)))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Loose(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Loose(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// The reference: the whole frame as a `Value`, fields looked up.
    fn via_value(text: &str) -> Incoming {
        let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(text) else {
            return Incoming {
                kind: ReadType::Unparseable,
                ..Incoming::default()
            };
        };
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(Shared::from);
        Incoming {
            kind: s("type").map_or(ReadType::Untyped, |k: Shared| ReadType::named(&k)),
            user_id: s("user_id"),
            seq: obj.get("seq").and_then(Value::as_u64),
            run_id: s("run_id"),
            message_id: s("message_id"),
            agent: s("agent"),
            tool: s("tool"),
            code: s("code"),
        }
    }

    #[test]
    fn a_string_seen_lately_is_shared_not_copied() {
        let mut recent = Recent::default();
        let started = parse(
            r#"{"type":"agent_started","user_id":"u1","run_id":"g1.1.r1","agent":"triage"}"#,
            &mut recent,
        );
        let done = parse(
            r#"{"type":"agent_completed","user_id":"u1","run_id":"g1.1.r1","agent":"tri\u0061ge"}"#,
            &mut recent,
        );
        let shared = |a: &Option<Shared>, b: &Option<Shared>| {
            Shared::ptr_eq(a.as_ref().expect("a"), b.as_ref().expect("b"))
        };
        assert!(shared(&started.user_id, &done.user_id));
        assert!(shared(&started.run_id, &done.run_id));
        // An escaped string is read into a copy, then shared all the same.
        assert!(shared(&started.agent, &done.agent));
        // Only the last few are kept: after eight others, a copy again.
        for n in 0..Recent::KEEP {
            recent.intern(&format!("other-{n}"));
        }
        let later = parse(r#"{"type":"pong","user_id":"u1"}"#, &mut recent);
        assert!(!shared(&started.user_id, &later.user_id));
        assert_eq!(started.user_id, later.user_id);
    }

    #[test]
    fn reads_every_frame_as_a_value_lookup_does() {
        let frames = [
            r#"{"type":"agent_started","user_id":"u1","seq":2,"run_id":"g1.1.r1","message_id":"m1","agent":"triage"}"#,
            r#"{"type":"tool_executing","tool":"fetch_schema","seq":5,"rows":{"a":1,"b":[1,2,{"c":null}]}}"#,
            r#"{"type":"error","code":"overloaded","detail":"pool","message_id":null}"#,
            r#"{"type":"pong"}"#,
            r#"{"seq":3}"#,
            r#"{"type":7,"seq":"3","agent":true,"tool":[],"code":{},"run_id":1.5}"#,
            r#"{"seq":-1}"#,
            r#"{"seq":1.0}"#,
            r#"{"seq":18446744073709551615}"#,
            r#"{"seq":18446744073709551616}"#,
            r#"{"type":"a","type":"b"}"#,
            r#"{"type":"a","type":1}"#,
            r#"{"type":"caf\u00e9 \"x\"","user_id":"\ud83d\ude00"}"#,
            r#"{"t\u0079pe":"escaped_key"}"#,
            r#"  {"type":"spaced"}  "#,
            r#"{"type":"x"} trailing"#,
            r#"{"type":"x""#,
            r#"[{"type":"x"}]"#,
            r#""type""#,
            "null",
            "",
            "{}",
        ];
        let mut recent = Recent::default();
        for frame in frames {
            assert_eq!(
                parse(frame, &mut recent),
                via_value(frame),
                "frame: {frame}"
            );
        }
    }
}
