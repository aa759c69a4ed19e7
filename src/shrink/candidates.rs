//! The candidates of one shrink round: every scenario one step smaller
//! than the current one, biggest steps first, each with a line saying what
//! it removed.
//!
//! Steps: drop a fault, drop a user group, end the run soon after the
//! failure, fewer users, fewer messages, no misbehaviour, arrivals and
//! think times at zero, shorter and earlier fault windows, no header
//! stripping, instant startups. Each candidate is written as a scenario
//! file and read back (`scenario::parse`); one the validator refuses (an
//! arrival window past the new duration, say) is left out, so a shrink
//! never produces a file that does not load.

use std::path::PathBuf;
use std::time::Duration;

use crate::scenario::{Misbehave, Range, Scenario, Target, format_duration};

/// Every candidate one step smaller than `s`, in the order they are tried.
/// `last_violation` is when the failure was last first seen.
pub fn of(s: &Scenario, last_violation: Duration) -> Vec<(Scenario, String)> {
    let mut out = Vec::new();
    let mut push = |candidate: Scenario, step: String| {
        if let Some(valid) = reload(&candidate) {
            out.push((valid, step));
        }
    };
    for i in 0..s.faults.len() {
        let mut c = s.clone();
        let f = c.faults.remove(i);
        push(c, format!("removed fault {} ({})", i + 1, fault_words(&f)));
    }
    if s.users.len() > 1 {
        for i in 0..s.users.len() {
            let mut c = s.clone();
            let g = c.users.remove(i);
            push(
                c,
                format!(
                    "removed user group {} ({} users, token {})",
                    i + 1,
                    g.count,
                    g.token
                ),
            );
        }
    }
    for duration in shorter_durations(s.duration, last_violation) {
        let mut c = s.clone();
        c.duration = duration;
        let step = format!(
            "duration {} -> {}",
            format_duration(s.duration),
            format_duration(duration)
        );
        push(c, step);
    }
    groups(s, &mut push);
    faults(s, &mut push);
    world(s, &mut push);
    out
}

/// A run that ends soon after the failure, then half the run: whole
/// seconds, never below one.
fn shorter_durations(now: Duration, last_violation: Duration) -> Vec<Duration> {
    let soon = Duration::from_secs(last_violation.as_secs() + 2);
    let half = Duration::from_secs((now.as_secs() / 2).max(1));
    let mut out = Vec::new();
    for d in [soon, half] {
        if d < now && !out.contains(&d) {
            out.push(d);
        }
    }
    out
}

/// Per group: one user, half the users, no messages, one message fewer, no
/// misbehaviour, everyone arriving at once, no think time.
fn groups(s: &Scenario, push: &mut impl FnMut(Scenario, String)) {
    for (i, g) in s.users.iter().enumerate() {
        let n = i + 1;
        let mut counts = vec![1, g.count / 2];
        counts.retain(|&c| c >= 1 && c < g.count);
        counts.dedup();
        for count in counts {
            let mut c = s.clone();
            c.users[i].count = count;
            push(c, format!("user group {n}: {} -> {count} users", g.count));
        }
        for messages in [0, g.messages.saturating_sub(1)] {
            if messages < g.messages {
                let mut c = s.clone();
                c.users[i].messages = messages;
                push(
                    c,
                    format!("user group {n}: {} -> {messages} messages", g.messages),
                );
                if messages == g.messages - 1 {
                    break;
                }
            }
        }
        if !g.misbehave.is_none() {
            let mut c = s.clone();
            c.users[i].misbehave = Misbehave::None;
            push(
                c,
                format!("user group {n}: no misbehaviour (was {})", g.misbehave),
            );
        }
        if g.arrive.max > Duration::ZERO {
            let mut c = s.clone();
            c.users[i].arrive = Range::new(Duration::ZERO, Duration::ZERO);
            push(c, format!("user group {n}: everyone arrives at 0s"));
        }
        if g.think.max > Duration::ZERO {
            let mut c = s.clone();
            c.users[i].think = Range::new(Duration::ZERO, Duration::ZERO);
            push(c, format!("user group {n}: no think time"));
        }
    }
}

/// Per fault: half its window, then starting at half its time.
fn faults(s: &Scenario, push: &mut impl FnMut(Scenario, String)) {
    for (i, f) in s.faults.iter().enumerate() {
        let n = i + 1;
        if let Some(d) = f.lasts().filter(|d| d.as_millis() >= 2) {
            let mut c = s.clone();
            let shorter = whole_ms(d / 2);
            if let Some(lasts) = c.faults[i].lasts_mut() {
                *lasts = shorter;
            }
            let step = format!(
                "fault {n}: for {} -> {}",
                format_duration(d),
                format_duration(shorter)
            );
            push(c, step);
        }
        if f.at().as_millis() >= 2 {
            let mut c = s.clone();
            let earlier = whole_ms(f.at() / 2);
            *c.faults[i].at_mut() = earlier;
            let step = format!(
                "fault {n}: at {} -> {}",
                format_duration(f.at()),
                format_duration(earlier)
            );
            push(c, step);
        }
    }
}

/// No header stripping; each startup at zero.
fn world(s: &Scenario, push: &mut impl FnMut(Scenario, String)) {
    if !s.load_balancer.strip_headers.is_empty() {
        let mut c = s.clone();
        c.load_balancer.strip_headers.clear();
        push(c, "no header stripping at the load balancer".into());
    }
    type Field = fn(&mut Scenario) -> &mut Duration;
    let startups: [(&str, Field); 3] = [
        ("auth", |s| &mut s.auth.startup),
        ("gateway", |s| &mut s.gateway.startup),
        ("agent pipeline", |s| &mut s.agents.startup),
    ];
    for (name, field) in startups {
        let mut c = s.clone();
        let was = *field(&mut c);
        if was > Duration::ZERO {
            *field(&mut c) = Duration::ZERO;
            push(
                c,
                format!("{name} starts at once (was {})", format_duration(was)),
            );
        }
    }
}

/// Whole milliseconds: scenario files hold durations to the millisecond.
fn whole_ms(d: Duration) -> Duration {
    Duration::from_millis(d.as_millis() as u64)
}

/// `restart of gateway at 12s for 3s`.
fn fault_words(f: &crate::scenario::Fault) -> String {
    let target = match f.target() {
        Target::Host(host) => host.to_string(),
        Target::Link([a, b]) => format!("{a} <-> {b}"),
    };
    // A restart taking no time and a reset have no window to speak of.
    let window = match f.lasts().filter(|d| !d.is_zero()) {
        Some(d) => format!(" for {}", format_duration(d)),
        None => String::new(),
    };
    format!(
        "{} of {target} at {}{window}",
        f.kind(),
        format_duration(f.at())
    )
}

/// `candidate` written as a file and read back, or `None` if the
/// validator refuses it.
fn reload(candidate: &Scenario) -> Option<Scenario> {
    let path = PathBuf::from(format!("{}.toml", candidate.name));
    crate::scenario::parse(&crate::scenario::to_toml(candidate), &path).ok()
}
