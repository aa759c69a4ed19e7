//! The human summary of `stagesim run`.

use std::fmt::Write;

use crate::run::{Outcome, format_counts};
use crate::trace::format_time;

/// Verdict, counts per group, every violation, and the line to reproduce.
pub fn to_text(outcome: &Outcome, description: &str, reproduce: &str) -> String {
    let s = &outcome.summary;
    let mut out = String::new();
    let _ = writeln!(out, "scenario   {}: {}", outcome.scenario, description);
    let _ = writeln!(out, "seed       {}", outcome.seed);
    let _ = writeln!(
        out,
        "verdict    {}",
        outcome.verdict.as_str().to_uppercase()
    );
    let _ = writeln!(
        out,
        "{:<10} {} ({} events, trace {})",
        outcome.time_label(),
        format_time(std::time::Duration::from_millis(s.sim_ms)).trim(),
        s.events,
        &outcome.trace_hash()[..16]
    );
    let _ = writeln!(
        out,
        "messages   sent {}, answered {}, rejected {}",
        s.messages.sent, s.messages.answered, s.messages.rejected
    );
    let _ = writeln!(out, "close codes {}", format_counts(&s.close_codes));
    for line in outcome.target.iter().flat_map(|t| t.lines()) {
        let _ = writeln!(out, "target     {line}");
    }
    for warning in &outcome.warnings {
        let _ = writeln!(out, "warning    {warning}");
    }
    for (i, g) in &s.groups {
        let _ = writeln!(out, "  group {}: {}", i + 1, g.describe());
    }
    if outcome.violations.is_empty() {
        let _ = writeln!(out, "violations none");
    } else {
        let _ = writeln!(out, "violations {}", outcome.violations.len());
        for v in &outcome.violations {
            let _ = writeln!(
                out,
                "  {:<13} at {} {} on {}: {}",
                v.invariant.as_str(),
                format_time(v.at).trim(),
                v.user.as_deref().unwrap_or("-"),
                v.host,
                v.what()
            );
        }
    }
    let _ = writeln!(out, "reproduce  {reproduce}");
    out
}
