pub(crate) mod listener;

pub(crate) mod segment_queue;

mod split_owned;
pub use split_owned::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};

pub(crate) mod stream;
