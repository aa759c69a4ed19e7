//! What a link knows of when its next message in flight falls due, so that
//! processing its deliverables, which turmoil does on every message sent as
//! well as every tick, can pass over a link with nothing due without
//! scanning every message it holds (issue 24: with thousands of messages in
//! flight on one link, that scan on each send was quadratic).

use tokio::time::Instant;

/// A lower bound on the earliest `DeliverAfter` time among a link's messages
/// in flight. Adding a message lowers it; removing one or holding one leaves
/// it a lower bound; anything else that makes a message due (a release, a
/// repair, a test's `deliver`) forgets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NextDue {
    /// Not known: the next processing must look at every message.
    Unknown,
    /// No message falls due before this.
    NotBefore(Instant),
    /// No message is waiting on a time at all (held, kept, or none).
    Never,
}

impl NextDue {
    /// The bound once a message due at `at` is added.
    pub(super) fn with(self, at: Instant) -> NextDue {
        match self {
            NextDue::Unknown => NextDue::Unknown,
            NextDue::NotBefore(bound) => NextDue::NotBefore(bound.min(at)),
            NextDue::Never => NextDue::NotBefore(at),
        }
    }

    /// Whether nothing can be due at `now`, so there is no need to look.
    pub(super) fn nothing_due_at(self, now: Instant) -> bool {
        match self {
            NextDue::Unknown => false,
            NextDue::NotBefore(bound) => bound > now,
            NextDue::Never => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NextDue;
    use std::time::Duration;
    use tokio::time::Instant;

    #[test]
    fn a_bound_only_falls_and_unknown_stays_unknown() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        assert_eq!(NextDue::Never.with(t1), NextDue::NotBefore(t1));
        assert_eq!(NextDue::NotBefore(t1).with(t0), NextDue::NotBefore(t0));
        assert_eq!(NextDue::NotBefore(t0).with(t1), NextDue::NotBefore(t0));
        assert_eq!(NextDue::Unknown.with(t0), NextDue::Unknown);
    }

    #[test]
    fn nothing_is_due_only_strictly_before_the_bound() {
        let t0 = Instant::now();
        let t1 = t0 + Duration::from_millis(5);
        assert!(NextDue::NotBefore(t1).nothing_due_at(t0));
        assert!(!NextDue::NotBefore(t1).nothing_due_at(t1));
        assert!(!NextDue::Unknown.nothing_due_at(t0));
        assert!(NextDue::Never.nothing_due_at(t1));
    }
}
