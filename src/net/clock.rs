//! A host's wall clock, which a `skew` fault can set off from true time.
//!
//! Data flow: the fault driver sets a host's skew; what that host computes
//! from wall time (auth's token checks, a user minting a token) reads
//! [`HostClock::since_epoch`] instead of [`super::since_epoch`]. Simulated
//! time itself (timers, the trace's timestamps) is never skewed: a skewed
//! host is wrong about the date, not about how long things take.

use std::cell::Cell;
use std::time::Duration;

/// One host's clock: true wall time plus a signed skew.
#[derive(Debug, Default)]
pub struct HostClock {
    skew_ms: Cell<i64>,
}

impl HostClock {
    /// Set the skew (milliseconds, negative: behind); 0 puts it right.
    pub fn set_skew_ms(&self, ms: i64) {
        self.skew_ms.set(ms);
    }

    /// What this host believes the time since the Unix epoch is.
    pub fn since_epoch(&self) -> Duration {
        let now = super::since_epoch();
        let skew = self.skew_ms.get();
        let by = Duration::from_millis(skew.unsigned_abs());
        if skew >= 0 {
            now.saturating_add(by)
        } else {
            now.saturating_sub(by)
        }
    }
}
