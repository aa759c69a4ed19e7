//! One trace line as the diff reads it: from a typed event (a run made
//! here) or from a line of a trace file (`run --trace`), whose layout is
//! `trace::write_event`'s: time, host, user, text.

use crate::trace::{Trace, describe};

/// One event: when, where, about whom, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub at_ms: u64,
    pub host: String,
    pub user: Option<String>,
    pub text: String,
}

impl Line {
    /// The user whose own client host recorded this line, if it did.
    pub fn own_user(&self) -> Option<&str> {
        self.user
            .as_deref()
            .filter(|_| self.host.starts_with("clients-"))
    }

    /// As the trace file has it.
    pub fn render(&self) -> String {
        format!(
            "{:>5}.{:03}s {:<9} {:<9} {}",
            self.at_ms / 1000,
            self.at_ms % 1000,
            self.host,
            self.user.as_deref().unwrap_or("-"),
            self.text
        )
    }

    /// Every event of `trace`, as lines.
    pub fn of(trace: &Trace) -> Vec<Line> {
        trace
            .events
            .iter()
            .map(|e| Line {
                at_ms: e.at.as_millis() as u64,
                host: e.host.to_string(),
                user: e.user.as_deref().map(str::to_string),
                text: describe(&e.kind),
            })
            .collect()
    }
}

/// A trace file's lines; `Err` names the first line that is not one, with
/// its number.
pub fn parse_trace_file(text: &str) -> Result<Vec<Line>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_line(l).ok_or_else(|| format!("line {}: not a trace line: {l:.80}", i + 1))
        })
        .collect()
}

/// `   14.829s clients-1 user-0001 c1 connect attempt=1`.
fn parse_line(line: &str) -> Option<Line> {
    let mut parts = line.split_whitespace();
    let time = parts.next()?.strip_suffix('s')?;
    let (secs, millis) = time.split_once('.')?;
    let at_ms = secs.parse::<u64>().ok()? * 1000 + millis.parse::<u64>().ok()?;
    let host = parts.next()?.to_string();
    let user = parts.next()?;
    let text = parts.collect::<Vec<_>>().join(" ");
    Some(Line {
        at_ms,
        host,
        user: (user != "-").then(|| user.to_string()),
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rendered_line_parses_back_to_itself() {
        let line = "   14.829s clients-1 user-0001 c1 connect attempt=1";
        let parsed = parse_line(line).expect("a trace line");
        assert_eq!(parsed.render(), line);
        assert_eq!(parsed.own_user(), Some("user-0001"));
        assert!(parse_trace_file("not a trace\n").is_err());
    }
}
