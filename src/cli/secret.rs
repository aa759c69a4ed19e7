//! The token signing secret of `serve`, `live` and `token`: `--secret`,
//! else `STAGESIM_SECRET`, else the built-in one
//! (`tokens::DEFAULT_SECRET`, which is public: it is in docs/cli.md).
//!
//! Flag or environment -> [`resolve`] (refusals and the warning) ->
//! `net::LiveNet::with_secret` -> `tokens` signs and verifies with it.
//!
//! - An empty secret is refused (exit 2): HMAC takes an empty key, so every
//!   token signed with nothing would be admitted.
//! - One shorter than 32 bytes gets a one-line warning: RFC 7518 3.2 asks
//!   HS256 for a key at least as long as its hash, 256 bits.
//! - `serve` on an address other than loopback with the public default is
//!   refused (see [`check_listen`]).

use std::net::SocketAddr;

use super::{UsageError, err};
use crate::tokens::DEFAULT_SECRET;

/// The environment variable the secret is also read from.
pub const ENV: &str = "STAGESIM_SECRET";

/// The shortest secret taken without a warning: HS256's hash length.
pub const MIN_SECRET_BYTES: usize = 32;

/// The secret to sign and verify with, `None` for the built-in one. `flag`
/// is what clap read from `--secret` or [`ENV`].
pub fn resolve(flag: Option<String>) -> Result<Option<String>, UsageError> {
    // clap takes an empty environment variable for an absent one; a user
    // who set it empty meant something, and gets told.
    let env_empty = std::env::var_os(ENV).is_some_and(|v| v.is_empty());
    let secret = match flag {
        None if env_empty => String::new(),
        None => return Ok(None),
        Some(secret) => secret,
    };
    if secret.is_empty() {
        return Err(UsageError(format!(
            "error: the token secret is empty (--secret \"\" or {ENV}=): every token signed \
             with an empty key would be admitted. Give a secret of {MIN_SECRET_BYTES} bytes or \
             more, or unset {ENV} for the built-in one"
        )));
    }
    if secret.len() < MIN_SECRET_BYTES {
        err(&format!(
            "warning: the token secret is {} bytes; HS256 wants at least {MIN_SECRET_BYTES} \
             (RFC 7518 3.2), or tokens can be forged by guessing it\n",
            secret.len()
        ));
    }
    Ok(Some(secret))
}

/// `serve --listen ADDR`: anywhere but loopback, anyone who can reach ADDR
/// could mint tokens with the public default secret, so one must be given.
pub fn check_listen(listen: SocketAddr, secret: Option<&str>) -> Result<(), UsageError> {
    let public = secret.is_none_or(|s| s == DEFAULT_SECRET);
    if public && !listen.ip().is_loopback() {
        return Err(UsageError(format!(
            "error: --listen {listen} is reachable from other machines, and the built-in token \
             secret is public (it is in docs/cli.md and the source): anyone could mint a token. Give your own \
             with --secret or {ENV} ({MIN_SECRET_BYTES} bytes or more), or listen on 127.0.0.1"
        )));
    }
    Ok(())
}
