//! Hostile input: no scenario file makes stagesim panic, abort, hang or
//! print without bound.
//!
//! Two parts: a table of the extreme cases a tester found (each run through
//! the binary: exit 0, 1 or 2, no panic text, a located message for exit
//! 2), and seeded mutations of every shipped scenario (parsed in-process
//! under `catch_unwind`; the small ones that still parse are simulated).
//! A failure names the mutant's seed and index and writes the file under
//! `target/hostile/` so it can be replayed with `stagesim run`.

#[path = "support/mod.rs"]
mod support;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

/// Where mutants and extreme files are written.
fn scratch(dir: &str) -> PathBuf {
    let p = support::path("target/hostile").join(dir);
    std::fs::create_dir_all(&p).expect("create target/hostile");
    p
}

/// Run the binary with a watchdog: a run that outlives `limit` is a hang.
fn run_binary(args: &[&str], limit: Duration) -> (i32, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stagesim"))
        .args(args)
        .current_dir(support::path(""))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the stagesim binary");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for stagesim") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("stagesim {args:?} still running after {limit:?}: a hang");
        }
        std::thread::yield_now();
    };
    (
        status.code().unwrap_or(-1),
        reader.join().unwrap_or_default(),
    )
}

/// One extreme case: the file's text (named `name`), the exit code, and
/// words its message must contain.
struct Extreme {
    name: &'static str,
    text: Vec<u8>,
    exit: i32,
    words: &'static [&'static str],
}

fn extreme(name: &'static str, text: &str, exit: i32, words: &'static [&'static str]) -> Extreme {
    Extreme {
        name,
        text: text.as_bytes().to_vec(),
        exit,
        words,
    }
}

fn extremes() -> Vec<Extreme> {
    let users = |n: &str| format!("[[users]]\ncount = {n}\n");
    let long_token = format!("[[users]]\ntoken = \"{}\"\n", "x".repeat(900_000));
    let mut huge_value = b"description = \"".to_vec();
    huge_value.extend(std::iter::repeat_n(b'x', 10_000_000));
    huge_value.extend(b"\"\nduration = 5\n");
    vec![
        extreme(
            "backoff_overflow",
            "duration = \"60s\"\n[gateway]\nstartup = \"20s\"\n[[users]]\nreconnect = { attempts = 11, backoff = \"18446744073709551615ms\" }\n",
            2,
            &["too large", "at most \"1000h\""],
        ),
        extreme("users_100001", &users("100001"), 2, &["at most 100000"]),
        extreme("users_200000", &users("200000"), 2, &["at most 100000"]),
        extreme("users_1e9", &users("1000000000"), 2, &["at most 100000"]),
        extreme(
            "users_u32_overflow",
            &users("99999999999"),
            2,
            &["from 0 to 4294967295"],
        ),
        // Two users who could never send 4 billion messages in 5 s: they
        // stop at the heal with every sent message answered (a pass; before
        // the heal phase the end cut them short and they were `unanswered`).
        extreme(
            "messages_u32_max",
            "duration = \"5s\"\n[[users]]\ncount = 2\nmessages = 4294967295\n",
            0,
            &[],
        ),
        extreme(
            "between_three_hosts",
            "[[faults]]\nkind = \"partition\"\nbetween = [\"gateway\", \"auth\", \"lb\"]\nat = \"1s\"\nfor = \"1s\"\n",
            2,
            &["expected an array of two elements"],
        ),
        extreme(
            "table_as_array",
            "gateway = [\"5s\", 0, \"1s\", \"30s\", 1000]\n",
            2,
            &["`gateway` is an array; expected a table"],
        ),
        extreme(
            "users_as_arrays",
            "users = [[3, \"expired\"]]\n",
            2,
            &["expected a table"],
        ),
        extreme(
            "reconnect_empty_array",
            "[[users]]\nreconnect = []\n",
            2,
            &["expected a table"],
        ),
        extreme(
            "duration_1000h_at_1ms",
            "duration = \"1000h\"\n",
            2,
            &["simulation steps"],
        ),
        extreme("tick_zero", "[network]\ntick = \"0ms\"\n", 2, &["`tick`"]),
        Extreme {
            name: "not_utf8",
            text: b"description = \"\xff\xfe\"\n".to_vec(),
            exit: 2,
            words: &["not UTF-8"],
        },
        Extreme {
            name: "long_wrong_value",
            text: long_token.into_bytes(),
            exit: 2,
            words: &["unknown token kind", "more characters"],
        },
        Extreme {
            name: "ten_megabyte_value",
            text: huge_value,
            exit: 2,
            words: &["larger than 1048576 bytes"],
        },
    ]
}

#[test]
fn a_device_or_fifo_is_refused_without_reading_it() {
    let (code, stderr) = run_binary(&["run", "/dev/zero"], Duration::from_secs(60));
    assert_eq!(code, 2, "{stderr}\nreplay: stagesim run /dev/zero");
    assert!(stderr.contains("not a regular file"), "{stderr}");
}

#[test]
fn extreme_files_exit_cleanly_with_located_messages() {
    let dir = scratch("extreme");
    for case in extremes() {
        let file = dir.join(format!("{}.toml", case.name));
        let mut text = format!("name = \"{}\"\n", case.name).into_bytes();
        text.extend(&case.text);
        std::fs::write(&file, &text).expect("write the case");
        let shown = file.display().to_string();
        let (code, stderr) = run_binary(&["run", &shown, "--seed", "1"], Duration::from_secs(120));
        let replay = format!("replay: stagesim run {shown} --seed 1");
        assert!(
            !stderr.contains("panicked"),
            "{}: {stderr}\n{replay}",
            case.name
        );
        assert_eq!(code, case.exit, "{}: {stderr}\n{replay}", case.name);
        assert!(
            stderr.len() < 4_000,
            "{}: {} bytes of stderr\n{replay}",
            case.name,
            stderr.len()
        );
        for word in case.words {
            assert!(
                stderr.contains(word),
                "{}: lacks {word:?}:\n{stderr}\n{replay}",
                case.name
            );
        }
        if code == 2 && case.name != "ten_megabyte_value" {
            let located = format!("{}:", shown);
            assert!(
                stderr.contains(&located) && stderr.contains(" --> "),
                "{}: no file:line:col in\n{stderr}\n{replay}",
                case.name
            );
        }
    }
}

/// Values a mutation puts where another value was.
const ODD_VALUES: [&str; 16] = [
    "0",
    "-1",
    "4294967296",
    "18446744073709551616",
    "1e308",
    "nan",
    "\"\"",
    "\"0ms\"",
    "\"1000h\"",
    "\"99999999999h\"",
    "[]",
    "{}",
    "[\"gateway\", \"gateway\"]",
    "true",
    "\"clients\"",
    "\"\u{1F600}\"",
];

/// One seeded mutation of `text`: a line deleted or repeated, a value
/// replaced, the file cut short, or bytes inserted.
fn mutate(text: &str, rng: &mut StdRng) -> Vec<u8> {
    let lines: Vec<&str> = text.lines().collect();
    let pick = rng.random_range(0..lines.len().max(1));
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    match rng.random_range(0..5u8) {
        0 if !out.is_empty() => {
            out.remove(pick);
        }
        1 if !out.is_empty() => {
            let line = out[pick].clone();
            out.insert(pick, line);
        }
        2 => {
            let odd = ODD_VALUES[rng.random_range(0..ODD_VALUES.len())];
            if let Some(line) = out.get_mut(pick)
                && let Some((key, _)) = line.split_once(" = ")
            {
                *line = format!("{key} = {odd}");
            }
        }
        3 => {
            let cut = rng.random_range(0..=text.len());
            return text.as_bytes()[..cut].to_vec();
        }
        _ => {
            let at = rng.random_range(0..=text.len());
            let mut bytes = text.as_bytes().to_vec();
            let noise: [u8; 4] = [b'[', 0xff, b'"', b'\n'];
            bytes.insert(at, noise[rng.random_range(0..noise.len())]);
            return bytes;
        }
    }
    (out.join("\n") + "\n").into_bytes()
}

/// Mutants per shipped scenario, and how many that still parse are
/// simulated (the small ones), so that the test stays within seconds.
const MUTANTS_PER_FILE: usize = 40;
const SIMULATED_MAX: usize = 25;
/// The seed of the mutation stream.
const MUTATION_SEED: u64 = 20_261_125;

#[test]
fn seeded_mutations_of_every_shipped_scenario_never_panic() {
    let mut rng = StdRng::seed_from_u64(MUTATION_SEED);
    let dir = scratch("mutants");
    let mut simulated = 0;
    let mut refused = 0;
    for rel in support::scenario_files() {
        let original = std::fs::read_to_string(support::path(&rel)).expect("read scenario");
        let stem = Path::new(&rel)
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        for k in 0..MUTANTS_PER_FILE {
            let bytes = mutate(&original, &mut rng);
            let case = dir.join(format!("{stem}-{k}"));
            std::fs::create_dir_all(&case).expect("mutant dir");
            let file = case.join(format!("{stem}.toml"));
            std::fs::write(&file, &bytes).expect("write mutant");
            let replay = format!(
                "mutant {k} of {rel} (seed {MUTATION_SEED}); replay: stagesim run {}",
                file.display()
            );
            let loaded = catch_unwind(|| stagesim::scenario::load(&file))
                .unwrap_or_else(|_| panic!("loading panicked: {replay}"));
            let scenario = match loaded {
                Err(e) => {
                    let readable = e.line.is_some() && e.column.is_some();
                    assert!(readable, "unlocated error {e}: {replay}");
                    refused += 1;
                    continue;
                }
                Ok(s) => s,
            };
            let users: u64 = scenario.users.iter().map(|g| u64::from(g.count)).sum();
            let small = users <= 50 && scenario.duration <= Duration::from_secs(300);
            if small && simulated < SIMULATED_MAX {
                simulated += 1;
                catch_unwind(AssertUnwindSafe(|| stagesim::run::run(&scenario, 1)))
                    .unwrap_or_else(|_| panic!("the simulation panicked: {replay} --seed 1"));
            }
        }
    }
    assert!(simulated > 0, "no mutant was simulated");
    assert!(
        refused > 0,
        "no mutant was refused: the mutations do nothing"
    );
}
