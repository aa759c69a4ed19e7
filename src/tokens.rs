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

use crate::vocab::TokenKind;

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
    /// Not before: stagesim never mints it (so minted bytes, and every
    /// trace hash, stay as they were), but honours it when a token has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<u64>,
}

/// The longest `sub` a token may carry, in characters. A user id is
/// printed in every trace line and event of its connection; 128 is far past
/// any real id and keeps a hostile 32 KiB `sub` out of all of them.
pub const MAX_SUBJECT_CHARS: usize = 128;

/// Whether `sub` can be a user id: 1 to [`MAX_SUBJECT_CHARS`] printable
/// ASCII characters without spaces (`!` to `~`). Trace lines are columns
/// split by spaces, and a control character or an empty id would make a
/// line lie about whom it concerns.
pub fn valid_subject(sub: &str) -> bool {
    (1..=MAX_SUBJECT_CHARS).contains(&sub.len()) && sub.bytes().all(|b| b.is_ascii_graphic())
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
        nbf: None,
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
    /// Issued in the future, or valid only from a later time, by the
    /// verifier's clock (`iat` or `nbf` past it by more than the leeway):
    /// the minter's clock is ahead, or the verifier's behind.
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
    // exp and nbf are checked below against the simulated clock, not the
    // wall clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.required_spec_claims.clear();
    let key = DecodingKey::from_secret(&secret());
    let data = decode::<Claims>(token, &key, &validation).map_err(|e| {
        use jsonwebtoken::errors::ErrorKind;
        match e.kind() {
            ErrorKind::InvalidSignature => Refusal::BadSignature,
            _ => Refusal::Malformed,
        }
    })?;
    // RFC 7515 4.1.11: a header parameter listed in `crit` must be
    // understood or the token refused. This verifier understands no
    // extension, and an empty list is itself invalid, so any `crit` is.
    if data.header.crit.is_some() || !valid_subject(&data.claims.sub) {
        return Err(Refusal::Malformed);
    }
    check_times(&data.claims, now.as_secs(), leeway.as_secs())?;
    Ok(data.claims.sub)
}

/// `exp`, `iat` and `nbf` against `now`, each with the same `leeway` (in
/// whole seconds).
fn check_times(claims: &Claims, now: u64, leeway: u64) -> Result<(), Refusal> {
    if claims.exp.saturating_add(leeway) <= now {
        return Err(Refusal::Expired);
    }
    let not_before = claims.iat.max(claims.nbf.unwrap_or(0));
    if not_before > now.saturating_add(leeway) {
        return Err(Refusal::NotYetValid);
    }
    Ok(())
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

    /// A token signed with the test secret, with these claims and header.
    fn signed(header: &Header, claims: &serde_json::Value) -> String {
        encode(
            header,
            claims,
            &EncodingKey::from_secret(DEFAULT_SECRET.as_bytes()),
        )
        .expect("HS256 encoding")
    }

    fn claims(sub: &str) -> serde_json::Value {
        let now = NOW.as_secs();
        serde_json::json!({"sub": sub, "iat": now, "exp": now + 3600})
    }

    #[test]
    fn the_subject_must_be_a_short_printable_id() {
        let hs256 = Header::new(Algorithm::HS256);
        let max = "u".repeat(MAX_SUBJECT_CHARS);
        for good in ["a", "user-0001", "~!x@y", max.as_str()] {
            let token = signed(&hs256, &claims(good));
            assert_eq!(verify(&token, NOW, Duration::ZERO), Ok(good.to_string()));
        }
        let long = "u".repeat(32 * 1024);
        let too_long = "u".repeat(MAX_SUBJECT_CHARS + 1);
        for bad in [
            "",
            " ",
            "a b",
            "tab\t",
            "nl\n",
            "é",
            long.as_str(),
            too_long.as_str(),
        ] {
            let token = signed(&hs256, &claims(bad));
            assert_eq!(
                verify(&token, NOW, Duration::ZERO),
                Err(Refusal::Malformed),
                "{bad:?}"
            );
        }
        let mut no_sub = claims("x");
        no_sub.as_object_mut().unwrap().remove("sub");
        let token = signed(&hs256, &no_sub);
        assert_eq!(verify(&token, NOW, Duration::ZERO), Err(Refusal::Malformed));
    }

    #[test]
    fn nbf_is_honoured_with_the_leeway() {
        let mut later = claims("u");
        later["nbf"] = serde_json::json!(NOW.as_secs() + 90);
        let token = signed(&Header::new(Algorithm::HS256), &later);
        let minute = Duration::from_secs(60);
        assert_eq!(verify(&token, NOW, minute), Err(Refusal::NotYetValid));
        assert_eq!(verify(&token, NOW, minute * 2), Ok("u".to_string()));
        let at = NOW + Duration::from_secs(90);
        assert_eq!(verify(&token, at, Duration::ZERO), Ok("u".to_string()));
        later["nbf"] = serde_json::json!("soon");
        let token = signed(&Header::new(Algorithm::HS256), &later);
        assert_eq!(verify(&token, at, Duration::ZERO), Err(Refusal::Malformed));
    }

    #[test]
    fn a_critical_header_parameter_is_refused() {
        for crit in [vec!["exp".to_string()], vec!["b64".into()], vec![]] {
            let mut header = Header::new(Algorithm::HS256);
            header.crit = Some(crit.clone());
            let token = signed(&header, &claims("u"));
            assert_eq!(
                verify(&token, NOW, Duration::ZERO),
                Err(Refusal::Malformed),
                "{crit:?}"
            );
        }
    }

    #[test]
    fn minted_tokens_carry_no_nbf() {
        // The minted bytes feed every trace hash: adding `nbf` to the
        // claims must not change them.
        let ok = mint(TokenKind::Valid, "u", NOW, LIFETIME).unwrap();
        let claims = jsonwebtoken::dangerous::insecure_decode_claims::<serde_json::Value>(&ok)
            .expect("claims");
        assert_eq!(
            claims,
            serde_json::json!({"sub": "u", "iat": NOW.as_secs(), "exp": NOW.as_secs() + 3600})
        );
    }
}
