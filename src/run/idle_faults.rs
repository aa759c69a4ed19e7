//! Faults that hit nothing, found in the trace: a fault due after every
//! user had finished (the driver records it as not reached), a drain or
//! restart that closed no connection, a reset that cut none, and any other
//! fault whose
//! whole window passed while no user was connected or trying to connect
//! (it came before the users arrived or after they left). Such a run says
//! nothing about the fault, so the outcome warns rather than letting a
//! `pass` suggest the backend survived it.
//!
//! Part of `run`: derived from the trace like every other part of an
//! outcome, and shown by the text and `--json` reports.

use std::time::Duration;

use crate::trace::{Event, FaultEvent, GatewayEvent, Kind, Trace};

/// One warning per fault that hit nothing, in trace order.
pub fn idle_faults(trace: &Trace) -> Vec<String> {
    let busy = user_spans(trace);
    let overlaps = |from: Duration, to: Duration| busy.iter().any(|(a, b)| *a <= to && from <= *b);
    let mut warnings = Vec::new();
    for (i, e) in trace.events.iter().enumerate() {
        let Kind::Fault(fault) = &e.kind else {
            continue;
        };
        let at = secs(e.at);
        let warning = match fault {
            FaultEvent::Drain { host, code, .. } => drained_nothing(&trace.events[i..])
                .then(|| format!("the {code} drain of {host} at {at} closed no connection")),
            FaultEvent::Reset {
                a,
                b,
                connections: 0,
                ..
            } => Some(format!("the reset of {a}-{b} at {at} cut no connection")),
            FaultEvent::NotReached { what, due, .. } => Some(format!(
                "the {what} due at {} never happened: every user had finished at {at}",
                secs(*due)
            )),
            _ => {
                let Some(name) = start_name(fault) else {
                    continue;
                };
                let end = end_of(fault, &trace.events[i + 1..]).unwrap_or(trace.end);
                (!overlaps(e.at, end)).then(|| {
                    format!(
                        "{name} from {at} to {}: no user was connected or connecting",
                        secs(end)
                    )
                })
            }
        };
        warnings.extend(warning);
    }
    warnings
}

fn secs(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// Whether the gateway reported draining no connection right after a
/// drain was requested.
fn drained_nothing(from: &[Event]) -> bool {
    from.iter()
        .find_map(|e| match &e.kind {
            Kind::Gateway(GatewayEvent::Draining { connections, .. }) => Some(*connections == 0),
            _ => None,
        })
        .unwrap_or(false)
}

/// What to call a fault that starts a window, or `None` for an event that
/// ends one or is not a window.
fn start_name(fault: &FaultEvent) -> Option<String> {
    match fault {
        FaultEvent::Partition { a, b, .. } => {
            Some(format!("the partition {}-{}", a.join(","), b.join(",")))
        }
        FaultEvent::LossyPartition { a, b, .. } => Some(format!(
            "the lossy partition {}-{}",
            a.join(","),
            b.join(",")
        )),
        FaultEvent::Hold { a, b, .. } => Some(format!("the hold {}-{}", a.join(","), b.join(","))),
        FaultEvent::Crash { host, .. } => Some(format!("the crash of {host}")),
        FaultEvent::Bytes {
            kind,
            a,
            b,
            on: true,
            ..
        } => Some(format!("the {kind} fault on {a}-{b}")),
        FaultEvent::Skew { host, by_ms, .. } if *by_ms != 0 => {
            Some(format!("the clock skew of {host}"))
        }
        _ => None,
    }
}

/// When the window `start` opened ends: the next event of the same fault
/// that ends it.
fn end_of(start: &FaultEvent, after: &[Event]) -> Option<Duration> {
    let id = start.fault()?;
    after.iter().find_map(|e| match &e.kind {
        Kind::Fault(end) if end.fault() == Some(id) && end.ends() => Some(e.at),
        _ => None,
    })
}

/// When each user was around: from its first connection attempt to its
/// finish (or the end of the trace).
fn user_spans(trace: &Trace) -> Vec<(Duration, Duration)> {
    let mut spans: std::collections::BTreeMap<&str, (Duration, Duration)> = Default::default();
    for e in &trace.events {
        let Some(user) = e.user.as_deref() else {
            continue;
        };
        match &e.kind {
            Kind::Connecting { .. } => {
                spans.entry(user).or_insert((e.at, trace.end));
            }
            Kind::Finished { .. } => {
                if let Some(span) = spans.get_mut(user) {
                    span.1 = e.at;
                }
            }
            _ => {}
        }
    }
    spans.into_values().collect()
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::trace::FaultId;

    fn event(at_ms: u64, user: Option<&str>, kind: Kind) -> Event {
        Event {
            at: Duration::from_millis(at_ms),
            host: Rc::from("sim"),
            user: user.map(Rc::from),
            kind,
        }
    }

    fn crash(at: u64, restarted: u64, user_from: u64, user_to: u64) -> Vec<String> {
        let host = || "auth".to_string();
        let events = vec![
            event(
                user_from,
                Some("u1"),
                Kind::Connecting {
                    conn: 1,
                    attempt: 1,
                },
            ),
            event(
                at,
                None,
                Kind::Fault(FaultEvent::Crash {
                    fault: FaultId(0),
                    host: host(),
                }),
            ),
            event(
                restarted,
                None,
                Kind::Fault(FaultEvent::Restarted {
                    fault: FaultId(0),
                    host: host(),
                }),
            ),
            event(
                user_to,
                Some("u1"),
                Kind::Finished {
                    outcome: crate::trace::UserEnd::Done,
                },
            ),
        ];
        let mut events = events;
        events.sort_by_key(|e| e.at);
        idle_faults(&Trace {
            events,
            end: Duration::from_secs(100),
        })
    }

    #[test]
    fn a_fault_while_a_user_was_around_is_not_idle() {
        assert!(crash(2_000, 3_000, 1_000, 5_000).is_empty());
    }

    #[test]
    fn a_fault_after_every_user_left_hit_nothing() {
        assert_eq!(
            crash(8_000, 9_000, 1_000, 5_000),
            ["the crash of auth from 8.000s to 9.000s: no user was connected or connecting"]
        );
    }

    /// A window ends at the end of its own fault, not at another fault's
    /// end on the same host.
    #[test]
    fn a_window_ends_with_its_own_fault() {
        let auth = || "auth".to_string();
        let fault = |at, kind| event(at, None, Kind::Fault(kind));
        let mut events = vec![
            fault(
                8_000,
                FaultEvent::Crash {
                    fault: FaultId(0),
                    host: auth(),
                },
            ),
            fault(
                8_500,
                FaultEvent::Restarted {
                    fault: FaultId(1),
                    host: auth(),
                },
            ),
            fault(
                9_000,
                FaultEvent::Restarted {
                    fault: FaultId(0),
                    host: auth(),
                },
            ),
        ];
        events.insert(
            0,
            event(
                1_000,
                Some("u1"),
                Kind::Connecting {
                    conn: 1,
                    attempt: 1,
                },
            ),
        );
        let done = crate::trace::UserEnd::Done;
        events.insert(
            1,
            event(5_000, Some("u1"), Kind::Finished { outcome: done }),
        );
        let warnings = idle_faults(&Trace {
            events,
            end: Duration::from_secs(100),
        });
        assert_eq!(
            warnings,
            ["the crash of auth from 8.000s to 9.000s: no user was connected or connecting"]
        );
    }
}
