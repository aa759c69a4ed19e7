//! The families of conditions a case may draw from (swarm testing), and
//! the shape of a case's valid groups.

use super::*;

/// The families of conditions a case may draw from. Swarm testing
/// (Groce et al., 2012): a run that switches whole families off explores
/// corners that a run drawing a little of everything never reaches, such as
/// a restart with nothing else going on. A family that is off keeps the
/// scenario file's default for what it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Families {
    /// Partitions and holds between gateway and auth.
    pub link_faults: bool,
    /// Gateway restarts (1012).
    pub restarts: bool,
    /// Gateway drains (1001).
    pub drains: bool,
    /// Auth, gateway and pipeline startups of up to 20 s.
    pub slow_startups: bool,
    /// `lb` stripping `Authorization`.
    pub header_stripping: bool,
    /// A database pool of 1-20 connections with a short acquire timeout.
    pub pool_pressure: bool,
    /// A gateway connection limit below the number of users.
    pub connection_limit: bool,
    /// Tokens that live 2 minutes, so that users refresh them.
    pub short_tokens: bool,
    /// Groups the gateway must refuse with 1008.
    pub invalid_tokens: bool,
    /// Groups that send one invalid frame.
    pub misbehaving_users: bool,
    /// Byte-level faults at the load balancer: resets, slices, narrow
    /// bandwidth, held-back FINs, one-way latency.
    pub middlebox: bool,
    /// Auth's or the users' clocks off, within auth's leeway.
    pub clock_skew: bool,
}

impl Families {
    /// Every family of the valid-user envelope (no refused or misbehaving
    /// groups): what `valid_case` draws from.
    pub const VALID_USERS: Families = Families {
        link_faults: true,
        restarts: true,
        drains: true,
        slow_startups: true,
        header_stripping: true,
        pool_pressure: true,
        connection_limit: true,
        short_tokens: true,
        invalid_tokens: false,
        misbehaving_users: false,
        middlebox: true,
        clock_skew: true,
    };

    /// Every family off: what a run drawn around a given scenario
    /// (`explore --from`) reports, since it draws none.
    pub const NONE: Families = Families {
        link_faults: false,
        restarts: false,
        drains: false,
        slow_startups: false,
        header_stripping: false,
        pool_pressure: false,
        connection_limit: false,
        short_tokens: false,
        invalid_tokens: false,
        misbehaving_users: false,
        middlebox: false,
        clock_skew: false,
    };

    /// Every family on.
    pub const ALL: Families = Families {
        invalid_tokens: true,
        misbehaving_users: true,
        ..Families::VALID_USERS
    };

    /// `(name, on)` for each family, in declaration order.
    pub fn each(&self) -> [(&'static str, bool); 12] {
        [
            ("link_faults", self.link_faults),
            ("restarts", self.restarts),
            ("drains", self.drains),
            ("slow_startups", self.slow_startups),
            ("header_stripping", self.header_stripping),
            ("pool_pressure", self.pool_pressure),
            ("connection_limit", self.connection_limit),
            ("short_tokens", self.short_tokens),
            ("invalid_tokens", self.invalid_tokens),
            ("misbehaving_users", self.misbehaving_users),
            ("middlebox", self.middlebox),
            ("clock_skew", self.clock_skew),
        ]
    }

    /// The names of the families that are on.
    pub fn on(&self) -> Vec<&'static str> {
        self.each()
            .into_iter()
            .filter_map(|(name, on)| on.then_some(name))
            .collect()
    }

    /// Each family on or off with even odds (the swarm draw).
    pub fn swarm() -> impl Strategy<Value = Families> {
        proptest::array::uniform12(any::<bool>()).prop_map(|b| Families {
            link_faults: b[0],
            restarts: b[1],
            drains: b[2],
            slow_startups: b[3],
            header_stripping: b[4],
            pool_pressure: b[5],
            connection_limit: b[6],
            short_tokens: b[7],
            invalid_tokens: b[8],
            misbehaving_users: b[9],
            middlebox: b[10],
            clock_skew: b[11],
        })
    }
}

/// How many groups and how many users per group.
#[derive(Debug, Clone)]
pub struct Shape {
    pub groups: std::ops::RangeInclusive<usize>,
    pub users_per_group: std::ops::RangeInclusive<u32>,
}

impl Shape {
    /// 1-60 users in 1-4 groups.
    pub fn any() -> Self {
        Shape {
            groups: 1..=4,
            users_per_group: 1..=15,
        }
    }

    /// 16-60 users in 2-4 groups: for isolation, where many connections
    /// must each keep to their own user.
    pub fn many() -> Self {
        Shape {
            groups: 2..=4,
            users_per_group: 8..=15,
        }
    }
}
