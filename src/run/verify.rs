//! Determinism checked, not assumed (`stagesim run --verify`): run the same
//! scenario and seed again and name the first event where the two traces
//! part, with its time, host and both versions.
//!
//! Part of `run`: it compares two finished traces event by event in their
//! rendered form, which is what the trace hash covers, so "the hashes
//! differ" always comes with "here is where".

use crate::trace::{Trace, render_event};

/// Where two runs of one scenario and seed part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Divergence {
    /// The index of the first event that differs (0-based).
    pub index: usize,
    /// The first run's event there, rendered; `None` if it had ended.
    pub first: Option<String>,
    /// The second run's event there, rendered; `None` if it had ended.
    pub second: Option<String>,
}

impl Divergence {
    /// Two lines for a person: what each run recorded at the first event
    /// where they part.
    pub fn describe(&self) -> String {
        let shown = |e: &Option<String>| e.clone().unwrap_or_else(|| "(the run had ended)".into());
        format!(
            "the runs part at event {}:\n  first run:  {}\n  second run: {}",
            self.index + 1,
            shown(&self.first).trim(),
            shown(&self.second).trim()
        )
    }
}

/// The first event at which `a` and `b` differ, if they do.
pub fn first_divergence(a: &Trace, b: &Trace) -> Option<Divergence> {
    let len = a.events.len().max(b.events.len());
    (0..len).find_map(|i| {
        let first = a.events.get(i).map(render_event);
        let second = b.events.get(i).map(render_event);
        (first != second).then_some(Divergence {
            index: i,
            first,
            second,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{Event, Kind};
    use std::rc::Rc;
    use std::time::Duration;

    fn trace(outcomes: &[&str]) -> Trace {
        let events = outcomes
            .iter()
            .map(|o| Event {
                at: Duration::from_millis(5),
                host: Rc::from("clients-1"),
                user: Some(Rc::from("user-0001")),
                kind: Kind::Finished {
                    outcome: crate::trace::UserEnd::Stopped(o.to_string()),
                },
            })
            .collect();
        Trace {
            events,
            end: Duration::from_millis(5),
        }
    }

    #[test]
    fn the_first_differing_event_is_named_with_both_versions() {
        let a = trace(&["done", "done", "x"]);
        assert_eq!(first_divergence(&a, &a), None);
        let d = first_divergence(&a, &trace(&["done", "gave up"])).expect("they differ");
        assert_eq!(d.index, 1);
        assert!(
            d.first
                .as_deref()
                .is_some_and(|l| l.contains("finished: done"))
        );
        assert!(
            d.second
                .as_deref()
                .is_some_and(|l| l.contains("finished: gave up"))
        );
        let shorter = first_divergence(&a, &trace(&["done", "done"])).expect("one ended");
        assert_eq!((shorter.index, shorter.second), (2, None));
    }
}
