//! Turns TOML and serde errors into sentences about the scenario file.
//!
//! Part of scenario file -> validated `Scenario`. serde's messages are written
//! for Rust types ("invalid type: string \"3\", expected u32"); this module
//! finds which key the error is about (via `locate`) and says it in the
//! file's own words ("invalid value for `gateway.auth_retries`: expected a
//! whole number ..."). A message it does not recognise is passed on as is.

use std::path::Path;

use toml::Spanned;
use toml::de::DeTable;

use super::error::ScenarioError;
use super::locate::{self, Hit, KeyPath, Part};
use crate::vocab::quoted_list;

/// A TOML syntax error (the file is not TOML at all).
pub(super) fn syntax(path: &Path, text: &str, error: &toml::de::Error) -> ScenarioError {
    let span = error.span().unwrap_or(0..0);
    let raw = error.message();
    let message = if raw.starts_with("duplicate key") {
        let key = text.get(span.clone()).unwrap_or("").trim();
        format!(
            "TOML syntax error: the key `{key}` is defined twice; expected each key once per table"
        )
    } else {
        format!("TOML syntax error: {raw}")
    };
    ScenarioError::at(path, text, span, message)
}

/// An error from deserialising the parsed document into a `Scenario`.
pub(super) fn deserialize(
    path: &Path,
    text: &str,
    doc: &Spanned<DeTable<'_>>,
    error: &toml::de::Error,
    stem: &str,
) -> ScenarioError {
    let span = error.span().unwrap_or(0..0);
    let raw = error.message();
    let hit = locate::find(doc, &span).unwrap_or(Hit {
        path: KeyPath::default(),
        part: Part::Value,
        value_type: None,
    });
    let (message, label) = if hit.part == Part::Key {
        unknown_key(&hit.path, raw)
    } else if let Some(key) = between(raw, "missing field `", "`") {
        missing_key(&hit.path, key, stem)
    } else {
        bad_value(&hit, raw)
    };
    ScenarioError::at(path, text, span, message).with_label(label)
}

/// "unknown field `x`, expected one of `a`, `b`" at a key.
fn unknown_key(key_path: &KeyPath, raw: &str) -> (String, String) {
    if !raw.starts_with("unknown field") {
        return (format!("invalid key `{key_path}`: {raw}"), String::new());
    }
    let key = key_path.last_key().unwrap_or("?");
    let allowed: Vec<&str> = raw
        .split_once(", expected ")
        .map(|(_, list)| backticked(list))
        .unwrap_or_default();
    let parent = key_path.parent();
    let what = match parent.to_string().as_str() {
        "" => format!("unknown top-level key `{key}`"),
        "bugs" => format!("unknown bug `{key}` under [bugs]"),
        _ => format!("unknown key `{key}` in {}", parent.table_name()),
    };
    let expected = match allowed.as_slice() {
        [] => "this table takes no keys".to_owned(),
        [only] => format!("expected `{only}`"),
        many => format!("expected one of {}", quoted_list(many)),
    };
    let label = match closest(key, &allowed) {
        Some(guess) => format!("did you mean `{guess}`?"),
        None => "unknown key".to_owned(),
    };
    (format!("{what}; {expected}"), label)
}

/// "missing field `x`" at the table that lacks it.
fn missing_key(table: &KeyPath, key: &str, stem: &str) -> (String, String) {
    if table.0.is_empty() && key == "name" {
        return (
            format!(
                "the scenario has no `name`; expected `name = \"{stem}\"` at the top of the file, matching the file name"
            ),
            format!("add `name = \"{stem}\"`"),
        );
    }
    let message = if table.0.is_empty() {
        format!("the file is missing the required top-level key `{key}`")
    } else {
        format!(
            "this {} table is missing the required key `{key}`",
            table.table_name()
        )
    };
    (message, format!("`{key}` missing here"))
}

/// A value of the wrong type, or one a custom reader rejected.
fn bad_value(hit: &Hit, raw: &str) -> (String, String) {
    let key_path = &hit.path;
    let rewritten = type_mismatch(raw).map(|(expected, mut found)| {
        // serde sees a TOML date-time as a table; the file shows a date.
        if hit.value_type == Some("datetime") {
            found = "a date-time".to_owned();
        }
        let mut sentence = format!("expected {expected}, found {found}");
        if expected == "an array" && found == "a table" {
            sentence.push_str(&format!(
                "; write [[{key_path}]] with double brackets for a list of tables"
            ));
        }
        (sentence, format!("expected {expected}"))
    });
    let (detail, label) = rewritten.unwrap_or_else(|| (raw.to_owned(), String::new()));
    let message = if key_path.0.is_empty() {
        detail
    } else {
        format!("invalid value for `{key_path}`: {detail}")
    };
    (message, label)
}

/// Splits serde's "invalid type/value: X, expected Y" and "invalid length N,
/// expected Y" into (expected, found), in plain words.
fn type_mismatch(raw: &str) -> Option<(String, String)> {
    let (found, expected) = if let Some(rest) = raw
        .strip_prefix("invalid type: ")
        .or_else(|| raw.strip_prefix("invalid value: "))
    {
        rest.split_once(", expected ")?
    } else {
        let (count, expected) = raw
            .strip_prefix("invalid length ")?
            .split_once(", expected ")?;
        let noun = if count == "1" { "element" } else { "elements" };
        return Some((plain_expected(expected), format!("{count} {noun}")));
    };
    let found = match found {
        "map" => "a table".to_owned(),
        "sequence" => "an array".to_owned(),
        // serde spells out the type it used to hold a huge integer.
        other => other.trim_end_matches(" as i128").to_owned(),
    };
    Some((plain_expected(expected), found))
}

/// serde's name for what it wanted, in the words of a TOML file.
fn plain_expected(expected: &str) -> String {
    match expected {
        "u32" => "a whole number from 0 to 4294967295".to_owned(),
        "a boolean" => "true or false".to_owned(),
        "a sequence" => "an array".to_owned(),
        "an array of length 2" => "an array of two elements".to_owned(),
        other if other.starts_with("struct ") => "a table".to_owned(),
        other => other.to_owned(),
    }
}

/// The text between `open` and the next `close`.
fn between<'a>(text: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let rest = text.split_once(open)?.1;
    Some(rest.split_once(close)?.0)
}

/// Every `` `word` `` in `text`, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// The allowed key a misspelt `key` most likely meant: one containing it or
/// contained in it (`retries` -> `auth_retries`), else one at most two edits away.
fn closest<'a>(key: &str, allowed: &[&'a str]) -> Option<&'a str> {
    let contains = allowed
        .iter()
        .find(|name| key.len() >= 3 && (name.contains(key) || key.contains(**name)));
    contains
        .or_else(|| allowed.iter().find(|name| edit_distance(key, name) <= 2))
        .copied()
}

/// Levenshtein distance over characters; keys are short, so O(n*m) is fine.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses_the_key_that_was_meant() {
        let allowed = ["startup", "auth_retries", "max_connections"];
        assert_eq!(closest("retries", &allowed), Some("auth_retries"));
        assert_eq!(closest("statrup", &allowed), Some("startup"));
        assert_eq!(closest("colour", &allowed), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn rewrites_serde_type_errors() {
        assert_eq!(
            type_mismatch("invalid type: string \"3\", expected u32"),
            Some((
                "a whole number from 0 to 4294967295".into(),
                "string \"3\"".into()
            ))
        );
        assert_eq!(
            type_mismatch("invalid length 1, expected an array of length 2"),
            Some(("an array of two elements".into(), "1 element".into()))
        );
        assert_eq!(type_mismatch("something else"), None);
    }
}
