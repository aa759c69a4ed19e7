//! Byte rates as scenario files write them: `"512B/s"`, `"8KiB/s"`,
//! `"2MiB/s"` (the `bandwidth` fault's `rate`).
//!
//! Part of scenario file -> validated `Scenario`: parsed on the way in,
//! printed the same way on the way out, so a printed scenario reads back as
//! the same value.

/// Units with their size in bytes, longest suffix first so that `"B/s"` is
/// not read before `"KiB/s"`.
const UNITS: [(&str, u64); 3] = [("MiB/s", 1 << 20), ("KiB/s", 1 << 10), ("B/s", 1)];

const EXPECTED: &str = "expected a whole number and a unit (B/s, KiB/s or MiB/s), like \"8KiB/s\"";

/// The fastest rate a scenario may name: 1 GiB/s (no simulated link is
/// slower than that in any way that would matter).
pub const MAX_RATE: u64 = 1 << 30;

/// Bytes a second, from `"8KiB/s"`; at least 1, at most [`MAX_RATE`].
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let Some((number, size)) = UNITS
        .iter()
        .find_map(|(unit, size)| text.strip_suffix(unit).map(|n| (n, *size)))
    else {
        return Err(format!("the rate \"{text}\" has no unit; {EXPECTED}"));
    };
    let n: u64 = number.parse().map_err(|_| {
        format!("the rate \"{text}\" is not a whole number of its unit; {EXPECTED}")
    })?;
    match n.checked_mul(size) {
        Some(0) => Err(format!("the rate \"{text}\" is zero; {EXPECTED}")),
        Some(rate) if rate <= MAX_RATE => Ok(rate),
        _ => Err(format!("the rate \"{text}\" is over 1024MiB/s; {EXPECTED}")),
    }
}

/// `8KiB/s` when whole KiB or MiB, else bytes.
pub fn format_rate(rate: u64) -> String {
    UNITS
        .iter()
        .find(|(_, size)| rate.is_multiple_of(*size))
        .map_or(format!("{rate}B/s"), |(unit, size)| {
            format!("{}{unit}", rate / size)
        })
}

/// Serde helpers for `Option<u64>` rate fields, with `#[serde(default)]`.
pub(super) mod optional {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(value: &Option<u64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(rate) => serializer.serialize_str(&super::format_rate(*rate)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<u64>, D::Error> {
        let text = String::deserialize(deserializer)?;
        super::parse_rate(&text).map(Some).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_each_unit() {
        for (text, rate) in [("512B/s", 512), ("8KiB/s", 8192), ("2MiB/s", 2 << 20)] {
            assert_eq!(parse_rate(text), Ok(rate));
            assert_eq!(format_rate(rate), text);
        }
        assert_eq!(format_rate(1536), "1536B/s");
    }

    #[test]
    fn refuses_what_is_not_a_rate() {
        for bad in [
            "",
            "8",
            "8KB/s",
            "0B/s",
            "-1B/s",
            "1.5KiB/s",
            "2048MiB/s",
            "99999999999999999999B/s",
        ] {
            let e = parse_rate(bad).expect_err(bad);
            assert!(e.contains("expected a whole number"), "{bad}: {e}");
        }
    }
}
