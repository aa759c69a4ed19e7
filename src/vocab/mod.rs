//! The vocabulary on the ground floor: the enums that scenario files, the
//! trace, the services and the oracle all speak (token kinds and channels,
//! misbehaviours, components, invariants and causes, the planted mistakes,
//! the wire `type`s both ways) and the `named_enum!`
//! macro that gives each its fixed names.
//!
//! Nothing here imports another stagesim module, so every layer may import
//! it and no two layers need each other for a word.

mod component;
mod message_id;
pub mod mutant;
mod names;
mod user;
mod verdict;
mod wire;

pub use component::Component;
pub use message_id::MessageId;
pub use mutant::Mutant;
pub(crate) use names::{named_enum, quoted_list};
pub use user::{Misbehave, TokenKind, TokenVia};
pub use verdict::{Cause, Invariant};
pub use wire::{ClientType, ReadType, SentKind, ServerType};
