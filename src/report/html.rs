//! `stagesim run --report FILE.html`: one self-contained page to look at a
//! run rather than read its trace.
//!
//! Data flow: `Outcome -> report::timeline::Timeline -> data (JSON) ->
//! page` (the scenario only for its one-line description). The page's head
//! (scenario, seed, verdict, trace hash, reproduce command, violations) is
//! plain HTML written here; the timeline
//! is drawn by an inline script from the embedded JSON, so a run of 1,000
//! users stays small and fast: lanes are sampled, and the filter box brings
//! any user's lane in. No network: no CDN, no web fonts, no external links.
//!
//! Deterministic: the page is a function of the run (no timestamps, only
//! ordered collections), so the same scenario and seed give the same bytes.

mod data;

use std::fmt::Write;

use crate::run::Outcome;
use crate::scenario::Scenario;
use crate::trace::format_time;

use super::timeline::{Timeline, code_class};
pub use data::SAMPLE;

const STYLE: &str = include_str!("html/report.css");
const SCRIPT: &str = include_str!("html/report.js");

/// The report of `outcome`, a run of `scenario`; `reproduce` is the
/// command that replays it.
pub fn render(outcome: &Outcome, scenario: &Scenario, reproduce: &str) -> String {
    let tl = Timeline::build(&outcome.trace, &outcome.violations);
    render_with(outcome, scenario, &tl, reproduce)
}

/// The report of `outcome` drawn from `tl`, its timeline (built once when
/// the Chrome trace is written too).
pub fn render_with(
    outcome: &Outcome,
    scenario: &Scenario,
    tl: &Timeline,
    reproduce: &str,
) -> String {
    let data = data::to_json(tl);
    let mut page = String::with_capacity(1 << 16);
    let title = format!(
        "stagesim: {} seed {} {}",
        outcome.scenario, outcome.seed, outcome.verdict
    );
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"stagesim\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n</head>\n",
        escape(&title)
    );
    let _ = writeln!(
        page,
        "<body data-rendered=\"no\" data-verdict=\"{}\">",
        outcome.verdict
    );
    head(&mut page, outcome, scenario, reproduce);
    controls(&mut page, tl);
    page.push_str(
        "<main id=\"timeline\">\n<noscript><p class=\"noscript\">The timeline is drawn by \
         JavaScript; the facts above and <code>--trace FILE</code> hold the same run.</p></noscript>\n\
         <div id=\"tl-scroll\"><div id=\"tl-grid\">\
         <div id=\"tl-corner\"></div><svg id=\"tl-axis\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\
         <svg id=\"tl-labels\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\
         <svg id=\"tl-lanes\" xmlns=\"http://www.w3.org/2000/svg\"></svg>\
         </div></div>\n<div id=\"tip\" hidden></div>\n</main>\n",
    );
    page.push_str("<script type=\"application/json\" id=\"stagesim-data\">");
    page.push_str(&script_safe(&data.to_string()));
    page.push_str("</script>\n<script>\n");
    page.push_str(SCRIPT);
    page.push_str("</script>\n</body>\n</html>\n");
    page
}

fn head(page: &mut String, outcome: &Outcome, scenario: &Scenario, reproduce: &str) {
    let verdict = outcome.verdict.as_str();
    let _ = write!(
        page,
        "<header>\n<h1>{} <span class=\"verdict v-{verdict}\">{}</span></h1>\n",
        escape(&outcome.scenario),
        verdict.to_uppercase()
    );
    if !scenario.description.is_empty() {
        let _ = writeln!(
            page,
            "<p class=\"description\">{}</p>",
            escape(&scenario.description)
        );
    }
    facts(page, outcome);
    let _ = writeln!(
        page,
        "<p class=\"reproduce\">reproduce <code id=\"reproduce\">{}</code></p>",
        escape(reproduce)
    );
    violations(page, outcome);
    page.push_str("</header>\n");
}

/// The run's facts: scenario, seed, verdict, trace hash, time, messages,
/// close codes.
fn facts(page: &mut String, outcome: &Outcome) {
    let s = &outcome.summary;
    let verdict = outcome.verdict.as_str();
    page.push_str("<dl class=\"facts\">\n");
    let mut fact = |name: &str, id: &str, value: String| {
        let _ = writeln!(
            page,
            "<div><dt>{name}</dt><dd id=\"{id}\">{value}</dd></div>"
        );
    };
    fact("scenario", "fact-scenario", escape(&outcome.scenario));
    fact("seed", "fact-seed", outcome.seed.to_string());
    fact(
        "verdict",
        "fact-verdict",
        format!("<span class=\"verdict v-{verdict}\">{verdict}</span>"),
    );
    fact(
        "trace hash",
        "fact-hash",
        format!("<code>{}</code>", escape(outcome.trace_hash())),
    );
    fact(
        outcome.time_label(),
        "fact-time",
        format!(
            "{} ({} events)",
            format_time(outcome.trace.end).trim(),
            s.events
        ),
    );
    fact(
        "messages",
        "fact-messages",
        format!(
            "sent {}, answered {}, rejected {}",
            s.messages.sent, s.messages.answered, s.messages.rejected
        ),
    );
    let mut codes = String::new();
    for (code, n) in &s.close_codes {
        let _ = write!(
            codes,
            "<span class=\"chip {}\">{code} &times;{n}</span> ",
            code_class(*code)
        );
    }
    if codes.is_empty() {
        codes.push_str("none");
    }
    fact(
        "close codes",
        "fact-codes",
        format!("{codes}<span class=\"muted\">({} users)</span>", s.users),
    );
    page.push_str("</dl>\n");
}

/// The violations table, or a line saying there is none.
fn violations(page: &mut String, outcome: &Outcome) {
    if outcome.violations.is_empty() {
        page.push_str(
            "<p id=\"violations\" class=\"none\">No violation: every invariant held.</p>\n",
        );
        return;
    }
    let _ = writeln!(
        page,
        "<table id=\"violations\">\n<caption>{} violation{}{}</caption>\n\
         <tr><th>invariant</th><th>at</th><th>user</th><th>host</th><th>what happened</th></tr>",
        outcome.violations.len(),
        if outcome.violations.len() == 1 {
            ""
        } else {
            "s"
        },
        if outcome.verdict == crate::oracle::Verdict::Reproduced {
            " (expected by the scenario: reproduced)"
        } else {
            ""
        }
    );
    for (i, v) in outcome.violations.iter().enumerate() {
        let _ = writeln!(
            page,
            "<tr class=\"violation-row\" data-violation=\"{i}\"><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td></tr>",
            v.invariant.as_str(),
            format_time(v.at).trim(),
            escape(v.user.as_deref().unwrap_or("-")),
            escape(&v.host),
            escape(&v.what())
        );
    }
    page.push_str("</table>\n");
}

fn controls(page: &mut String, tl: &Timeline) {
    let _ = write!(
        page,
        "<nav id=\"controls\">\n<label>filter <input id=\"filter\" type=\"search\" size=\"34\" \
         placeholder=\"user-0042, 1011, violation, group 2, expired\" autocomplete=\"off\"></label>\n\
         <button id=\"zoom-out\" title=\"zoom out\">&minus;</button>\
         <button id=\"zoom-fit\" title=\"fit the width\">fit</button>\
         <button id=\"zoom-in\" title=\"zoom in\">+</button>\n\
         <span id=\"lane-status\">{} users</span>\n<span class=\"legend\">",
        tl.users.len()
    );
    let legend: [(&str, &str); 8] = [
        ("ok", "1000 normal"),
        ("policy", "1008 policy"),
        ("retry", "1001/1012/1013, 503 retry"),
        ("defect", "1011 defect"),
        ("lost", "1006 lost"),
        ("proto", "other"),
        ("win-fault", "fault"),
        ("win-startup", "startup"),
    ];
    for (class, text) in legend {
        let _ = write!(page, "<span class=\"chip {class}\">{text}</span> ");
    }
    page.push_str("<span class=\"muted\">zig-zag gaps: idle time cut out</span></span>\n</nav>\n");
}

/// Text for HTML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot end its `<script>` element: `<` only occurs inside JSON
/// strings, where `\u003c` means the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
        assert_eq!(
            script_safe(r#"{"x":"</script>"}"#),
            r#"{"x":"\u003c/script>"}"#
        );
    }
}
