//! Part of a run's outcome, filled in by live mode: what a run against
//! `--target` cannot do, said before it runs and in its report, so that
//! `pass` means "your backend does not show this failure".
//!
//! Under `--target` the gateway, the pipeline and auth are someone else's:
//! the scenario's `[auth]`, `[gateway]` and `[agents]` settings cannot
//! reach them (listed as not applied), and a regression file's `[bugs]` and
//! expected violations describe stagesim's own backend, not yours, so they
//! are set aside and the file is judged as with `--fixed`. A CI loop over
//! `scenarios/regressions/` then gates a target backend by exit code.

use serde_json::Value;

use crate::scenario::{AgentsConfig, AuthConfig, Bugs, GatewayConfig, Scenario};

/// What a target run leaves out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetNotes {
    /// Settings the target cannot receive, as `[gateway] startup`.
    pub not_applied: Vec<String>,
    /// What was set aside to judge the file as with `--fixed`.
    pub set_aside: Vec<String>,
}

impl TargetNotes {
    /// The notes for `scenario` run against a target.
    pub fn of(scenario: &Scenario) -> TargetNotes {
        let mut not_applied = Vec::new();
        differing(
            "auth",
            &scenario.auth,
            &AuthConfig::default(),
            &mut not_applied,
        );
        differing(
            "gateway",
            &scenario.gateway,
            &GatewayConfig::default(),
            &mut not_applied,
        );
        differing(
            "agents",
            &scenario.agents,
            &AgentsConfig::default(),
            &mut not_applied,
        );
        let mut set_aside = Vec::new();
        differing("bugs", &scenario.bugs, &Bugs::default(), &mut set_aside);
        let expected = scenario.expect.violations.len();
        if expected > 0 {
            set_aside.push(format!("[expect] violations ({expected} expected)"));
        }
        TargetNotes {
            not_applied,
            set_aside,
        }
    }

    /// The lines printed before a target run and in its text report.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if !self.not_applied.is_empty() {
            lines.push(format!(
                "not applied to the target: {}",
                self.not_applied.join(", ")
            ));
        }
        if !self.set_aside.is_empty() {
            lines.push(format!(
                "set aside, judged as with --fixed (they describe stagesim's backend, not yours): {}",
                self.set_aside.join(", ")
            ));
        }
        lines
    }
}

/// Judge `scenario` as with `--fixed`: no defect, no expected violation.
pub fn set_aside(scenario: &mut Scenario) {
    scenario.bugs = Bugs::default();
    scenario.expect.violations.clear();
}

/// `[section] key` for every key of `value` that differs from `default`.
fn differing<T: serde::Serialize>(section: &str, value: &T, default: &T, out: &mut Vec<String>) {
    let (Ok(Value::Object(v)), Ok(Value::Object(d))) =
        (serde_json::to_value(value), serde_json::to_value(default))
    else {
        return;
    };
    for (key, x) in &v {
        if d.get(key) != Some(x) {
            out.push(format!("[{section}] {key}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regression_file_lists_its_settings_and_sets_its_defect_aside() {
        let mut s: Scenario = crate::scenario::parse(
            "name = \"x\"\n[gateway]\nstartup = \"3s\"\n[agents]\ndb_pool = 2\n\
             [bugs]\nunknown_type_crash = true\n[expect]\nviolations = [\"no_1011\"]\n",
            std::path::Path::new("x.toml"),
        )
        .expect("a valid scenario");
        let notes = TargetNotes::of(&s);
        assert_eq!(notes.not_applied, ["[gateway] startup", "[agents] db_pool"]);
        assert_eq!(
            notes.set_aside,
            [
                "[bugs] unknown_type_crash",
                "[expect] violations (1 expected)"
            ]
        );
        set_aside(&mut s);
        assert_eq!(TargetNotes::of(&s).set_aside, Vec::<String>::new());
    }
}
