//! Faults, one home: the scenario's typed faults (`scenario::Fault`) turned
//! into start and end actions once (`schedule`), and applied either to a
//! turmoil simulation (`sim`) or on the wall clock to live services
//! (`live`); `lb`'s byte-level faults are applied by `bytes` for both.
//!
//! `Scenario -> schedule -> sim | live -> trace`. Nothing else in stagesim
//! partitions, holds, crashes, drains or bounces a host, sets a clock off
//! or switches the middlebox.

mod bytes;
pub mod live;
pub mod schedule;
pub mod sim;

pub use schedule::{Action, FaultId, FaultSchedule};
