//! Shrinking: a failing scenario becomes the smallest scenario that still
//! fails, on the same seed, with the same cause.
//!
//! Data flow: `scenario + seed -> run -> the failure's signature (cause and
//! blamed component) -> rounds of candidates (candidates.rs: each one step
//! smaller) -> run each, keep the first that fails the same way -> repeat
//! until no step keeps the failure or the run budget is spent`.
//!
//! Used by `stagesim shrink` on a file a developer wrote and by `stagesim
//! explore` on every failure it finds. A candidate is written as a scenario
//! file and read back before it runs, so what is kept always loads; the
//! candidates of a round run `jobs` at a time, and the first in list order
//! that keeps the failure wins, so the result does not depend on `jobs`.

mod candidates;

use std::time::Duration;

use crate::oracle::{Verdict, Violation};
use crate::run::Outcome;
use crate::scenario::{Cause, Scenario};
use crate::trace::Component;

/// Candidate runs one shrink may spend unless told otherwise.
pub const DEFAULT_MAX_RUNS: usize = 400;

/// What "fails the same way" means: a violation of the same cause, blaming
/// the same component (for a 1011), that the scenario does not expect (or,
/// for a scenario that expected every violation it got, one it expects).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signature {
    pub cause: Cause,
    pub component: Option<Component>,
    /// The run failed with an unexpected violation (verdict `fail`), rather
    /// than reproducing an expected one.
    pub unexpected: bool,
}

impl Signature {
    /// The signature of a run that did not pass: its first unexpected
    /// violation, else its first violation.
    pub fn of(outcome: &Outcome, scenario: &Scenario) -> Option<Signature> {
        let unexpected = outcome.verdict == Verdict::Fail;
        let v = outcome
            .violations
            .iter()
            .find(|v| !crate::oracle::is_expected(&scenario.expect, v))
            .or(outcome.violations.first())?;
        (outcome.verdict != Verdict::Pass).then_some(Signature {
            cause: v.cause,
            component: v.component,
            unexpected,
        })
    }

    /// The violations of `outcome` this signature names.
    pub fn matching<'a>(
        &self,
        outcome: &'a Outcome,
        scenario: &'a Scenario,
    ) -> impl Iterator<Item = &'a Violation> {
        let me = *self;
        outcome.violations.iter().filter(move |v| {
            v.cause == me.cause
                && v.component == me.component
                && me.unexpected != crate::oracle::is_expected(&scenario.expect, v)
        })
    }

    /// Whether `outcome` fails the same way.
    pub fn holds(&self, outcome: &Outcome, scenario: &Scenario) -> bool {
        let verdict = if self.unexpected {
            Verdict::Fail
        } else {
            Verdict::Reproduced
        };
        outcome.verdict == verdict && self.matching(outcome, scenario).next().is_some()
    }

    /// `closed_1011 (message_router)`.
    pub fn label(&self) -> String {
        match self.component {
            Some(c) => format!("{} ({})", self.cause, c.key()),
            None => self.cause.to_string(),
        }
    }
}

/// What a kept candidate must do: fail the same way, and, when the
/// scenario passed with every defect off on this seed, still pass so. The
/// second keeps the shrunk scenario a test of the fix: without it, a shrink
/// may cut the run so short that even the fixed backend cannot answer
/// (a 1 s run of a pipeline that needs 7 s to start).
#[derive(Debug, Clone, Copy)]
struct Goal {
    signature: Signature,
    seed: u64,
    fixed_passes: bool,
}

impl Goal {
    fn met_by(&self, s: &Scenario) -> bool {
        if !self.signature.holds(&crate::run::run(s, self.seed), s) {
            return false;
        }
        !self.fixed_passes || passes_fixed(s, self.seed)
    }
}

/// Whether `s` passes on `seed` with every defect off.
fn passes_fixed(s: &Scenario, seed: u64) -> bool {
    let mut fixed = s.clone();
    fixed.bugs = crate::scenario::Bugs::default();
    crate::run::run(&fixed, seed).verdict == Verdict::Pass
}

/// A shrunk failure.
pub struct Shrunk {
    pub scenario: Scenario,
    pub seed: u64,
    pub signature: Signature,
    /// What each kept step did, in order (`removed fault 2 (restart ...)`).
    pub steps: Vec<String>,
    /// Candidate runs spent.
    pub runs: usize,
    /// The run of the shrunk scenario.
    pub outcome: Outcome,
    /// The scenario passed with every defect off on this seed, and so does
    /// the shrunk one (see [`Goal`]).
    pub fixed_passes: bool,
}

/// Shrink `scenario`, which must not pass on `seed`; `Err` carries the
/// outcome of a run that passed.
pub fn shrink(
    scenario: &Scenario,
    seed: u64,
    jobs: usize,
    max_runs: usize,
) -> Result<Shrunk, Box<Outcome>> {
    let outcome = crate::run::run(scenario, seed);
    let Some(signature) = Signature::of(&outcome, scenario) else {
        return Err(Box::new(outcome));
    };
    let defects_on = scenario.bugs != crate::scenario::Bugs::default();
    let goal = Goal {
        signature,
        seed,
        fixed_passes: defects_on && passes_fixed(scenario, seed),
    };
    let mut best = Shrunk {
        scenario: scenario.clone(),
        seed,
        signature,
        steps: Vec::new(),
        runs: 0,
        outcome,
        fixed_passes: goal.fixed_passes,
    };
    while best.runs < max_runs {
        let list = candidates::of(&best.scenario, last_violation(&best));
        let budget = max_runs - best.runs;
        let (found, spent) = first_failing(&list, goal, jobs, budget);
        best.runs += spent;
        let Some((i, outcome)) = found else { break };
        let (candidate, step) = list.into_iter().nth(i).expect("index of a candidate");
        best.scenario = candidate;
        best.outcome = outcome;
        best.steps.push(step);
    }
    Ok(best)
}

/// The latest time a violation of the signature was first seen: a
/// duration past it need not be simulated.
fn last_violation(best: &Shrunk) -> Duration {
    best.signature
        .matching(&best.outcome, &best.scenario)
        .map(|v| v.at)
        .max()
        .unwrap_or(best.scenario.duration)
}

/// The first candidate, in list order, that meets the goal, with its
/// outcome; and how many candidates ran. Runs `jobs` candidates at a time
/// and stops after the first chunk that holds a failing one, so the answer
/// is the same for every `jobs`; at most `budget` run.
fn first_failing(
    list: &[(Scenario, String)],
    goal: Goal,
    jobs: usize,
    budget: usize,
) -> (Option<(usize, Outcome)>, usize) {
    let mut spent = 0;
    let chunk = jobs.max(1);
    for (n, part) in list.chunks(chunk).enumerate() {
        let part = &part[..part.len().min(budget - spent)];
        if part.is_empty() {
            break;
        }
        spent += part.len();
        if let Some(i) = meeting(part, goal).iter().position(|&f| f) {
            // A trace cannot cross threads, so the winner runs once more
            // here; the run is deterministic, so it fails the same way.
            let outcome = crate::run::run(&part[i].0, goal.seed);
            return (Some((n * chunk + i, outcome)), spent);
        }
    }
    (None, spent)
}

/// Whether each scenario of `part` meets the goal: one thread each (inline
/// when no thread can be spawned), answers in order.
fn meeting(part: &[(Scenario, String)], goal: Goal) -> Vec<bool> {
    let judge = move |s: &Scenario| goal.met_by(s);
    std::thread::scope(|scope| {
        let handles: Vec<_> = part
            .iter()
            .skip(1)
            .map(|(s, _)| std::thread::Builder::new().spawn_scoped(scope, move || judge(s)))
            .collect();
        let mut answers = vec![judge(&part[0].0)];
        for (h, (s, _)) in handles.into_iter().zip(&part[1..]) {
            answers.push(match h {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
                Err(_) => judge(s),
            });
        }
        answers
    })
}
