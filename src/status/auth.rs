//! Who may see the status page: the API token, given as `Authorization: Bearer`, as `?token=` (once: it is
//! traded for a cookie and the URL loses it), through the login form, or as the cookie those two set. The cookie
//! does not hold the token itself but an HMAC of a fixed text under it: a leaked cookie opens the status page,
//! not the push API. Every comparison is in constant time.

use crate::relay::signing::constant_time_eq;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use http::header::COOKIE;
use sha2::Sha256;

/// The cookie's name.
pub const COOKIE_NAME: &str = "iogate_status";

/// The cookie's lifetime, in seconds (12 hours).
pub const COOKIE_MAX_AGE: u64 = 12 * 3600;

/// The API token and the cookie value derived from it.
pub struct StatusAuth {
    token: String,
    cookie_value: String,
}

impl StatusAuth {
    /// Guards the page with `token`.
    pub fn new(token: &str) -> Self {
        let cookie_value = match Hmac::<Sha256>::new_from_slice(token.as_bytes()) {
            Ok(mut mac) => {
                mac.update(b"iogate status page cookie v1");
                hex::encode(mac.finalize().into_bytes())
            }
            // HMAC takes keys of any length; never reached.
            Err(_) => hex::encode(rand::random::<[u8; 32]>()),
        };
        Self {
            token: token.to_string(),
            cookie_value,
        }
    }

    /// Whether `candidate` is the token.
    pub fn is_token(&self, candidate: &str) -> bool {
        constant_time_eq(candidate.as_bytes(), self.token.as_bytes())
    }

    /// Whether `headers` carry the bearer token or the status cookie.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        crate::api::bearer_authorized(headers, &self.token) || self.has_cookie(headers)
    }

    fn has_cookie(&self, headers: &HeaderMap) -> bool {
        headers
            .get_all(COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .filter(|(name, _)| *name == COOKIE_NAME)
            .any(|(_, value)| {
                constant_time_eq(value.trim().as_bytes(), self.cookie_value.as_bytes())
            })
    }

    /// The `Set-Cookie` value that lets a browser in.
    pub fn set_cookie(&self) -> String {
        format!(
            "{COOKIE_NAME}={}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Strict",
            self.cookie_value
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn with(name: http::header::HeaderName, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn the_cookie_it_sets_lets_in_and_others_do_not() {
        let auth = StatusAuth::new("s3cret");
        let set = auth.set_cookie();
        let pair = set.split(';').next().unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict"));
        assert!(!set.contains("s3cret"), "the cookie is not the token");
        assert!(auth.allows(&with(COOKIE, &format!("a=b; {pair}; c=d"))));
        assert!(!auth.allows(&with(COOKIE, "iogate_status=s3cret")));
        assert!(!auth.allows(&with(COOKIE, &format!("{pair}x"))));
        assert!(!StatusAuth::new("other").allows(&with(COOKIE, pair)));
        assert!(auth.allows(&with(http::header::AUTHORIZATION, "Bearer s3cret")));
        assert!(!auth.allows(&HeaderMap::new()));
        assert!(auth.is_token("s3cret") && !auth.is_token("s3cre"));
    }
}
