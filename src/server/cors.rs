//! CORS for endpoints with `cors_origins`: response headers and preflight answers.

use http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_HEADERS, HeaderMap,
    HeaderValue, ORIGIN, VARY,
};

/// The CORS policy of one endpoint.
#[derive(Debug, Clone)]
pub struct Cors {
    any: bool,
    origins: Vec<String>,
}

impl Cors {
    /// A policy from `cors_origins`; `None` means no CORS headers at all.
    pub fn from_config(origins: Option<&[String]>) -> Option<Self> {
        let origins = origins?;
        Some(Self {
            any: origins.iter().any(|o| o == "*"),
            origins: origins
                .iter()
                .filter(|o| *o != "*")
                .map(|o| o.trim_end_matches('/').to_string())
                .collect(),
        })
    }

    /// Whether the list holds `"*"`.
    pub fn allows_any(&self) -> bool {
        self.any
    }

    /// Whether `origin` is allowed: the list holds `"*"` or exactly this origin.
    pub fn allows(&self, origin: &str) -> bool {
        self.any || self.origins.iter().any(|allowed| allowed == origin)
    }

    /// Adds the CORS headers a response to a request with `request_headers` carries.
    pub fn apply(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        if self.any {
            response_headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
            return;
        }
        response_headers.append(VARY, HeaderValue::from_static("Origin"));
        let Some(origin) = request_headers.get(ORIGIN) else {
            return;
        };
        let allowed = origin.to_str().is_ok_and(|o| self.allows(o));
        if allowed {
            response_headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            response_headers.insert(
                ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
    }

    /// Adds the extra headers of a preflight (`OPTIONS`) answer.
    pub fn apply_preflight(&self, request_headers: &HeaderMap, response_headers: &mut HeaderMap) {
        self.apply(request_headers, response_headers);
        response_headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET,HEAD,PUT,PATCH,POST,DELETE"),
        );
        if let Some(asked) = request_headers.get(ACCESS_CONTROL_REQUEST_HEADERS) {
            response_headers.insert(ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
            response_headers.append(
                VARY,
                HeaderValue::from_static("Access-Control-Request-Headers"),
            );
        }
        response_headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(origin: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(ORIGIN, HeaderValue::from_str(origin).unwrap());
        headers
    }

    #[test]
    fn star_allows_any_origin() {
        let cors = Cors::from_config(Some(&["*".to_string()])).unwrap();
        let mut out = HeaderMap::new();
        cors.apply(&request("https://x.example"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn listed_origins_are_echoed_with_credentials_and_others_get_nothing() {
        let cors = Cors::from_config(Some(&["https://app.example.com/".to_string()])).unwrap();
        let mut out = HeaderMap::new();
        cors.apply(&request("https://app.example.com"), &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_ORIGIN], "https://app.example.com");
        assert_eq!(out[ACCESS_CONTROL_ALLOW_CREDENTIALS], "true");
        let mut out = HeaderMap::new();
        cors.apply(&request("https://evil.example"), &mut out);
        assert!(out.get(ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
    }

    #[test]
    fn preflight_reflects_requested_headers() {
        let cors = Cors::from_config(Some(&["*".to_string()])).unwrap();
        let mut headers = request("https://x.example");
        headers.insert(
            ACCESS_CONTROL_REQUEST_HEADERS,
            HeaderValue::from_static("content-type"),
        );
        let mut out = HeaderMap::new();
        cors.apply_preflight(&headers, &mut out);
        assert_eq!(out[ACCESS_CONTROL_ALLOW_HEADERS], "content-type");
        assert!(
            out[ACCESS_CONTROL_ALLOW_METHODS]
                .to_str()
                .unwrap()
                .contains("POST")
        );
    }
}
