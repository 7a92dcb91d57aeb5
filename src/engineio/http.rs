//! HTTP response helpers shared by the transports.

use super::error::EngineError;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// The body type of every response iogate builds.
pub type Body = Full<Bytes>;

/// A complete response with a content type, `Cache-Control: no-store` and `X-Accel-Buffering: no`.
pub fn complete(status: u16, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The Engine.IO error response for `error`.
pub fn error(error: &EngineError) -> Response<Body> {
    let content_type = if error.code().is_some() {
        "application/json"
    } else {
        "text/plain; charset=UTF-8"
    };
    complete(error.status(), content_type, error.body())
}
