//! Durations as scenario files write them: `"250ms"`, `"7s"`, `"2m"`, `"1h"`.
//!
//! First step of the data flow (scenario file -> validated `Scenario`): every
//! time value in a scenario file goes through [`parse_duration`] on the way in
//! and [`format_duration`] on the way out, so a printed scenario reads back as
//! the same value.
//!
//! The simulated clock ticks in whole milliseconds, so a duration must be an
//! exact number of milliseconds: `"1.5s"` is fine, `"1.5ms"` is not.

use std::time::Duration;

/// Units a duration may carry, with their length in milliseconds. Longest
/// suffix first so that `"ms"` is not read as `"m"` followed by junk.
const UNITS: [(&str, u128); 4] = [("ms", 1), ("s", 1_000), ("m", 60_000), ("h", 3_600_000)];

/// The sentence every parse error ends with, so each one says what is expected.
const EXPECTED: &str = "expected a number and a unit (ms, s, m or h), like \"250ms\" or \"7s\"";

/// The longest duration a scenario may name: past it, arithmetic on
/// simulated instants (a fault's end, a backoff doubled) could overflow,
/// and no run could reach it anyway.
pub const MAX_DURATION: Duration = Duration::from_secs(1000 * 3600);

/// Parses a duration string such as `"250ms"`, `"7s"`, `"2m"`, `"1h"` or `"1.5s"`.
///
/// The number is a non-negative integer, or a decimal whose value is a whole
/// number of milliseconds. There is no space between number and unit.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_up_to(text, MAX_DURATION)
}

/// [`parse_duration`] with another ceiling than [`MAX_DURATION`]: a token's
/// lifetime only ever becomes an `exp` claim in whole seconds, never a
/// simulated instant, so it may be longer (up to a year, see
/// `scenario::MAX_TOKEN_LIFETIME`).
pub fn parse_duration_up_to(text: &str, max: Duration) -> Result<Duration, String> {
    if text.is_empty() {
        return Err(format!("the duration is empty; {EXPECTED}"));
    }
    if text.starts_with('-') {
        return Err(format!("the duration \"{text}\" is negative; {EXPECTED}"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    if text.contains(char::is_whitespace) {
        return Err(format!(
            "the duration \"{text}\" contains a space; {EXPECTED}, written together"
        ));
    }
    if unit.is_empty() {
        return Err(format!("the duration \"{text}\" has no unit; {EXPECTED}"));
    }
    let Some(&(_, unit_ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(format!(
            "the duration \"{text}\" has an unknown unit \"{unit}\"; {EXPECTED}"
        ));
    };
    let millis = number_times(number, unit_ms).ok_or_else(|| {
        format!("the duration \"{text}\" is not a number with a unit; {EXPECTED}")
    })?;
    let Some(millis) = millis else {
        return Err(format!(
            "the duration \"{text}\" is not a whole number of milliseconds; {EXPECTED}"
        ));
    };
    u64::try_from(millis)
        .ok()
        .map(Duration::from_millis)
        .filter(|d| *d <= max)
        .ok_or_else(|| {
            format!(
                "the duration \"{text}\" is too large; expected at most \"{}\"",
                format_duration(max)
            )
        })
}

/// `number * unit_ms` for a decimal `number` such as `"12"` or `"1.25"`.
///
/// Returns `None` when `number` is not a plain decimal, and `Some(None)` when
/// the product is not a whole number of milliseconds. Exact integer
/// arithmetic only: a float would turn `"0.3s"` into 299ms.
fn number_times(number: &str, unit_ms: u128) -> Option<Option<u128>> {
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !is_digits(whole) || number.contains('.') && !is_digits(fraction) {
        return None;
    }
    // Trailing zeros add nothing; past them, a long fraction cannot be a whole
    // number of milliseconds of any unit (the largest is 3.6e6 ms).
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > 7 {
        return Some(None);
    }
    // Longer than u128 can hold is simply too large; report it as such.
    let whole: u128 = whole.parse().ok().or(Some(u128::MAX))?;
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 = if fraction.is_empty() {
        0
    } else {
        fraction.parse().ok()?
    };
    let fraction_ms = fraction * unit_ms;
    if !fraction_ms.is_multiple_of(scale) {
        return Some(None);
    }
    Some(Some(
        whole
            .saturating_mul(unit_ms)
            .saturating_add(fraction_ms / scale),
    ))
}

/// Formats a duration in the shortest exact form [`parse_duration`] reads:
/// `"0s"`, `"250ms"`, `"7s"`, `"1500ms"`, `"2m"`, `"1h"`.
///
/// Only whole numbers are written, so `1.5s` comes out as `"1500ms"`. Parts
/// below a millisecond cannot come from a scenario file and are dropped.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    UNITS
        .iter()
        .rev()
        .find(|(_, unit_ms)| millis.is_multiple_of(*unit_ms))
        .map(|(unit, unit_ms)| format!("{}{unit}", millis / unit_ms))
        .unwrap_or_else(|| format!("{millis}ms"))
}

/// Serde helpers for `Duration` fields (`#[serde(with = "duration::string")]`):
/// a duration string in, the same form out.
pub(super) mod string {
    use std::fmt;
    use std::time::Duration;

    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&super::format_duration(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        deserializer.deserialize_any(DurationVisitor(super::MAX_DURATION))
    }

    /// Visits a string of at most the duration it holds; a bare number gets
    /// its own message, because `startup = 7` is the mistake people actually
    /// make.
    pub(in crate::scenario) struct DurationVisitor(pub Duration);

    impl Visitor<'_> for DurationVisitor {
        type Value = Duration;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a duration string like \"7s\"")
        }

        fn visit_str<E: de::Error>(self, text: &str) -> Result<Duration, E> {
            super::parse_duration_up_to(text, self.0).map_err(E::custom)
        }

        fn visit_i64<E: de::Error>(self, number: i64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "expected a duration string like \"7s\", found the number {number}; add a unit and quotes, as in \"{number}s\" or \"{number}ms\""
            )))
        }

        fn visit_u64<E: de::Error>(self, number: u64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "expected a duration string like \"7s\", found the number {number}; add a unit and quotes, as in \"{number}s\" or \"{number}ms\""
            )))
        }

        fn visit_f64<E: de::Error>(self, number: f64) -> Result<Duration, E> {
            Err(E::custom(format!(
                "expected a duration string like \"7s\", found the number {number}; add a unit and quotes, as in \"{number}s\""
            )))
        }
    }
}

/// Serde helpers for `token_lifetime`: [`string`], up to
/// `scenario::MAX_TOKEN_LIFETIME` (a year) instead of [`MAX_DURATION`];
/// validation then says the lower bound.
pub(super) mod lifetime {
    use std::time::Duration;

    use serde::Deserializer;

    pub use super::string::serialize;

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        let max = crate::scenario::MAX_TOKEN_LIFETIME;
        deserializer.deserialize_any(super::string::DurationVisitor(max))
    }
}

/// Parses a signed duration such as `"-90s"` or `"2m"`, in milliseconds.
pub fn parse_signed_ms(text: &str) -> Result<i64, String> {
    let (sign, rest) = match text.strip_prefix('-') {
        Some(rest) => (-1, rest),
        None => (1, text.strip_prefix('+').unwrap_or(text)),
    };
    let d = parse_duration(rest).map_err(|e| e.replace("is negative; ", ""))?;
    Ok(sign * d.as_millis() as i64)
}

/// `-90s`, `2m`: the inverse of [`parse_signed_ms`].
pub fn format_signed_ms(ms: i64) -> String {
    let d = format_duration(Duration::from_millis(ms.unsigned_abs()));
    if ms < 0 { format!("-{d}") } else { d }
}

/// Serde helpers for an optional signed duration in milliseconds (`by`).
pub(super) mod signed {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Option<i64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(ms) => serializer.serialize_str(&super::format_signed_ms(*ms)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<i64>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_signed_ms(&text)
            .map(Some)
            .map_err(D::Error::custom)
    }
}

/// Serde helpers for `Option<Duration>` fields; used with `#[serde(default)]`,
/// so an absent key is `None` and a present one must be a duration string.
pub(super) mod optional {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Duration>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(duration) => super::string::serialize(duration, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Duration>, D::Error> {
        super::string::deserialize(deserializer).map(Some)
    }
}

/// A `Duration` that (de)serialises as a duration string; the element type of
/// `Range<Duration>` on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct DurationString(pub Duration);

impl<'de> serde::Deserialize<'de> for DurationString {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        string::deserialize(deserializer).map(DurationString)
    }
}

impl serde::Serialize for DurationString {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        string::serialize(&self.0, serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("0s"), Ok(ms(0)));
        assert_eq!(parse_duration("250ms"), Ok(ms(250)));
        assert_eq!(parse_duration("7s"), Ok(ms(7_000)));
        assert_eq!(parse_duration("2m"), Ok(ms(120_000)));
        assert_eq!(parse_duration("1h"), Ok(ms(3_600_000)));
    }

    #[test]
    fn parses_exact_decimals_only() {
        assert_eq!(parse_duration("1.5s"), Ok(ms(1_500)));
        assert_eq!(parse_duration("0.3s"), Ok(ms(300)));
        assert_eq!(parse_duration("0.25m"), Ok(ms(15_000)));
        assert_eq!(parse_duration("1.500000000000s"), Ok(ms(1_500)));
        assert!(
            parse_duration("1.5ms")
                .unwrap_err()
                .contains("whole number of milliseconds")
        );
        assert!(parse_duration("0.0001s").is_err());
    }

    #[test]
    fn rejects_with_a_sentence_saying_what_is_expected() {
        for (bad, words) in [
            ("", "empty"),
            ("7", "no unit"),
            ("7 s", "space"),
            (" 7s", "space"),
            ("-1s", "negative"),
            ("7x", "unknown unit \"x\""),
            ("7us", "unknown unit"),
            ("s", "not a number"),
            ("1.s", "not a number"),
            (".5s", "not a number"),
            ("1.2.3s", "not a number"),
            ("99999999999999999999999999h", "too large"),
            ("99999999999999999999999999999999999999999999s", "too large"),
        ] {
            let message = parse_duration(bad).unwrap_err();
            assert!(message.contains(words), "{bad:?}: {message}");
            assert!(message.contains("expected"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn a_token_lifetime_may_reach_a_year() {
        let year = crate::scenario::MAX_TOKEN_LIFETIME;
        assert_eq!(parse_duration_up_to("8760h", year), Ok(year));
        let message = parse_duration_up_to("8761h", year).unwrap_err();
        assert!(message.contains("at most \"8760h\""), "{message}");
        let message = parse_duration("1001h").unwrap_err();
        assert!(message.contains("at most \"1000h\""), "{message}");
        let text = "name = \"y\"\n[[users]]\ntoken_lifetime = \"8760h\"\n";
        let scenario = crate::scenario::parse(text, std::path::Path::new("y.toml"))
            .unwrap_or_else(|e| panic!("{}", e.render()));
        assert_eq!(scenario.users[0].token_lifetime, year);
    }

    #[test]
    fn formats_shortest_exact_form() {
        assert_eq!(format_duration(ms(0)), "0s");
        assert_eq!(format_duration(ms(250)), "250ms");
        assert_eq!(format_duration(ms(7_000)), "7s");
        assert_eq!(format_duration(ms(1_500)), "1500ms");
        assert_eq!(format_duration(ms(120_000)), "2m");
        assert_eq!(format_duration(ms(90_000)), "90s");
        assert_eq!(format_duration(ms(7_200_000)), "2h");
        assert_eq!(format_duration(Duration::from_micros(1_500)), "1ms");
    }

    #[test]
    fn format_then_parse_is_identity() {
        let max = MAX_DURATION.as_millis() as u64;
        for n in [0, 1, 999, 1_000, 1_001, 59_999, 60_000, 3_600_000, max] {
            assert_eq!(parse_duration(&format_duration(ms(n))), Ok(ms(n)), "{n}");
        }
        assert!(parse_duration(&format_duration(ms(max + 1))).is_err());
    }
}
