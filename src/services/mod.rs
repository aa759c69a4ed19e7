//! The services under test: `lb`, `gateway` (with the agent pipeline
//! in-process) and `auth`. Real HTTP/1.1 and RFC 6455 on turmoil's network,
//! or on the machine's in live mode (`net`); they know nothing of the
//! oracle, only of the recorder they log to.

pub mod auth;
pub mod backend;
pub mod gateway;
pub mod http;
pub mod lb;
pub mod limits;
pub mod middlebox;
/// The planted mistakes live on the ground floor (scenario's `Bugs` holds
/// one); the services are where they take effect.
pub use crate::vocab::mutant as mutants;
pub mod pipeline;
pub mod tap;
