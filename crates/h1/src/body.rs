//! Request bodies as the service receives them, and the body of every response.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body as _;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The body type of every response.
pub type Body = Full<Bytes>;

/// The body of a request as the transports receive it: hyper's streaming body, or, for a request the own path
/// read, none at all or the whole body that came with the head.
#[derive(Debug, Default)]
pub enum RequestBody {
    /// No body: the request declared none (or the whole body was taken).
    #[default]
    Empty,
    /// The whole body, read with the head by the own path: one frame.
    Whole(Bytes),
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
        let this = self.get_mut();
        if let RequestBody::Whole(bytes) = this {
            let data = std::mem::take(bytes);
            *this = RequestBody::Empty;
            return Poll::Ready(Some(Ok(hyper::body::Frame::data(data))));
        }
        match this {
            RequestBody::Empty | RequestBody::Whole(_) => Poll::Ready(None),
            RequestBody::Hyper(body) => Pin::new(body).poll_frame(cx).map_err(BodyError::from),
            RequestBody::Timed(timed) => timed.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            RequestBody::Empty => true,
            RequestBody::Whole(bytes) => bytes.is_empty(),
            RequestBody::Hyper(body) => body.is_end_stream(),
            RequestBody::Timed(timed) => timed.body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            RequestBody::Empty => hyper::body::SizeHint::with_exact(0),
            RequestBody::Whole(bytes) => hyper::body::SizeHint::with_exact(bytes.len() as u64),
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
