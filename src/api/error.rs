//! API errors: `{"error":{"code":"...","message":"..."}}` with a 4xx/5xx status.

use crate::engineio::http::{Body, complete};
use http::Response;
use http::header::{ALLOW, CONNECTION, HeaderName, HeaderValue, WWW_AUTHENTICATE};

/// A refused API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What is wrong, naming the field where there is one.
    pub message: String,
    /// A header the status requires (`Allow` on 405, `WWW-Authenticate` on 401, `Connection: close` on 408).
    pub header: Option<(HeaderName, &'static str)>,
}

impl ApiError {
    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "invalid_request",
            message: message.into(),
            header: None,
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: "not_found",
            message: message.into(),
            header: None,
        }
    }

    /// 401 `unauthorized`, with the `WWW-Authenticate: Bearer` challenge HTTP requires.
    pub fn unauthorized() -> Self {
        Self {
            status: 401,
            code: "unauthorized",
            message: "a valid `Authorization: Bearer <token>` header is required".into(),
            header: Some((WWW_AUTHENTICATE, "Bearer realm=\"iogate\"")),
        }
    }

    /// 405 `method_not_allowed`, with the `Allow` header HTTP requires.
    pub fn method(allowed: &'static str) -> Self {
        Self {
            status: 405,
            code: "method_not_allowed",
            message: format!("use {allowed}"),
            header: Some((ALLOW, allowed)),
        }
    }

    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: 413,
            code: "payload_too_large",
            message: format!("the body is larger than {limit} bytes"),
            header: None,
        }
    }

    /// 408 `request_timeout`: the body did not arrive within `body_timeout`; the connection closes.
    pub fn body_timeout() -> Self {
        Self {
            status: 408,
            code: "request_timeout",
            message: "the request body did not arrive in time".into(),
            header: Some((CONNECTION, "close")),
        }
    }

    /// The JSON response.
    pub fn response(&self) -> Response<Body> {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        let mut response = complete(self.status, "application/json", body.to_string());
        if let Some((name, value)) = &self.header {
            response
                .headers_mut()
                .insert(name.clone(), HeaderValue::from_static(value));
        }
        response
    }
}
