//! The oracle's words: the invariants it checks and the causes that break
//! them. Scenario files name them in `[expect]`, the oracle reports them,
//! and docs/design.md tabulates them (tests/docs.rs keeps the table equal).

use super::named_enum;

named_enum! {
    /// An invariant the oracle checks (docs/design.md, the oracle).
    pub enum Invariant as "invariant" {
        /// No client receives close code 1011.
        No1011 = "no_1011",
        /// Invalid tokens are closed 1008; no one gets in without a valid token.
        AuthPolicy = "auth_policy",
        /// Every entitled user gets in; every message of theirs is answered.
        Liveness = "liveness",
        /// Every event reaches only the user whose run it belongs to.
        Isolation = "isolation",
        /// Runs follow the event grammar; `seq` strictly increases.
        EventGrammar = "event_grammar",
        /// Messages sent = answered + rejected with an explicit error that
        /// the trace shows a cause for.
        Accounting = "accounting",
        /// The backend keeps within its own limits: connections, pool.
        Capacity = "capacity",
    }
}

named_enum! {
    /// Why an invariant broke: each cause belongs to one invariant.
    pub enum Cause as "cause" {
        /// no_1011: the server closed a connection with 1011.
        Closed1011 = "closed_1011",
        /// auth_policy: the gateway admitted a connection (accepted an
        /// identity, or the user saw it established) without a valid token.
        AdmittedWithoutValidToken = "admitted_without_valid_token",
        /// auth_policy: an invalid token was refused with a code other than 1008.
        RefusedWithWrongCode = "refused_with_wrong_code",
        /// auth_policy: a token valid for the whole attempt was refused 1008.
        ValidTokenRefused = "valid_token_refused",
        /// auth_policy, caused by the environment: a valid token was refused
        /// 1008 while a host's clock was off by more than auth's leeway (an
        /// honest refusal; a scenario that sets the skew can expect it).
        RefusedUnderClockSkew = "refused_under_clock_skew",
        /// liveness: an entitled user never received connection_established.
        NeverAdmitted = "never_admitted",
        /// liveness: messages of an admitted user were never answered.
        Unanswered = "unanswered",
        /// liveness: the heal phase ran out (`[expect] converge_within`)
        /// with this user still busy: not yet admitted, waiting for an
        /// answer, or backing off to reconnect.
        DidNotConverge = "did_not_converge",
        /// isolation: a user received an event that is not its own.
        ForeignEvent = "foreign_event",
        /// isolation: events of a user's run were delivered to someone else.
        EventsMisdelivered = "events_misdelivered",
        /// isolation: events of a user's run were handed to a connection
        /// that had already closed.
        EventsLost = "events_lost",
        /// event_grammar: `seq` missing, or not exactly 1, 2, 3, ... on a
        /// connection.
        BadSeq = "bad_seq",
        /// event_grammar: an event out of its run's or connection's order.
        OutOfOrder = "out_of_order",
        /// event_grammar: the server closed a connection with 1000, which
        /// only a client that is done sends (a shutdown or a failure that
        /// does not name its cause).
        ServerClosed1000 = "server_closed_1000",
        /// event_grammar: the server closed with a code the protocol does
        /// not have, or a 1013 whose reason names no dependency or budget.
        CloseOutsideProtocol = "close_outside_protocol",
        /// accounting: an answer on a connection the message was not sent on.
        AnsweredElsewhere = "answered_elsewhere",
        /// accounting: a message answered more than once.
        AnsweredTwice = "answered_twice",
        /// accounting: a message dropped without an answer on a live connection.
        SilentlyDropped = "silently_dropped",
        /// accounting: an `error` answer whose condition the trace does not
        /// show (`overloaded` with a pool that was not full, `unknown_agent`
        /// for a known agent, a code the protocol does not have).
        RefusedWithoutCause = "refused_without_cause",
        /// capacity: a gateway boot held more admitted connections open
        /// than its `max_connections`.
        OverConnectionLimit = "over_connection_limit",
        /// capacity: the database pool lent more connections than it has.
        PoolOverCapacity = "pool_over_capacity",
        /// capacity: a run still held a database connection after its
        /// WebSocket connection closed (it was not cancelled, or its
        /// connection was never returned).
        PoolSlotLeaked = "pool_slot_leaked",
    }
}

impl Cause {
    /// The invariant this cause breaks.
    pub fn invariant(self) -> Invariant {
        match self {
            Cause::Closed1011 => Invariant::No1011,
            Cause::AdmittedWithoutValidToken
            | Cause::RefusedWithWrongCode
            | Cause::ValidTokenRefused
            | Cause::RefusedUnderClockSkew => Invariant::AuthPolicy,
            Cause::NeverAdmitted | Cause::Unanswered | Cause::DidNotConverge => Invariant::Liveness,
            Cause::ForeignEvent | Cause::EventsMisdelivered | Cause::EventsLost => {
                Invariant::Isolation
            }
            Cause::BadSeq
            | Cause::OutOfOrder
            | Cause::ServerClosed1000
            | Cause::CloseOutsideProtocol => Invariant::EventGrammar,
            Cause::AnsweredElsewhere
            | Cause::AnsweredTwice
            | Cause::SilentlyDropped
            | Cause::RefusedWithoutCause => Invariant::Accounting,
            Cause::OverConnectionLimit | Cause::PoolOverCapacity | Cause::PoolSlotLeaked => {
                Invariant::Capacity
            }
        }
    }

    /// The causes of `invariant`, in declaration order.
    pub fn of(invariant: Invariant) -> Vec<Cause> {
        Cause::ALL
            .iter()
            .copied()
            .filter(|c| c.invariant() == invariant)
            .collect()
    }
}
