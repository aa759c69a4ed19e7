//! The shipped scenario files, built into the binary.
//!
//! Source of scenario text beside the file system, at the head of the data
//! flow: shipped table -> [`Shipped::load`] (the same `parse` as a file) ->
//! validated `Scenario`. It lets an installed `stagesim` run `golden_path`
//! or `regressions/unknown_type_crash`, list them and write them out from
//! any directory, without the checkout (`src/cli/source.rs` decides when a
//! command line names one of them).
//!
//! The table is written by hand, one line per file, so that what the binary
//! carries is visible in review; the test at the bottom fails when a file
//! under `scenarios/` is missing from it, or differs from it, so it cannot
//! drift from the directory.

use std::path::{Path, PathBuf};

use super::{Scenario, ScenarioError};

/// One scenario file of `scenarios/`, as it was when the binary was built.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// The path below `scenarios/`, e.g. `regressions/unknown_type_crash.toml`:
    /// the layout `stagesim scenarios export` recreates.
    pub path: &'static str,
    /// The file's text.
    pub text: &'static str,
}

/// One table entry per file: its path below `scenarios/` and its text.
macro_rules! shipped {
    ($($path:literal),* $(,)?) => {
        &[$(Shipped {
            path: $path,
            text: include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/", $path)),
        }),*]
    };
}

/// Every file under `scenarios/`, sorted by path.
pub const SHIPPED: &[Shipped] = shipped![
    "db_contention.toml",
    "deploy_under_load.toml",
    "gateway_restart.toml",
    "golden_path.toml",
    "header_stripping.toml",
    "invalid_tokens.toml",
    "many_users.toml",
    "misbehaving_users.toml",
    "partition_gateway_auth.toml",
    "regressions/auth_failure_closes_1011.toml",
    "regressions/header_only_token.toml",
    "regressions/missing_component_at_runtime.toml",
    "regressions/no_auth_retry.toml",
    "regressions/orchestrator_singleton.toml",
    "regressions/pool_exhaustion_error.toml",
    "regressions/serialization_failure.toml",
    "regressions/shared_user_context.toml",
    "regressions/staging_auth_bypass.toml",
    "regressions/unknown_type_crash.toml",
    "slow_agent_startup.toml",
    "slow_auth_startup.toml",
];

/// The name the default run (`stagesim` with no arguments) and `bench` use.
pub const GOLDEN_PATH: &str = "golden_path";

impl Shipped {
    /// The name a command line uses for it: the path without `.toml`
    /// (`golden_path`, `regressions/unknown_type_crash`).
    pub fn name(&self) -> &'static str {
        self.path.strip_suffix(".toml").unwrap_or(self.path)
    }

    /// Where the file sits in a checkout (`scenarios/golden_path.toml`): the
    /// path error messages name, and whose stem `parse` matches against the
    /// scenario's `name`.
    pub fn checkout_path(&self) -> PathBuf {
        Path::new("scenarios").join(self.path)
    }

    /// Parse and validate it, exactly as `scenario::load` does a file.
    pub fn load(&self) -> Result<Scenario, ScenarioError> {
        super::parse(self.text, &self.checkout_path())
    }
}

/// The shipped scenario called `name` (see [`Shipped::name`]).
pub fn find(name: &str) -> Option<&'static Shipped> {
    SHIPPED.iter().find(|s| s.name() == name)
}

/// The shipped scenarios a mistyped `name` most likely meant, for an error
/// message: the one it names as a checkout path (`scenarios/golden_path.toml`,
/// `golden_path.toml`), else those whose last part contains it or is
/// contained in it (`unknown_type_crash`, `golden`), or is at most two edits
/// away (`golden_pth`).
pub fn near_misses(name: &str) -> Vec<&'static Shipped> {
    let bare = name.trim_start_matches("./");
    let bare = bare.strip_prefix("scenarios/").unwrap_or(bare);
    let bare = bare.strip_suffix(".toml").unwrap_or(bare);
    if let Some(exact) = find(bare) {
        return vec![exact];
    }
    let wanted = last_part(bare);
    SHIPPED
        .iter()
        .filter(|s| {
            let have = last_part(s.name());
            (wanted.len() >= 3 && (have.contains(wanted) || wanted.contains(have)))
                || super::serde_errors::edit_distance(wanted, have) <= 2
        })
        .collect()
}

/// `regressions/unknown_type_crash` -> `unknown_type_crash`.
fn last_part(name: &str) -> &str {
    name.rsplit('/').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every file under `dir` (any extension), by path relative to `top`.
    fn files_under(top: &Path, dir: &Path, found: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("scenarios/ is readable") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                files_under(top, &path, found);
                continue;
            }
            let rel = path.strip_prefix(top).expect("below scenarios/");
            // Forward slashes whatever the platform, as in the table.
            let rel: Vec<_> = rel.iter().map(|c| c.to_string_lossy()).collect();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{} is not UTF-8 text: {e}", path.display()));
            found.insert(rel.join("/"), text);
        }
    }

    #[test]
    fn the_table_is_exactly_the_scenarios_directory() {
        let top = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut on_disk = BTreeMap::new();
        files_under(&top, &top, &mut on_disk);
        let table: BTreeMap<String, String> = SHIPPED
            .iter()
            .map(|s| (s.path.to_string(), s.text.to_string()))
            .collect();
        for (path, text) in &on_disk {
            match table.get(path) {
                None => panic!(
                    "scenarios/{path} is not built into the binary: add \"{path}\" to SHIPPED \
                     in src/scenario/shipped.rs (reproduce: cargo test --locked --lib shipped)"
                ),
                Some(embedded) => assert!(
                    embedded == text,
                    "scenarios/{path} differs from the copy built into this test binary: \
                     rebuild (reproduce: cargo test --locked --lib shipped)"
                ),
            }
        }
        let gone: Vec<&String> = table.keys().filter(|p| !on_disk.contains_key(*p)).collect();
        assert!(
            gone.is_empty(),
            "in SHIPPED but not under scenarios/: {gone:?}"
        );
        let paths: Vec<&str> = SHIPPED.iter().map(|s| s.path).collect();
        assert!(paths.is_sorted(), "keep SHIPPED sorted by path: {paths:?}");
    }

    #[test]
    fn every_shipped_scenario_loads_under_its_name() {
        for shipped in SHIPPED {
            let scenario = shipped.load().unwrap_or_else(|e| panic!("{}", e.render()));
            let stem = shipped.name().rsplit('/').next().unwrap_or_default();
            assert_eq!(scenario.name, stem, "{}", shipped.path);
            assert_eq!(find(shipped.name()).map(|s| s.path), Some(shipped.path));
        }
        assert!(find(GOLDEN_PATH).is_some());
        assert!(find("golden_path.toml").is_none());
    }

    #[test]
    fn near_misses_are_what_was_most_likely_meant() {
        let names =
            |typed: &str| -> Vec<&str> { near_misses(typed).iter().map(|s| s.name()).collect() };
        assert_eq!(names("scenarios/golden_path.toml"), ["golden_path"]);
        assert_eq!(names("./golden_path.toml"), ["golden_path"]);
        assert_eq!(names("golden_pth"), ["golden_path"]);
        assert_eq!(names("golden"), ["golden_path"]);
        assert_eq!(
            names("unknown_type_crash"),
            ["regressions/unknown_type_crash"]
        );
        assert!(names("no_such_thing_at_all").is_empty());
    }
}
