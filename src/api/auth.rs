//! Bearer-token authentication of API calls, compared in constant time.

use crate::relay::signing::constant_time_eq;
use http::HeaderMap;
use http::header::AUTHORIZATION;

/// Whether `headers` carry `Authorization: Bearer <token>`.
pub fn authorized(headers: &HeaderMap, token: &str) -> bool {
    let Some(value) = headers.get(AUTHORIZATION) else {
        return false;
    };
    // The scheme name is case-insensitive (RFC 9110); the token is not.
    let bytes = value.as_bytes();
    if bytes.len() < 7 || !bytes[..7].eq_ignore_ascii_case(b"bearer ") {
        return false;
    }
    constant_time_eq(bytes[7..].trim_ascii(), token.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_passes() {
        assert!(authorized(&with("Bearer s3cret"), "s3cret"));
        assert!(!authorized(&with("Bearer s3cre"), "s3cret"));
        assert!(!authorized(&with("Bearer s3cretX"), "s3cret"));
        assert!(!authorized(&with("Basic s3cret"), "s3cret"));
        assert!(authorized(&with("bearer s3cret"), "s3cret"));
        assert!(!authorized(&with("Bearer S3CRET"), "s3cret"));
        assert!(!authorized(&with("Bearer"), "s3cret"));
        assert!(!authorized(&HeaderMap::new(), "s3cret"));
    }
}
