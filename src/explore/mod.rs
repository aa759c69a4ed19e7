//! Exploration: swarm testing over the valid envelope, on every core,
//! guided by coverage.
//!
//! Data flow: `run number n -> fresh: a proptest RNG seeded from n ->
//! families on or off (swarm) -> a whole scenario and seed from the
//! envelope (crate::envelope); or guided: a mutation of a case kept in the
//! corpus (mutate.rs) -> the bugs asked for switched on -> run -> oracle ->
//! coverage merged, new probe buckets kept (corpus.rs), failures kept ->
//! one failure per signature shrunk (crate::shrink)`.
//!
//! Runs are drawn in generations of [`GENERATION`]: generation g's draws
//! depend only on the corpus after generation g-1, merged in run order, so
//! which case run `n` draws depends on `--start` and `--runs`, never on
//! `--jobs`. Fresh draws are numbered by their own count from `--start`
//! (unguided, that is the run number): fresh draw `m` is the same case on
//! every machine, so `--start m --runs 1` replays it; a mutated one is
//! named by its lineage, and `--replay KEY` redraws it. With `--budget` the runs also depend on
//! the machine's speed, and the report says how many ran. Parallelism is
//! between the runs of a generation and between shrink candidates; every
//! simulation stays single-threaded and deterministic.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rand::RngExt;

use crate::coverage::Coverage;
use crate::envelope::{Case, Families};
use crate::oracle::Verdict;
use crate::scenario::Bugs;
use crate::shrink::{Shrunk, Signature};

mod around;
pub mod corpus;
mod generation;
pub mod mutate;
mod nudge;
pub use around::around;

use corpus::Corpus;
use mutate::Drawn;

/// Failing runs whose scenario is kept, the first in run order; the rest
/// are counted.
pub const MAX_FAILURES_KEPT: usize = 1000;

/// Runs drawn from one state of the corpus. Small, so that a case kept
/// early is mutated soon; not so small that workers idle at each
/// generation's end (the slowest run of 16 sets its pace).
pub const GENERATION: u64 = 16;

/// Guided, after the first generation, every `MUTATE_EVERY`-th run (by its
/// place from `--start`) is drawn as a mutation and the others fresh.
/// Fresh draws are numbered by their own count, so the k-th fresh draw is
/// the very case run `start + k` draws with `--guided off`: a guided
/// exploration of `16 + 2k` runs holds every run of the unguided one of
/// `16 + k`, and its mutations are extra chances (docs/explore.md).
pub const MUTATE_EVERY: u64 = 2;

/// When to stop drawing runs.
#[derive(Debug, Clone, Copy)]
pub enum Stop {
    /// Exactly this many runs (fewer if `until_coverage` stops them).
    Runs(u64),
    /// Until this much wall time has passed (shrinking comes after).
    Budget(Duration),
}

#[derive(Debug, Clone)]
pub struct Options {
    pub stop: Stop,
    /// The first run number.
    pub start: u64,
    pub jobs: usize,
    /// The defects on in every drawn scenario.
    pub bugs: Bugs,
    /// Candidate runs each shrink may spend.
    pub shrink_runs: usize,
    /// Draw around this scenario (`--from`) instead of from the envelope.
    pub from: Option<crate::scenario::Scenario>,
    /// Draw later runs as mutations of the cases kept in the corpus as
    /// well as fresh (`--guided on`); off, every run is drawn fresh.
    pub guided: bool,
    /// `--until-coverage --plateau N`: stop at the run that reaches the
    /// last probe still missing, or after N runs that reach no new probe
    /// or bucket.
    pub until_coverage: Option<u64>,
    /// `--replay KEY`: the one run is the case this lineage names.
    pub replay: Option<Vec<u64>>,
    /// `--schedule`: every run polls each host's ready tasks in this order,
    /// instead of the one drawn from its seed (a third each).
    pub schedule: Option<crate::scenario::Schedule>,
}

impl Options {
    /// `runs` runs from `start`, guided, with nothing else asked for.
    pub fn runs(start: u64, runs: u64, bugs: Bugs, jobs: usize) -> Self {
        Options {
            stop: Stop::Runs(runs),
            start,
            jobs,
            bugs,
            shrink_runs: crate::shrink::DEFAULT_MAX_RUNS,
            from: None,
            guided: true,
            until_coverage: None,
            replay: None,
            schedule: None,
        }
    }
}

/// What run `n` draws fresh: its families and its case, before any bug is
/// on (with `--guided off`, what every run draws).
pub fn draw(n: u64) -> (Families, Case) {
    let drawn = mutate::fresh(n);
    (drawn.families, drawn.case)
}

/// One failing run.
#[derive(Debug, Clone)]
pub struct Failing {
    pub run: u64,
    pub families: Families,
    pub case: Case,
    pub signature: Signature,
    /// Its replay key (`Drawn::key`): the run itself when drawn fresh.
    pub key: String,
    /// Whether it was drawn as a mutation (so `--start run --runs 1` does
    /// not draw it; `--replay key` does).
    pub mutated: bool,
}

/// A distinct failure: every failing run of one signature, the first of
/// them shrunk.
pub struct Found {
    pub first: Failing,
    /// Failing runs with this signature (among those kept).
    pub runs: u64,
    pub shrunk: Shrunk,
}

/// Why `--until-coverage` stopped the runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// At this run, every probe the runs could reach had been reached.
    Covered { at_run: u64 },
    /// At this run, the last `plateau` runs had reached no new probe or
    /// bucket.
    Plateau { at_run: u64, plateau: u64 },
}

pub struct Exploration {
    pub runs: u64,
    pub failed: u64,
    pub found: Vec<Found>,
    pub coverage: Coverage,
    /// Wall time of the runs (shrinking not included).
    pub wall: Duration,
    pub jobs: usize,
    /// Runs drawn as mutations of a kept case.
    pub mutated: u64,
    /// Cases kept in the corpus (each reached a new probe bucket).
    pub kept: usize,
    /// Probe buckets reached (at most four per probe).
    pub buckets: u32,
    /// Set when `--until-coverage` stopped the runs early.
    pub stopped: Option<Stopped>,
}

/// What the progress callback hears of each finished run, as it finishes
/// (in any order): what it drew, the signature of its failure, if it
/// failed, and the probes it reached.
pub struct RunNote<'a> {
    /// What the run drew (its number, replay key and case).
    pub drawn: &'a Drawn,
    pub failure: Option<Signature>,
    pub coverage: &'a Coverage,
}

/// The runs so far, merged in run order.
struct Merged {
    runs: u64,
    failed: u64,
    mutated: u64,
    failing: BTreeMap<u64, Failing>,
    coverage: Coverage,
    corpus: Corpus,
    /// Runs since one last reached a new probe or bucket.
    since_new: u64,
    stopped: Option<Stopped>,
}

/// Draw, run and judge, a generation at a time; then shrink one failing
/// run per signature.
pub fn explore(options: &Options, progress: &(dyn Fn(RunNote<'_>) + Sync)) -> Exploration {
    let started = Instant::now();
    let mut merged = Merged::new();
    let mut jobs = 1;
    let mut planned = 0u64;
    let mut fresh_drawn = 0u64;
    loop {
        let plans = plan_generation(options, planned, &mut fresh_drawn, &merged.corpus);
        if plans.is_empty() {
            break;
        }
        planned += plans.len() as u64;
        let (results, workers) = generation::run_plans(&plans, options, started, progress);
        jobs = jobs.max(workers);
        let complete = results.len() == plans.len();
        for (drawn, (coverage, failing)) in plans.into_iter().zip(results) {
            merged.take(&drawn, &coverage, failing, options);
            if merged.stopped.is_some() {
                break;
            }
        }
        if !complete || merged.stopped.is_some() {
            break;
        }
    }
    let wall = started.elapsed();
    let found = shrink_each(merged.failing.into_values(), options);
    Exploration {
        runs: merged.runs,
        failed: merged.failed,
        found,
        coverage: merged.coverage,
        wall,
        jobs,
        mutated: merged.mutated,
        kept: merged.corpus.kept.len(),
        buckets: merged.corpus.seen.count(),
        stopped: merged.stopped,
    }
}

impl Merged {
    fn new() -> Self {
        Merged {
            runs: 0,
            failed: 0,
            mutated: 0,
            failing: BTreeMap::new(),
            coverage: Coverage::default(),
            corpus: Corpus::default(),
            since_new: 0,
            stopped: None,
        }
    }

    /// One finished run, in run order.
    fn take(
        &mut self,
        drawn: &Drawn,
        coverage: &Coverage,
        failing: Option<Failing>,
        options: &Options,
    ) {
        self.runs += 1;
        self.mutated += u64::from(drawn.lineage.len() > 1);
        self.coverage.merge(coverage);
        if let Some(f) = failing {
            self.failed += 1;
            self.failing.insert(drawn.run, f);
            if self.failing.len() > MAX_FAILURES_KEPT {
                self.failing.pop_last();
            }
        }
        if self.corpus.admit(drawn, coverage) {
            self.since_new = 0;
        } else {
            self.since_new += 1;
        }
        let Some(plateau) = options.until_coverage else {
            return;
        };
        let defects_on = !options.bugs.enabled().is_empty();
        if self.coverage.missing(defects_on).is_empty() {
            self.stopped = Some(Stopped::Covered { at_run: drawn.run });
        } else if self.since_new >= plateau {
            self.stopped = Some(Stopped::Plateau {
                at_run: drawn.run,
                plateau,
            });
        }
    }
}

/// The next generation's draws, after `planned` runs of which `fresh_drawn`
/// were drawn fresh (counted on): at most [`GENERATION`], none past the
/// runs asked for or the last run number.
fn plan_generation(
    options: &Options,
    planned: u64,
    fresh_drawn: &mut u64,
    corpus: &Corpus,
) -> Vec<Drawn> {
    if let Some(key) = &options.replay {
        return match planned {
            0 => vec![mutate::replay(key)],
            _ => Vec::new(),
        };
    }
    let count = match options.stop {
        Stop::Runs(n) => n.saturating_sub(planned).min(GENERATION),
        Stop::Budget(_) => GENERATION,
    };
    (planned..planned + count)
        .map_while(|i| options.start.checked_add(i))
        .map(|n| plan(n, options, corpus, fresh_drawn))
        .collect()
}

/// What run `n` draws: around `--from`'s scenario; fresh, the next of
/// the fresh draws (`start + fresh_drawn`, counted on); or, guided once the
/// corpus holds a case, a mutation of a kept case every
/// [`MUTATE_EVERY`]-th run (rare buckets' cases first: `Corpus::parent`).
fn plan(n: u64, options: &Options, corpus: &Corpus, fresh_drawn: &mut u64) -> Drawn {
    if let Some(base) = &options.from {
        // Around a scenario, no family is drawn: it keeps its own.
        return Drawn {
            run: n,
            lineage: vec![n],
            families: Families::NONE,
            case: around(base, n),
            draft: None,
            how: "around".into(),
        };
    }
    let place = n - options.start;
    if options.guided && !corpus.kept.is_empty() && place % MUTATE_EVERY == MUTATE_EVERY - 1 {
        let pick = crate::seed::rng(n, "explore/guided").random();
        if let Some(parent) = corpus.parent(pick) {
            return mutate::mutate(parent, n);
        }
    }
    // Unguided, every run is fresh and `fresh_drawn` is its place: run `n`
    // draws `fresh(n)`, as explore always drew.
    let mut drawn = mutate::fresh(options.start + *fresh_drawn);
    *fresh_drawn += 1;
    drawn.run = n;
    drawn
}

/// Run `n`'s coverage, and the run if it failed.
fn run_one(drawn: &Drawn, options: &Options) -> (Coverage, Option<Failing>) {
    let mut case = drawn.case.clone();
    case.scenario.bugs = options.bugs;
    if let Some(schedule) = options.schedule {
        case.scenario.world.schedule = schedule;
    }
    let outcome = crate::run::run(&case.scenario, case.seed);
    let coverage = Coverage::of(&outcome.trace);
    let failing = (outcome.verdict == Verdict::Fail).then(|| Failing {
        run: drawn.run,
        families: drawn.families,
        signature: Signature::of(&outcome, &case.scenario).expect("a failed run has a violation"),
        case,
        key: drawn.key(),
        mutated: drawn.lineage.len() > 1,
    });
    (coverage, failing)
}

/// Group the failing runs by signature, in run order, and shrink the first
/// of each group.
fn shrink_each(failing: impl Iterator<Item = Failing>, options: &Options) -> Vec<Found> {
    let mut groups: Vec<(Failing, u64)> = Vec::new();
    for f in failing {
        match groups.iter_mut().find(|(g, _)| g.signature == f.signature) {
            Some((_, runs)) => *runs += 1,
            None => groups.push((f, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(first, runs)| {
            let shrunk = crate::shrink::shrink(
                &first.case.scenario,
                first.case.seed,
                options.jobs,
                options.shrink_runs,
            )
            .unwrap_or_else(|_| {
                panic!(
                    "run {} failed and then passed: not deterministic",
                    first.run
                )
            });
            Found {
                first,
                runs,
                shrunk,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::trace::{Kind, Probe, Recorder};

    /// One run's coverage, reaching `probes` once each.
    fn reaching(probes: &[Probe]) -> Coverage {
        let recorder = Recorder::new();
        let host: Rc<str> = Rc::from("gateway");
        for p in probes {
            recorder.record_at(Duration::ZERO, &host, None, Kind::Probe(*p));
        }
        Coverage::of(&recorder.finish(Duration::from_secs(1)))
    }

    #[test]
    fn until_coverage_stops_at_the_run_that_reaches_the_last_probe() {
        let options = Options {
            until_coverage: Some(100),
            ..Options::runs(1, 10, Bugs::default(), 1)
        };
        let mut m = Merged::new();
        let fixed_backend: Vec<Probe> = Probe::ALL
            .iter()
            .copied()
            .filter(|p| !p.needs_defect())
            .collect();
        let (first, rest) = fixed_backend.split_at(3);
        m.take(&mutate::fresh(1), &reaching(first), None, &options);
        assert_eq!(m.stopped, None);
        m.take(&mutate::fresh(2), &reaching(rest), None, &options);
        assert_eq!(m.stopped, Some(Stopped::Covered { at_run: 2 }));
    }

    #[test]
    fn until_coverage_stops_after_the_plateau_and_not_before() {
        let options = Options {
            until_coverage: Some(2),
            ..Options::runs(1, 10, Bugs::default(), 1)
        };
        let mut m = Merged::new();
        let same = reaching(&[Probe::AuthRetried]);
        m.take(&mutate::fresh(1), &same, None, &options);
        m.take(&mutate::fresh(2), &same, None, &options);
        assert_eq!(
            m.stopped, None,
            "one run without news is not a plateau of 2"
        );
        // A new bucket starts the count again.
        m.take(
            &mutate::fresh(3),
            &reaching(&[Probe::AuthRetried; 2]),
            None,
            &options,
        );
        m.take(&mutate::fresh(4), &same, None, &options);
        assert_eq!(m.stopped, None);
        m.take(&mutate::fresh(5), &same, None, &options);
        assert_eq!(
            m.stopped,
            Some(Stopped::Plateau {
                at_run: 5,
                plateau: 2
            })
        );
        assert_eq!(m.corpus.kept.len(), 2);
    }
}
