//! The document's shape, checked before serde reads it.
//!
//! Part of scenario file -> validated `Scenario`, between TOML parsing and
//! deserialisation: serde's derived structs also accept a sequence in
//! place of a table (`gateway = ["5s", 0, "1s", "30s", 1000]` would fill
//! the fields in order, silently), and a fixed-size array ignores extra
//! elements (`between = ["gateway", "auth", "lb"]`). Both are typos that
//! must be errors, located at the value.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// Keys whose value must be a table, as `[name]` or `name = { ... }`.
const TABLES: [&str; 8] = [
    "world",
    "network",
    "load_balancer",
    "auth",
    "gateway",
    "agents",
    "bugs",
    "expect",
];
/// Keys whose value must be an array of tables, as `[[name]]`.
const TABLE_ARRAYS: [&str; 2] = ["users", "faults"];

/// A shape error: the span of the offending value, the sentence, the label.
pub(super) type ShapeError = (Range<usize>, String, &'static str);

pub(super) fn check(doc: &Spanned<DeTable<'_>>) -> Result<(), ShapeError> {
    for (key, value) in doc.get_ref().iter() {
        let key = key.get_ref().as_ref();
        if TABLES.contains(&key) {
            expect_table(value, &format!("[{key}]"), key)?;
        } else if TABLE_ARRAYS.contains(&key) {
            let items = expect_array(value, &format!("[[{key}]]"), key)?;
            for item in items {
                let table = expect_table(item, &format!("[[{key}]]"), key)?;
                check_entry(key, table)?;
            }
        }
    }
    Ok(())
}

/// Inside one `[[users]]` or `[[faults]]` entry.
fn check_entry(array: &str, table: &DeTable<'_>) -> Result<(), ShapeError> {
    for (key, value) in table.iter() {
        match (array, key.get_ref().as_ref()) {
            ("users", "reconnect") => {
                expect_table(
                    value,
                    "reconnect = { attempts = 6, backoff = \"500ms\" }",
                    "users.reconnect",
                )?;
            }
            ("faults", "between") => {
                let hosts = expect_array(value, "between = [\"gateway\", \"auth\"]", "between")?;
                if hosts.len() != 2 {
                    let n = hosts.len();
                    let elements = if n == 1 { "element" } else { "elements" };
                    let message = format!(
                        "invalid value for `faults.between`: expected an array of two elements (two different hosts, like [\"gateway\", \"auth\"]), found {n} {elements}"
                    );
                    return Err((value.span(), message, "expected two hosts"));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn expect_table<'a>(
    value: &'a Spanned<DeValue<'a>>,
    example: &str,
    name: &str,
) -> Result<&'a DeTable<'a>, ShapeError> {
    value.get_ref().as_table().ok_or_else(|| {
        let found = with_article(value.get_ref().type_str());
        let message = format!("`{name}` is {found}; expected a table, written like `{example}`");
        (value.span(), message, "expected a table")
    })
}

fn expect_array<'a>(
    value: &'a Spanned<DeValue<'a>>,
    example: &str,
    name: &str,
) -> Result<&'a [Spanned<DeValue<'a>>], ShapeError> {
    value.get_ref().as_array().map(|a| &a[..]).ok_or_else(|| {
        let found = with_article(value.get_ref().type_str());
        let message =
            format!("`{name}` is {found}; expected an array of tables, written like `{example}`");
        (value.span(), message, "expected an array")
    })
}

/// `an array`, `a table`, `an integer`, ...
fn with_article(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Result<(), String> {
        let doc = DeTable::parse(text).expect("valid TOML");
        check(&doc).map_err(|(span, message, _)| format!("{}: {message}", &text[span]))
    }

    #[test]
    fn tables_written_as_arrays_are_refused() {
        let e = check_text("name = \"x\"\ngateway = [\"5s\", 0]\n").unwrap_err();
        assert!(e.contains("`gateway` is an array; expected a table"), "{e}");
        let e = check_text("users = [[3, \"expired\"]]\n").unwrap_err();
        assert!(e.contains("`users` is an array; expected a table"), "{e}");
        let e = check_text("[[users]]\nreconnect = []\n").unwrap_err();
        assert!(
            e.contains("`users.reconnect` is an array; expected a table"),
            "{e}"
        );
        let e = check_text("users = 3\n").unwrap_err();
        assert!(
            e.contains("`users` is an integer; expected an array"),
            "{e}"
        );
    }

    #[test]
    fn between_takes_exactly_two_hosts() {
        let text = "[[faults]]\nbetween = [\"gateway\", \"auth\", \"lb\"]\n";
        let e = check_text(text).unwrap_err();
        assert!(e.contains("found 3 elements"), "{e}");
        assert!(check_text("[[faults]]\nbetween = [\"gateway\", \"auth\"]\n").is_ok());
    }

    #[test]
    fn the_usual_shapes_pass() {
        let text = "name = \"x\"\n[gateway]\nstartup = \"1s\"\n[expect]\nviolations = []\n\
                    [[users]]\nreconnect = { attempts = 1 }\n";
        assert!(check_text(text).is_ok());
    }
}
