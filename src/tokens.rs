//! Signed tokens: minted by simulated users, verified by the auth service.
//!
//! Real HS256 JWTs (jsonwebtoken with `rust_crypto`). Expiry is checked
//! against the *simulated* clock: jsonwebtoken's own `exp` check reads the
//! wall clock, so it is switched off and [`verify`] compares `exp` with the
//! simulated time since the Unix epoch that the caller passes in (the real
//! one in live mode).
//!
//! The signing secret is [`DEFAULT_SECRET`] in a simulation, so every run
//! signs identical bytes; live mode may set its own (`net::LiveNet`).

use std::borrow::Cow;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::scenario::TokenKind;

/// The key the auth service trusts in a simulation, and in live mode unless
/// `--secret` or `STAGESIM_SECRET` says otherwise.
pub const DEFAULT_SECRET: &str = "stagesim-staging-hs256-secret";

/// The key of this run: the live network's, else the default.
fn secret() -> Cow<'static, [u8]> {
    match crate::net::live_secret() {
        Some(s) => Cow::Owned(s.into_bytes()),
        None => Cow::Borrowed(DEFAULT_SECRET.as_bytes()),
    }
}
/// What a forger signs with (`token = "bad_signature"`).
const FORGED: &[u8] = b"not-the-staging-secret";

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
}

/// When a valid token minted at `now` (since the Unix epoch) with
/// `lifetime` expires, since the Unix epoch: `exp` is in whole seconds, and
/// the token is refused from that second on.
pub fn expiry(now: Duration, lifetime: Duration) -> Duration {
    Duration::from_secs(now.as_secs() + lifetime.as_secs())
}

/// The token a user of `kind` holds at simulated time `now` (since the Unix
/// epoch); `None` for `missing`. A valid token lives `lifetime`; an expired
/// one died `lifetime` before `now`.
pub fn mint(kind: TokenKind, user: &str, now: Duration, lifetime: Duration) -> Option<String> {
    let now = now.as_secs();
    let claims = |iat: u64, exp: u64| Claims {
        sub: user.to_string(),
        iat,
        exp,
    };
    let sign = |claims: &Claims, key: &[u8]| {
        encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(key),
        )
        .expect("HS256 encoding of a fixed claim set cannot fail")
    };
    let life = lifetime.as_secs();
    let secret = secret();
    match kind {
        TokenKind::Valid => Some(sign(&claims(now, now + life), &secret)),
        TokenKind::Expired => Some(sign(
            &claims(now.saturating_sub(2 * life), now.saturating_sub(life)),
            &secret,
        )),
        TokenKind::BadSignature => Some(sign(&claims(now, now + life), FORGED)),
        TokenKind::Malformed => Some(format!("{user}.not-a.jwt")),
        TokenKind::Missing => None,
    }
}

/// Why a token was refused; the auth service returns it in its 401 body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    BadSignature,
    Expired,
    /// Issued in the future, by the verifier's clock (`iat` past it by more
    /// than the leeway): the minter's clock is ahead, or the verifier's
    /// behind.
    NotYetValid,
}

impl Refusal {
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::BadSignature => "bad_signature",
            Refusal::Expired => "expired",
            Refusal::NotYetValid => "not_yet_valid",
        }
    }
}

/// Verify `token` at `now` (the verifier's wall clock, since the epoch),
/// allowing `leeway` either way; the user id on success.
pub fn verify(token: &str, now: Duration, leeway: Duration) -> Result<String, Refusal> {
    let mut validation = Validation::new(Algorithm::HS256);
    // exp is checked below against the simulated clock, not the wall clock.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let key = DecodingKey::from_secret(&secret());
    let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            _ => Refusal::Malformed,
        }
    })?;
    let (now, leeway) = (now.as_secs(), leeway.as_secs());
    if data.claims.exp.saturating_add(leeway) <= now {
        return Err(Refusal::Expired);
    }
    if data.claims.iat > now.saturating_add(leeway) {
        return Err(Refusal::NotYetValid);
    }
    Ok(data.claims.sub)
}

/// The `sub` claim read WITHOUT checking signature or expiry. Only the
/// defective staging auth bypass (`[bugs] staging_auth_bypass`) uses it.
pub fn unverified_subject(token: &str) -> Option<String> {
    jsonwebtoken::dangerous::insecure_decode_claims::<Claims>(token)
        .ok()
        .map(|c| c.sub)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_767_225_600);
    const LIFETIME: Duration = Duration::from_secs(3600);

    #[test]
    fn each_kind_verifies_as_expected() {
        let ok = mint(TokenKind::Valid, "user-0001", NOW, LIFETIME).unwrap();
        assert_eq!(
            verify(&ok, NOW, Duration::ZERO),
            Ok("user-0001".to_string())
        );
        let expired = mint(TokenKind::Expired, "u", NOW, LIFETIME).unwrap();
        assert_eq!(verify(&expired, NOW, Duration::ZERO), Err(Refusal::Expired));
        let forged = mint(TokenKind::BadSignature, "u", NOW, LIFETIME).unwrap();
        assert_eq!(
            verify(&forged, NOW, Duration::ZERO),
            Err(Refusal::BadSignature)
        );
        let junk = mint(TokenKind::Malformed, "u", NOW, LIFETIME).unwrap();
        assert_eq!(verify(&junk, NOW, Duration::ZERO), Err(Refusal::Malformed));
        assert_eq!(mint(TokenKind::Missing, "u", NOW, LIFETIME), None);
    }

    #[test]
    fn a_valid_token_expires_on_the_simulated_clock() {
        let ok = mint(TokenKind::Valid, "u", NOW, LIFETIME).unwrap();
        assert_eq!(
            verify(&ok, NOW + LIFETIME, Duration::ZERO),
            Err(Refusal::Expired)
        );
        let just_before = expiry(NOW, LIFETIME) - Duration::from_millis(1);
        assert_eq!(
            verify(&ok, just_before, Duration::ZERO),
            Ok("u".to_string())
        );
    }

    #[test]
    fn the_leeway_forgives_skew_both_ways() {
        let ok = mint(TokenKind::Valid, "u", NOW, LIFETIME).unwrap();
        let minute = Duration::from_secs(60);
        let early = NOW - Duration::from_secs(90);
        assert_eq!(verify(&ok, early, minute), Err(Refusal::NotYetValid));
        assert_eq!(verify(&ok, early, minute * 2), Ok("u".to_string()));
        let late = NOW + LIFETIME + Duration::from_secs(30);
        assert_eq!(verify(&ok, late, Duration::ZERO), Err(Refusal::Expired));
        assert_eq!(verify(&ok, late, minute), Ok("u".to_string()));
    }
}
