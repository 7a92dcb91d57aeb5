//! Checking a webhook's `X-Iogate-Signature` the way the webhook contract tells a backend to: an HMAC-SHA256 of
//! `"<t>.<raw body>"` with the shared secret, compared in constant time, and a timestamp close to now.

use crate::relay::signing;
use std::time::{SystemTime, UNIX_EPOCH};

/// How far a signature's timestamp may be from the backend's clock.
const MAX_SKEW_SECONDS: u64 = 300;

/// Why a webhook was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No `X-Iogate-Signature` header, or one that is not text.
    Unsigned,
    /// The header's timestamp is missing or too far from now (a replayed request).
    Stale,
    /// No `v1` signature matches the secret.
    Forged,
}

/// Checks `header` for `body` against `secret` at unix time `now`.
pub fn check(header: Option<&str>, secret: &str, body: &[u8], now: u64) -> Result<(), Refusal> {
    let header = header.ok_or(Refusal::Unsigned)?;
    let timestamp = header
        .split(',')
        .find_map(|part| part.strip_prefix("t="))
        .and_then(|value| value.parse::<u64>().ok())
        .ok_or(Refusal::Stale)?;
    if timestamp.abs_diff(now) > MAX_SKEW_SECONDS {
        return Err(Refusal::Stale);
    }
    if signing::verify(header, secret, body) {
        Ok(())
    } else {
        Err(Refusal::Forged)
    }
}

/// The current unix time in seconds.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_made_by_the_relay_is_accepted() {
        let header = signing::signature_header(&["s3cret".into()], 1_000, b"{}");
        assert_eq!(check(Some(&header), "s3cret", b"{}", 1_010), Ok(()));
    }

    #[test]
    fn a_wrong_secret_a_changed_body_or_no_header_is_refused() {
        let header = signing::signature_header(&["s3cret".into()], 1_000, b"{}");
        assert_eq!(
            check(Some(&header), "other", b"{}", 1_000),
            Err(Refusal::Forged)
        );
        assert_eq!(
            check(Some(&header), "s3cret", b"{ }", 1_000),
            Err(Refusal::Forged)
        );
        assert_eq!(check(None, "s3cret", b"{}", 1_000), Err(Refusal::Unsigned));
    }

    #[test]
    fn an_old_timestamp_is_refused() {
        let header = signing::signature_header(&["s3cret".into()], 1_000, b"{}");
        assert_eq!(
            check(Some(&header), "s3cret", b"{}", 1_000 + MAX_SKEW_SECONDS + 1),
            Err(Refusal::Stale)
        );
    }
}
