//! Same scenario and seed, same trace, byte for byte; another seed, another
//! trace.

use crate::support::{self, reproduce};

#[test]
fn every_scenario_is_deterministic_and_seed_sensitive() {
    let seed = 7;
    for rel in support::scenario_files() {
        let scenario = support::load(&rel);
        let first = stagesim::run::run(&scenario, seed);
        let again = stagesim::run::run(&scenario, seed);
        if first.trace_hash() != again.trace_hash() {
            let a = first.trace.render();
            let b = again.trace.render();
            let line = a
                .lines()
                .zip(b.lines())
                .position(|(x, y)| x != y)
                .unwrap_or(0);
            panic!(
                "{rel} seed {seed} is not deterministic: traces first differ at line {}:\n  {}\n  {}\nreproduce: {}",
                line + 1,
                a.lines().nth(line).unwrap_or(""),
                b.lines().nth(line).unwrap_or(""),
                reproduce(&rel, seed)
            );
        }
        let other = stagesim::run::run(&scenario, seed + 1);
        assert_ne!(
            first.trace_hash(),
            other.trace_hash(),
            "{rel}: seeds {seed} and {} gave the same trace; reproduce: {}",
            seed + 1,
            reproduce(&rel, seed)
        );
    }
}

/// `run --verify`'s comparison finds a planted break of the determinism
/// rules (a tool picked from a `HashMap`'s iteration order, whose seed
/// differs per map) and names the first event where two runs part.
#[test]
fn verify_names_the_first_event_of_a_planted_nondeterminism() {
    use stagesim::run::verify::first_divergence;
    use stagesim::services::mutants::Mutant;
    let rel = "scenarios/golden_path.toml";
    let seed = 1;
    let mut scenario = support::load(rel);
    let clean = (
        stagesim::run::run(&scenario, seed),
        stagesim::run::run(&scenario, seed),
    );
    assert_eq!(first_divergence(&clean.0.trace, &clean.1.trace), None);
    scenario.bugs.mutant = Some(Mutant::HashMapOrder);
    // A map's order is random: a few tries make a difference all but
    // certain (each of 20 users draws tools from three).
    let first = stagesim::run::run(&scenario, seed);
    let parted = (0..5).find_map(|_| {
        let again = stagesim::run::run(&scenario, seed);
        first_divergence(&first.trace, &again.trace)
    });
    let d = parted.unwrap_or_else(|| {
        panic!("five reruns agreed despite the planted HashMap order; reproduce: {} --verify (with Mutant::HashMapOrder set in code)", support::reproduce(rel, seed))
    });
    let described = d.describe();
    assert!(
        described.contains("tool_executing") || described.contains("tool="),
        "the first difference is a tool choice: {described}"
    );
}

/// `stagesim run --verify` on a deterministic run says so and keeps the
/// run's exit code; `--verify=steps` also compares the stepped run; `live`
/// refuses it.
#[test]
fn run_verify_confirms_a_deterministic_run() {
    for (args, words) in [
        (
            &["run", "golden_path", "--seed", "1", "--verify"][..],
            "verified: two runs",
        ),
        (
            &[
                "run",
                "scenarios/gateway_restart.toml",
                "--seed",
                "2",
                "--verify=steps",
            ][..],
            "verified: three runs",
        ),
    ] {
        let (code, _, stderr) = support::stagesim(args);
        let replay = format!("reproduce: stagesim {}", args.join(" "));
        assert_eq!(code, 0, "{stderr}\n{replay}");
        assert!(stderr.contains(words), "{stderr}\n{replay}");
    }
    let (code, _, stderr) = support::stagesim(&["live", "golden_path", "--verify"]);
    assert_eq!(
        code, 2,
        "{stderr}\nreproduce: stagesim live golden_path --verify"
    );
    assert!(stderr.contains("`--verify`"), "{stderr}");
}

/// Logs are for people and never touch the run: with every trace event
/// mirrored to stderr (`RUST_LOG=stagesim::trace=info`) the trace hash is
/// the same, and `serve` says where each service listens at info.
#[test]
fn logs_show_the_run_and_change_no_hash() {
    let run = |rust_log: Option<&str>| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"));
        command.args(["run", "golden_path", "--seed", "1", "--json"]);
        command.env_remove("RUST_LOG");
        if let Some(spec) = rust_log {
            command.env("RUST_LOG", spec);
        }
        let out = command.output().expect("run stagesim");
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("run --json prints JSON");
        (
            json["trace_hash"].clone(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (plain_hash, plain_err) = run(None);
    let (logged_hash, logged_err) = run(Some("stagesim::trace=info"));
    let replay =
        "reproduce: RUST_LOG=stagesim::trace=info stagesim run golden_path --seed 1 --json";
    assert_eq!(plain_hash, logged_hash, "{replay}");
    assert!(
        plain_err.is_empty(),
        "nothing is logged by default: {plain_err}"
    );
    assert!(
        logged_err.contains("stagesim::trace: 0.000s gateway   -         gateway boot 1"),
        "{logged_err:.400}\n{replay}"
    );
    let serve = std::process::Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(["serve", "--listen", "127.0.0.1:0", "--for", "1s"])
        .env("RUST_LOG", "info")
        .output()
        .expect("run stagesim serve");
    let err = String::from_utf8_lossy(&serve.stderr);
    for service in ["lb", "gateway", "auth"] {
        assert!(
            err.contains(&format!(
                "stagesim::serve: {service} listening on 127.0.0.1:"
            )),
            "{err}\nreproduce: RUST_LOG=info stagesim serve --listen 127.0.0.1:0 --for 1s"
        );
    }
}
