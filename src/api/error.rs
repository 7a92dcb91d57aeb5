//! API errors: `{"error":{"code":"...","message":"..."}}` with a 4xx/5xx status.

use crate::engineio::http::{Body, complete};
use http::Response;

/// A refused API call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// A stable machine-readable code.
    pub code: &'static str,
    /// What is wrong, naming the field where there is one.
    pub message: String,
}

impl ApiError {
    /// 400 `invalid_request`.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            code: "invalid_request",
            message: message.into(),
        }
    }

    /// 404 `not_found`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            code: "not_found",
            message: message.into(),
        }
    }

    /// 401 `unauthorized`.
    pub fn unauthorized() -> Self {
        Self {
            status: 401,
            code: "unauthorized",
            message: "a valid `Authorization: Bearer <token>` header is required".into(),
        }
    }

    /// 405 `method_not_allowed`.
    pub fn method(allowed: &str) -> Self {
        Self {
            status: 405,
            code: "method_not_allowed",
            message: format!("use {allowed}"),
        }
    }

    /// 413 `payload_too_large`.
    pub fn too_large(limit: usize) -> Self {
        Self {
            status: 413,
            code: "payload_too_large",
            message: format!("the body is larger than {limit} bytes"),
        }
    }

    /// The JSON response.
    pub fn response(&self) -> Response<Body> {
        let body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        complete(self.status, "application/json", body.to_string())
    }
}
