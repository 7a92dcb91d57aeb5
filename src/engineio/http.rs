//! HTTP helpers shared by the transports, the listener and the webhook client.

use super::error::EngineError;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};
use http_body_util::Full;
use hyper::body::Body as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Whether a comma-separated header value holds `token` (case-insensitive), as `Connection: close` or
/// `Connection: keep-alive` do.
pub fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// Something a request carries (in its extensions) that must live as long as the WebSocket the request opens:
/// the listener's count of the client's connections, for requests a trusted proxy forwarded.
#[derive(Clone)]
pub struct ConnectionHold(pub std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl std::fmt::Debug for ConnectionHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionHold")
    }
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
    let mut response = complete(error.status(), content_type, error.body());
    if *error == EngineError::RequestTimeout {
        // What is left of the body is still on its way: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
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
    /// A body read by hyper that must arrive within a time limit (the listener's `body_timeout`).
    Timed(Box<TimedBody>),
}

impl RequestBody {
    /// `body`, which must have arrived whole within `limit` of when it is first read; past that, reading it
    /// fails with [`BodyError::TimedOut`].
    pub fn timed(body: hyper::body::Incoming, limit: Duration) -> Self {
        RequestBody::Timed(Box::new(TimedBody {
            body,
            limit,
            deadline: None,
            timer: None,
        }))
    }
}

impl From<hyper::body::Incoming> for RequestBody {
    fn from(body: hyper::body::Incoming) -> Self {
        RequestBody::Hyper(body)
    }
}

/// A request body with a time limit. The clock starts when the body is first read (not while the server is
/// still busy with the session, e.g. applying backpressure), and a timer exists only once the client makes the
/// reader wait: a body that arrived with its head costs no timer.
#[derive(Debug)]
pub struct TimedBody {
    body: hyper::body::Incoming,
    limit: Duration,
    deadline: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The connection failed or the body was malformed.
    #[error(transparent)]
    Hyper(#[from] hyper::Error),
    /// The client did not send the whole body in time.
    #[error("the request body did not arrive in time")]
    TimedOut,
}

impl BodyError {
    /// Whether `error` (as `http_body_util` reports a body's errors) is a body that did not arrive in time.
    pub fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
        matches!(error.downcast_ref::<BodyError>(), Some(BodyError::TimedOut))
    }
}

impl hyper::body::Body for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, BodyError>>> {
        match self.get_mut() {
            RequestBody::Empty => Poll::Ready(None),
            RequestBody::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(BodyError::from),
            RequestBody::Timed(timed) => timed.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Hyper(body) => body.is_end_stream(),
            RequestBody::Timed(timed) => timed.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            RequestBody::Empty => hyper::body::SizeHint::with_exact(0),
            RequestBody::Hyper(body) => body.size_hint(),
            RequestBody::Timed(timed) => timed.body.size_hint(),
        }
    }
}

impl TimedBody {
    fn poll_frame(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, BodyError>>> {
        let deadline = *self
            .deadline
            .get_or_insert_with(|| Instant::now() + self.limit);
        if let Poll::Ready(frame) = Pin::new(&mut self.body).poll_frame(cx) {
            return Poll::Ready(frame.map(|result| result.map_err(BodyError::from)));
        }
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match timer.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(BodyError::TimedOut))),
            Poll::Pending => Poll::Pending,
        }
    }
}
