//! `[min, max]` ranges, drawn uniformly from the seed by the simulation.
//!
//! Part of scenario file -> validated `Scenario`: a range is checked when it is
//! read (two elements, `min <= max`), so the error points at the array itself
//! and the simulation never sees an empty range.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeSeq, Serializer};

use super::duration::{DurationString, format_duration};

/// An inclusive range `[min, max]`, written in TOML as a two-element array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range<T> {
    /// Smallest value drawn (inclusive).
    pub min: T,
    /// Largest value drawn (inclusive); never below `min`.
    pub max: T,
}

impl<T> Range<T> {
    /// A range; callers outside the parser keep `min <= max` themselves.
    pub const fn new(min: T, max: T) -> Self {
        Range { min, max }
    }
}

impl Range<Duration> {
    /// `["0s", "0s"]`: nothing to draw.
    pub fn is_zero(&self) -> bool {
        self.min.is_zero() && self.max.is_zero()
    }
}

/// How one bound is read and written, and shown in the `min > max` message.
/// Implemented for the two bound types scenario files use.
trait Bound: Sized + PartialOrd {
    /// The on-the-wire form of a bound (a duration string, or a plain integer).
    type Wire: for<'de> Deserialize<'de> + Serialize;
    fn from_wire(wire: Self::Wire) -> Self;
    fn to_wire(&self) -> Self::Wire;
    fn show(&self) -> String;
}

impl Bound for Duration {
    type Wire = DurationString;
    fn from_wire(wire: DurationString) -> Self {
        wire.0
    }
    fn to_wire(&self) -> DurationString {
        DurationString(*self)
    }
    fn show(&self) -> String {
        format!("\"{}\"", format_duration(*self))
    }
}

impl Bound for u32 {
    type Wire = u32;
    fn from_wire(wire: u32) -> Self {
        wire
    }
    fn to_wire(&self) -> u32 {
        *self
    }
    fn show(&self) -> String {
        self.to_string()
    }
}

// One impl per bound type rather than `impl<T: Bound>`: `Bound` stays private
// without a public impl leaning on a private trait.
impl<'de> Deserialize<'de> for Range<Duration> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RangeVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Range<u32> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RangeVisitor(PhantomData))
    }
}

struct RangeVisitor<T>(PhantomData<T>);

impl<'de, T: Bound> Visitor<'de> for RangeVisitor<T> {
    type Value = Range<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a range written as a two-element array [min, max]")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Range<T>, A::Error> {
        // Read every element so the count in the message is the real one.
        let mut bounds = Vec::with_capacity(2);
        while let Some(wire) = seq.next_element::<T::Wire>()? {
            bounds.push(T::from_wire(wire));
        }
        let count = bounds.len();
        let mut bounds = bounds.into_iter();
        match (bounds.next(), bounds.next(), count) {
            (Some(min), Some(max), 2) if min > max => Err(de::Error::custom(format!(
                "the minimum {} is greater than the maximum {}; expected a range [min, max] with min <= max",
                min.show(),
                max.show()
            ))),
            (Some(min), Some(max), 2) => Ok(Range { min, max }),
            _ => Err(de::Error::custom(format!(
                "expected a range written as a two-element array [min, max], found {count} element{}",
                if count == 1 { "" } else { "s" }
            ))),
        }
    }
}

impl Serialize for Range<Duration> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_range(self, serializer)
    }
}

impl Serialize for Range<u32> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize_range(self, serializer)
    }
}

fn serialize_range<T: Bound, S: Serializer>(
    range: &Range<T>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut seq = serializer.serialize_seq(Some(2))?;
    seq.serialize_element(&range.min.to_wire())?;
    seq.serialize_element(&range.max.to_wire())?;
    seq.end()
}
