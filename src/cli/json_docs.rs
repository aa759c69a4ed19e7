//! The documents `--json` prints, as typed structs: `sweep`, `sweep --bug
//! all`, `shrink`, `diagnose`, `diff` and `bench` fill one of these and
//! serialise it, and [`schema`] derives docs/json-output.schema.json from
//! the same types (`tests/cli.rs` checks the file is what they give).
//!
//! Fields are declared in alphabetical order: the order in which these
//! documents were printed when they were built as `serde_json::Value`s,
//! kept so that every `--json` output stays byte for byte what it was.
//! A run's violations and a coverage table are built by `crate::report`
//! and `crate::coverage` (`ViolationJson`, `CoverageJson`) for `run --json`
//! too; they appear here as JSON values whose schema is those types'.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// Any document a `stagesim ... --json` command prints (`run` and `live`
/// print a [`crate::report::RunJson`], built in `crate::report`; `explore`
/// its own, built in `super::explore`).
#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)] // Only its schema is used.
enum JsonOutput {
    Sweep(SweepJson),
    Screen(ScreenJson),
    Shrink(ShrinkJson),
    Diagnose(DiagnoseJson),
    Diff(DiffJson),
    Bench(BenchJson),
    Run(crate::report::RunJson),
    Explore(super::explore_report::ExploreJson),
}

/// The JSON Schema of every document above, pretty-printed, ending in a
/// newline: the text of docs/json-output.schema.json.
pub fn schema() -> String {
    let schema = schemars::schema_for!(JsonOutput);
    let text = serde_json::to_string_pretty(&schema).expect("a schema is JSON");
    format!("{text}\n")
}

/// `doc` as one line of JSON and a newline, as every `--json` prints it.
pub fn line<T: Serialize>(doc: &T) -> String {
    format!(
        "{}\n",
        serde_json::to_string(doc).expect("plain structs serialise")
    )
}

/// `stagesim sweep --json`.
#[derive(Serialize, JsonSchema)]
pub struct SweepJson {
    /// Probes reached over the whole sweep (as `coverage` of `run --json`).
    #[schemars(with = "crate::coverage::CoverageJson")]
    pub coverage: Value,
    pub failed: u64,
    /// The failing runs kept (the first 1,000 in scenario and seed order).
    pub failing_seeds: Vec<FailingSeedJson>,
    /// Failing runs beyond those listed.
    pub failing_seeds_not_listed: u64,
    pub jobs: usize,
    /// Regression scenarios (their files) that reproduced on no seed.
    pub regressions_not_reproduced: Vec<String>,
    /// Where the failing seeds' HTML reports were written (`--report-dir`).
    pub report_dir: Option<String>,
    pub reproduced: u64,
    pub runs: usize,
    /// Runs per wall-clock second over all jobs, to two decimals.
    pub runs_per_sec: f64,
    pub scenarios: Vec<SweepScenarioJson>,
    /// How many seeds each scenario ran on.
    pub seeds: usize,
    /// `I/N`.
    pub shard: String,
}

/// One failing run of a sweep.
#[derive(Serialize, JsonSchema)]
pub struct FailingSeedJson {
    pub file: String,
    /// Its HTML report, when `--report-dir` was given.
    pub report: Option<String>,
    /// The command that replays it.
    pub reproduce: String,
    pub scenario: String,
    pub seed: u64,
    /// As `violations` of `run --json` (at most 20 kept per run).
    #[schemars(with = "Vec<crate::report::ViolationJson>")]
    pub violations: Vec<Value>,
    pub violations_not_listed: usize,
}

/// One scenario's counts over a sweep.
#[derive(Serialize, JsonSchema)]
pub struct SweepScenarioJson {
    /// Close code -> how many users recorded it, over every seed.
    pub close_codes: BTreeMap<String, u64>,
    #[schemars(with = "crate::coverage::CoverageJson")]
    pub coverage: Value,
    pub fail: u64,
    pub file: String,
    /// Earliest unexpected violation, in simulated ms (null: none).
    pub first_violation_ms: Option<u64>,
    /// `[[users]]` groups (numbered from 1) the unexpected violations hit.
    pub groups_hit: Vec<usize>,
    pub last_violation_ms: Option<u64>,
    pub pass: u64,
    pub reproduced: u64,
    pub reproducing_seeds: Vec<u64>,
    pub runs: u64,
    pub scenario: String,
}

/// `stagesim sweep --bug all --json`: which scenarios caught each defect.
#[derive(Serialize, JsonSchema)]
pub struct ScreenJson {
    /// Defect name -> the scenarios that caught it.
    pub bugs: BTreeMap<String, BugJson>,
    pub jobs: usize,
    /// Defects no scenario caught.
    pub not_caught: Vec<String>,
    pub runs: usize,
    pub runs_per_sec: f64,
    /// The scenario files screened.
    pub scenarios: Vec<String>,
    pub seeds: usize,
    pub shard: String,
}

#[derive(Serialize, JsonSchema)]
pub struct BugJson {
    pub caught_by: Vec<CatchJson>,
}

/// One scenario that caught a defect.
#[derive(Serialize, JsonSchema)]
pub struct CatchJson {
    /// How many seeds caught it.
    pub failing_seeds: u64,
    pub file: String,
    pub first_failing_seed: u64,
    /// The command that replays the first catch.
    pub reproduce: String,
    pub scenario: String,
}

/// `stagesim shrink --json`: the smallest scenario found.
#[derive(Serialize, JsonSchema)]
pub struct ShrinkJson {
    /// Runs tried while shrinking.
    pub candidate_runs: usize,
    pub cause: String,
    pub component: Option<String>,
    /// Whether the shrunk scenario passes with every bug off.
    pub fixed_passes: bool,
    pub reproduce: String,
    /// The file the shrunk scenario was written to.
    pub scenario: String,
    pub seed: u64,
    /// Each step that made it smaller.
    pub steps: Vec<String>,
    #[schemars(with = "Vec<crate::report::ViolationJson>")]
    pub violations: Vec<Value>,
}

/// `stagesim diagnose --json`: the mechanisms, best first.
#[derive(Serialize, JsonSchema)]
pub struct DiagnoseJson {
    /// Whether the best scores at least 0.8 (a mechanism of the catalogue).
    pub matched: bool,
    pub ranking: Vec<MechanismJson>,
}

#[derive(Serialize, JsonSchema)]
pub struct MechanismJson {
    /// Seeds scoring at least 0.8.
    pub close_seeds: u64,
    /// A defect's name, or `none` (every defect off).
    pub mechanism: String,
    /// The `stagesim run` line of its best seed.
    pub run: String,
    pub score: f64,
    pub seeds: u64,
}

/// `stagesim diff --json`: each user whose story ends differently.
#[derive(Serialize, JsonSchema)]
pub struct DiffJson {
    /// Run A's name (its trace file, or scenario and seed).
    pub a: String,
    pub b: String,
    /// Users whose events part but whose stories end the same.
    pub part_on_the_way: usize,
    pub users: Vec<PartingJson>,
}

/// One user's parting; each pair is (A, B), trace lines as rendered.
#[derive(Serialize, JsonSchema)]
pub struct PartingJson {
    /// Its own events from the divergence to the violation.
    pub chain: [Vec<String>; 2],
    /// How its story ends (null: nothing recorded).
    pub ends: [Option<String>; 2],
    pub faults: [Vec<String>; 2],
    /// The first of its own events that differs (null: no more events).
    pub first: [Option<String>; 2],
    pub servers: [Vec<String>; 2],
    pub user: String,
}

/// `stagesim bench --json`: the figures of docs/performance.md.
#[derive(Serialize, JsonSchema)]
pub struct BenchJson {
    /// The shipped scenario at scale (`--at-scale`); null with `--quick`.
    pub at_scale: Option<AtScaleJson>,
    pub compression: Vec<CompressionJson>,
    pub cores: usize,
    pub explore: ExploreJson,
    pub golden_path_by_tick: Vec<TickJson>,
    /// The machine's load when bench started and when it ended.
    pub load_average: LoadAverageJson,
    pub property_cases: PropertyCasesJson,
    pub scale: ScaleJson,
    /// Null with `--quick`.
    pub soak: Option<SoakJson>,
    pub throughput: ThroughputJson,
}

/// Guided `explore` runs from run 1, every defect off, on every core.
#[derive(Serialize, JsonSchema)]
pub struct ExploreJson {
    /// Runs that failed (0 unless the backend without defects is wrong).
    pub failed: u64,
    pub jobs: usize,
    /// Runs per CPU second of the whole process (every worker thread).
    pub per_cpu_s: f64,
    /// Runs per wall second.
    pub per_s: f64,
    pub runs: u64,
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`; null where the
/// system has none).
#[derive(Serialize, JsonSchema)]
pub struct LoadAverageJson {
    pub end: Option<[f64; 3]>,
    pub start: Option<[f64; 3]>,
}

/// Time compression of one scenario, both ways (best of 10), by wall time
/// and by the CPU time of the thread that ran it.
#[derive(Serialize, JsonSchema)]
pub struct CompressionJson {
    /// Simulated seconds per CPU second, fast-forwarded.
    pub cpu_ratio: f64,
    pub cpu_s: f64,
    /// Every-tick CPU time over fast-forward CPU time, measured side by side.
    pub cpu_speedup: f64,
    pub every_tick_cpu_ratio: f64,
    pub every_tick_cpu_s: f64,
    pub every_tick_ratio: f64,
    pub every_tick_wall_s: f64,
    /// Simulated seconds per wall second, fast-forwarded.
    pub ratio: f64,
    pub scenario: String,
    pub sim_s: f64,
    pub speedup: f64,
    pub users: usize,
    pub wall_s: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct TickJson {
    pub cpu_ratio: f64,
    pub cpu_s: f64,
    pub ratio: f64,
    pub tick_ms: u64,
    pub wall_s: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct PropertyCasesJson {
    pub cases: usize,
    pub cpu_speedup: f64,
    /// Cases whose verdicts differ between the two ways.
    pub disagreements: usize,
    pub every_tick_cpu_s: f64,
    pub every_tick_per_s: f64,
    pub fast_cpu_s: f64,
    pub fast_per_s: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct ThroughputJson {
    pub jobs: usize,
    /// Runs per wall second.
    pub many_jobs: f64,
    /// Runs per CPU second of the whole process (every worker thread).
    pub many_jobs_per_cpu_s: f64,
    pub one_job: f64,
    pub one_job_per_cpu_s: f64,
    pub seeds: usize,
    pub speedup: f64,
}

#[derive(Serialize, JsonSchema)]
pub struct ScaleJson {
    /// The slope between the smallest and the largest point (null if flat).
    pub kib_per_connected_user: Option<f64>,
    pub points: Vec<ScalePointJson>,
}

/// A scenario file run at scale in a child process: the CPU time of its run
/// and verdict, and the child's peak memory.
#[derive(Serialize, JsonSchema)]
pub struct AtScaleJson {
    /// The scenario file, as given to `--at-scale`.
    pub file: String,
    /// Its name.
    pub name: String,
    pub point: ScalePointJson,
}

/// One scale point, measured in a child process.
#[derive(Serialize, JsonSchema)]
pub struct ScalePointJson {
    /// CPU time of the thread that ran the simulation.
    pub cpu_ms: u64,
    pub peak_connected: u64,
    pub peak_rss_kib: u64,
    pub sim_ms: u64,
    pub users: u32,
    pub verdict: String,
    pub wall_ms: u64,
}

impl From<&crate::bench::ScalePoint> for ScalePointJson {
    fn from(p: &crate::bench::ScalePoint) -> Self {
        ScalePointJson {
            cpu_ms: p.cpu_ms,
            peak_connected: p.peak_connected,
            peak_rss_kib: p.peak_rss_kib,
            sim_ms: p.sim_ms,
            users: p.users,
            verdict: p.verdict.clone(),
            wall_ms: p.wall_ms,
        }
    }
}

#[derive(Serialize, JsonSchema)]
pub struct SoakJson {
    pub cpu_ratio: f64,
    pub cpu_s: f64,
    pub cpu_speedup: f64,
    pub every_tick_cpu_ratio: f64,
    pub every_tick_cpu_s: f64,
    pub every_tick_verdict: String,
    pub every_tick_wall_s: f64,
    pub ratio: f64,
    pub sim_s: f64,
    pub speedup: f64,
    pub tick_ms: u64,
    pub verdict: String,
    pub wall_s: f64,
}
