//! HTTP helpers shared by the transports, the listener and the webhook client.

use super::error::EngineError;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;

/// Whether a comma-separated header value holds `token` (case-insensitive), as `Connection: close` or
/// `Connection: keep-alive` do.
pub fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

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

/// The body of a request as the transports receive it: hyper's streaming body, or none at all for a request that
/// the listener's own HTTP/1.1 path read (those never carry a body).
#[derive(Debug, Default)]
pub enum RequestBody {
    /// No body: the request declared none.
    #[default]
    Empty,
    /// A body read by hyper.
    Hyper(hyper::body::Incoming),
}

impl From<hyper::body::Incoming> for RequestBody {
    fn from(body: hyper::body::Incoming) -> Self {
        RequestBody::Hyper(body)
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        match self.get_mut() {
            RequestBody::Empty => std::task::Poll::Ready(None),
            RequestBody::Hyper(body) => std::pin::Pin::new(body).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Hyper(body) => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            RequestBody::Empty => hyper::body::SizeHint::with_exact(0),
            RequestBody::Hyper(body) => body.size_hint(),
        }
    }
}
