//! Positions in the scenario file: key paths <-> byte spans.
//!
//! Part of scenario file -> validated `Scenario`. Errors come from two places
//! that know different things: serde knows a byte span but not which key it
//! was reading, and validation knows a key path but not where it is in the
//! file. Both are answered from the parsed document (`DeTable`), which keeps
//! the span of every key and value.

use std::fmt;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One step of a path into the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the root of the document, e.g. `faults[1].between[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(super) struct KeyPath(pub Vec<Seg>);

/// Which part of a `key = value` pair an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Key,
    Value,
}

impl KeyPath {
    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Seg::Key(key.to_owned()));
        self
    }

    pub fn index(mut self, index: usize) -> Self {
        self.0.push(Seg::Index(index));
        self
    }

    /// The path without its last step.
    pub fn parent(&self) -> KeyPath {
        KeyPath(self.0[..self.0.len().saturating_sub(1)].to_vec())
    }

    /// The last key of the path (`between` for `faults[1].between[0]`).
    pub fn last_key(&self) -> Option<&str> {
        self.0.iter().rev().find_map(|seg| match seg {
            Seg::Key(key) => Some(key.as_str()),
            Seg::Index(_) => None,
        })
    }

    /// How a person names the table this path leads to: `[gateway]`,
    /// `[[users]]`, or "the top level".
    pub fn table_name(&self) -> String {
        match self.0.last() {
            None => "the top level of the file".to_owned(),
            Some(Seg::Index(_)) => format!("[[{}]]", self.parent()),
            Some(Seg::Key(_)) => format!("[{self}]"),
        }
    }
}

/// Dotted keys without indices (`users.reconnect.backoff`): the snippet shows
/// which array element, and 0-based indices would only confuse.
impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let keys: Vec<&str> = self
            .0
            .iter()
            .filter_map(|seg| match seg {
                Seg::Key(key) => Some(key.as_str()),
                Seg::Index(_) => None,
            })
            .collect();
        f.write_str(&keys.join("."))
    }
}

/// What an error span covers in the document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Hit {
    pub path: KeyPath,
    pub part: Part,
    /// The TOML type of the value (`"datetime"`, `"table"` ...), for a value hit.
    pub value_type: Option<&'static str>,
}

/// Finds what `span` covers: a key (an unknown key), else the deepest value
/// (a bad value, or the table that misses a key). Deepest, because an array of
/// tables and its first element share the `[[users]]` header's span.
pub(super) fn find(doc: &Spanned<DeTable<'_>>, span: &Range<usize>) -> Option<Hit> {
    let mut best: Option<Hit> = None;
    visit_table(
        doc.get_ref(),
        &KeyPath::default(),
        &mut |path, key, value| {
            if key.is_some_and(|key| key == *span) {
                best = Some(Hit {
                    path: path.clone(),
                    part: Part::Key,
                    value_type: None,
                });
            } else if value.span() == *span
                && best.as_ref().is_none_or(|hit| hit.part == Part::Value)
            {
                // Visits are depth-first and parents come first, so later is deeper.
                best = Some(Hit {
                    path: path.clone(),
                    part: Part::Value,
                    value_type: Some(value.get_ref().type_str()),
                });
            }
        },
    );
    best
}

/// The span of `part` at `path`, or of the deepest table on the way that
/// exists (the error is then about a key missing from that table).
pub(super) fn span_of(doc: &Spanned<DeTable<'_>>, path: &KeyPath, part: Part) -> Range<usize> {
    let mut found = doc.span();
    let mut table = Some(doc.get_ref());
    let mut array: Option<&[Spanned<DeValue<'_>>]> = None;
    for (depth, seg) in path.0.iter().enumerate() {
        let (key_span, value) = match (seg, table, array) {
            (Seg::Key(key), Some(t), _) => match t.iter().find(|(k, _)| k.get_ref() == key) {
                Some((k, v)) => (Some(k.span()), v),
                None => return found,
            },
            (Seg::Index(i), _, Some(items)) => match items.get(*i) {
                Some(v) => (None, v),
                None => return found,
            },
            _ => return found,
        };
        let last = depth + 1 == path.0.len();
        found = match (part, key_span) {
            (Part::Key, Some(key_span)) if last => key_span,
            _ => value.span(),
        };
        table = value.get_ref().as_table();
        array = value.get_ref().as_array().map(|items| &items[..]);
    }
    found
}

/// Called with (path, key span, value) for every entry of the document; the
/// key span is `None` for array elements.
type Visit<'v> = dyn FnMut(&KeyPath, Option<Range<usize>>, &Spanned<DeValue<'_>>) + 'v;

/// Calls `visit` for every entry, parents first.
fn visit_table(table: &DeTable<'_>, path: &KeyPath, visit: &mut Visit<'_>) {
    for (key, value) in table.iter() {
        let path = path.clone().key(key.get_ref());
        visit(&path, Some(key.span()), value);
        visit_value(value.get_ref(), &path, visit);
    }
}

fn visit_value(value: &DeValue<'_>, path: &KeyPath, visit: &mut Visit<'_>) {
    match value {
        DeValue::Table(table) => visit_table(table, path, visit),
        DeValue::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let path = path.clone().index(i);
                visit(&path, None, item);
                visit_value(item.get_ref(), &path, visit);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = 'x'\n[gateway]\nauth_retries = 3\n[[users]]\ncount = 2\n[[users]]\nsend_token_via = ['header', 'x']\n";

    fn text_at(span: Range<usize>) -> &'static str {
        &TEXT[span]
    }

    #[test]
    fn finds_keys_values_and_array_elements() {
        let doc = DeTable::parse(TEXT).unwrap();
        let hit = find(&doc, &(21..33)).unwrap();
        assert_eq!(
            (hit.path.to_string(), hit.part),
            ("gateway.auth_retries".into(), Part::Key)
        );
        // The first `[[users]]` header is both the array's and its element's span.
        let hit = find(&doc, &(38..47)).unwrap();
        assert_eq!(hit.path, KeyPath::default().key("users").index(0));
        assert_eq!((hit.part, hit.value_type), (Part::Value, Some("table")));
        assert_eq!(hit.path.table_name(), "[[users]]");
        assert_eq!(find(&doc, &(0..0)), None);
    }

    #[test]
    fn spans_of_paths_fall_back_to_the_nearest_table() {
        let doc = DeTable::parse(TEXT).unwrap();
        let users = KeyPath::default().key("users");
        let via = users.clone().index(1).key("send_token_via");
        assert_eq!(
            text_at(span_of(&doc, &via.clone().index(1), Part::Value)),
            "'x'"
        );
        assert_eq!(text_at(span_of(&doc, &via, Part::Key)), "send_token_via");
        let missing = users.clone().index(0).key("token");
        assert_eq!(text_at(span_of(&doc, &missing, Part::Value)), "[[users]]");
        let gateway = KeyPath::default().key("gateway").key("max_connections");
        assert_eq!(text_at(span_of(&doc, &gateway, Part::Key)), "[gateway]");
    }
}
