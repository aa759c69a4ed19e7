//! `stagesim diagnose SCENARIO --observed RUN.json|DIR [--seeds N] [--json]`:
//! which catalogued mechanism explains an observed failure
//! (`crate::diagnose`). DIR is a `stagesim record` directory: its
//! `observed.json`, or, if the recording was cut short, its
//! `observed.jsonl` judged again.
//!
//! Arguments -> the scenario (file or built-in name) and the observed
//! run's `--json` -> every mechanism on seeds 1..=N -> a ranking on stdout,
//! best first, with the `run` line of each mechanism's best seed.

use std::path::{Path, PathBuf};

use clap::Args;

use super::json_docs::{DiagnoseJson, MechanismJson};
use super::source::Source;
use super::{UsageError, out, values};
use crate::diagnose::{CLOSE, Match, Signature, rank};
use crate::sweep::shell_word;

#[derive(Args, Debug)]
pub struct DiagnoseArgs {
    /// The scenario the failure happened under (file or built-in name).
    pub scenario: PathBuf,
    /// What was observed: the output of `stagesim run ... --json` (or
    /// `live --json`), or a `stagesim record` directory (its
    /// `observed.json`, else its `observed.jsonl`).
    #[arg(long, value_name = "FILE")]
    pub observed: PathBuf,
    /// Seeds per mechanism, 1 to 1000.
    #[arg(long, default_value_t = 10, value_parser = seeds)]
    pub seeds: u64,
    /// Print one JSON object instead of the text.
    #[arg(long)]
    pub json: bool,
}

fn seeds(text: &str) -> Result<u64, String> {
    values::whole("--seeds", 1, 1000, "", text)
}

pub fn execute(args: DiagnoseArgs) -> Result<u8, UsageError> {
    let source = Source::resolve(&args.scenario)?;
    let scenario = source.load("diagnose")?;
    let observed = observed(&args.observed)?;
    let ranked = rank(&scenario, &observed, args.seeds);
    let line = |m: &Match| {
        let bug = match m.mechanism {
            "none" => " --fixed".to_string(),
            name => format!(" --fixed --bug {name}"),
        };
        format!(
            "stagesim run {} --seed {}{bug}",
            shell_word(&source.display()),
            m.best_seed
        )
    };
    if args.json {
        let ranking = ranked
            .iter()
            .map(|m| MechanismJson {
                close_seeds: m.close_seeds,
                mechanism: m.mechanism.to_string(),
                run: line(m),
                score: m.best_score,
                seeds: args.seeds,
            })
            .collect();
        out(&super::json_docs::line(&DiagnoseJson {
            matched: ranked[0].best_score >= CLOSE,
            ranking,
        }));
        return Ok(0);
    }
    let mut t = format!(
        "observed: {} cause(s) ({}), {} user(s) hit\n",
        observed.causes.len(),
        observed
            .causes
            .iter()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        observed.users_hit.len()
    );
    for (i, m) in ranked.iter().take(3).enumerate() {
        t.push_str(&format!(
            "{}. {:<30} score {:.2}, close on {} of {} seeds\n   {}\n",
            i + 1,
            m.mechanism,
            m.best_score,
            m.close_seeds,
            args.seeds,
            line(m)
        ));
    }
    if ranked[0].best_score < CLOSE {
        t.push_str(&format!(
            "nothing in the catalogue comes within {CLOSE} of it: an uncatalogued mechanism. \
             Explore around this scenario: stagesim explore --from {}\n",
            shell_word(&source.display())
        ));
    }
    out(&t);
    Ok(0)
}

fn observed(path: &Path) -> Result<Signature, UsageError> {
    use crate::record::{JOURNAL, OBSERVED};
    let file = if path.is_dir() {
        let (json, journal) = (path.join(OBSERVED), path.join(JOURNAL));
        if !json.exists() && journal.exists() {
            let value = crate::record::observed_of_journal(path)
                .map_err(|e| UsageError(format!("error: {e}")))?;
            return Signature::of_json(&value)
                .map_err(|e| UsageError(format!("error: {}: {e}", journal.display())));
        }
        if !json.exists() {
            return Err(UsageError(format!(
                "error: {} holds neither {OBSERVED} nor {JOURNAL}: give a `run --json` file or \
                 a directory `stagesim record --out` wrote",
                path.display()
            )));
        }
        json
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| UsageError(format!("error: cannot read {}: {e}", file.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        UsageError(format!(
            "error: {}: not JSON ({e}); expected `stagesim run ... --json`",
            file.display()
        ))
    })?;
    Signature::of_json(&value).map_err(|e| UsageError(format!("error: {}: {e}", file.display())))
}
