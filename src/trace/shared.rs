//! [`Shared`]: a string several trace events hold, one pointer wide.
//!
//! Received events are nearly half of a trace and carry up to six strings
//! each (user, run, message, agent, tool, code), which the client interns
//! as it reads (`client::incoming::Recent`). An `Rc<str>` is two words;
//! this is one, so a received event is 48 bytes smaller and with it every
//! event of the trace (the enum is as large as its largest variant): about
//! 2 KiB per user at 10,000 users.

use std::fmt;
use std::ops::Deref;
use std::rc::Rc;

/// A shared, immutable string; compares, orders and prints as its text.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Shared(Rc<String>);

impl Shared {
    /// Whether `a` and `b` are the same allocation (not only equal text).
    pub fn ptr_eq(a: &Shared, b: &Shared) -> bool {
        Rc::ptr_eq(&a.0, &b.0)
    }
}

impl Deref for Shared {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Shared {
    fn from(text: &str) -> Shared {
        Shared(Rc::new(text.to_string()))
    }
}

impl fmt::Display for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_one_pointer_wide_even_when_optional() {
        assert_eq!(size_of::<Option<Shared>>(), size_of::<usize>());
    }

    #[test]
    fn compares_and_prints_as_its_text() {
        let a = Shared::from("g1.2.r3");
        let b = Shared::from("g1.2.r3");
        assert_eq!(a, b);
        assert!(!Shared::ptr_eq(&a, &b) && Shared::ptr_eq(&a, &a.clone()));
        assert!(Shared::from("a") < Shared::from("b"));
        assert_eq!(format!("{a} {a:?}"), "g1.2.r3 \"g1.2.r3\"");
        assert_eq!(Some(a).as_deref(), Some("g1.2.r3"));
    }
}
