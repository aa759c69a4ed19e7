//! Realistic backend mistakes that no catalogued defect names, each a
//! small change a developer could make, planted one at a time by tests to
//! show that the oracle catches what nobody wrote a scenario for.
//!
//! Unlike `[bugs]`, a mutant cannot be named in a scenario file or on the
//! command line: it is set from code only (`Bugs::mutant`), so that the
//! catalogue stays the list of staging's own defects. `tests/world/mutants.rs`
//! plants each in a shipped scenario and names the cause that must fail it.

/// One planted mistake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutant {
    /// Every `user_message` is answered at once with `error` `overloaded`,
    /// whatever the pool's state: a backend that refuses everything.
    RefuseEverything,
    /// The per-connection `seq` counter starts at 14 (a counter shared by
    /// mistake, or not reset).
    SeqStartsAt14,
    /// The connection limit check is off by one: `max_connections + 1`
    /// connections are admitted.
    AdmitOneOverLimit,
    /// A tool gives its database connection back by an explicit call after
    /// its work instead of on drop, so a run cancelled mid-tool (its
    /// connection closed) never returns it.
    LeakPoolOnCancel,
    /// The pool is built one connection larger than `db_pool`.
    PoolOneTooLarge,
    /// A drain or restart closes every connection with the library's
    /// default close code, 1000, instead of 1001 or 1012.
    ShutdownClosesNormally,
    /// A run's LLM call after its first tool has no timeout and never
    /// returns: the message is never answered, though the connection stays
    /// healthy (pings are answered).
    RunHangsAfterTool,
    /// The connection limit's 1013 says "too many connections, try later",
    /// a reason that names no dependency the protocol knows.
    LimitReasonReworded,
    /// A run picks its tools by iterating a `HashMap` (whose order is
    /// randomised per map): the one determinism rule broken, for
    /// `run --verify` to find.
    HashMapOrder,
}

impl Mutant {
    pub const ALL: [Mutant; 9] = [
        Mutant::RefuseEverything,
        Mutant::SeqStartsAt14,
        Mutant::AdmitOneOverLimit,
        Mutant::LeakPoolOnCancel,
        Mutant::PoolOneTooLarge,
        Mutant::ShutdownClosesNormally,
        Mutant::RunHangsAfterTool,
        Mutant::LimitReasonReworded,
        Mutant::HashMapOrder,
    ];
}
