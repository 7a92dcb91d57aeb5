//! The one interface the relay sends webhooks through ([`HookTransport`]), what goes in ([`Request`]), what comes
//! back ([`Response`]) and how a call fails ([`SendError`], classified by [`ErrorClass`]).

use bytes::Bytes;
use reqwest::Url;
use std::future::Future;
use std::time::Duration;

/// One JSON POST to a target.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Headers sent after the fixed ones (`host`, `content-type: application/json`, `user-agent`, `accept`,
    /// `authorization` from URL credentials), in this order and as given: lowercase names and values of the
    /// caller's own making, without CR or LF.
    pub headers: &'a [(&'static str, &'a str)],
    /// The body (`content-length` is written from its length).
    pub body: &'a Bytes,
    /// Time allowed for the whole call: connecting, writing and reading the answer.
    pub timeout: Duration,
}

/// A response that arrived whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body of a `2xx` answer; empty for any other status (that body is not read).
    pub body: Bytes,
}

impl Response {
    /// Whether the status is `2xx`.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// What kind of failure a [`SendError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// No connection could be opened (name resolution, refused, unreachable).
    Connect,
    /// No whole answer within the request's timeout.
    Timeout,
    /// The connection was closed or reset before any byte of the answer arrived.
    Closed,
    /// The connection failed or was closed in the middle of the exchange, after the answer started.
    Interrupted,
    /// The answer is not a valid HTTP/1.x response (head, framing, chunk sizes).
    Malformed,
    /// The answer is over a limit: its head, its chunk framing or its body ([`crate::MAX_BODY_BYTES`]).
    TooLarge,
    /// Anything else the https client reports.
    Other,
}

/// Why a call brought no response: its class and a message for the log, which names the URL (without
/// credentials).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    class: ErrorClass,
    message: String,
}

impl SendError {
    /// An error of `class` described by `message`.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        Self {
            class,
            message: message.into(),
        }
    }

    /// What kind of failure this is.
    pub fn class(&self) -> ErrorClass {
        self.class
    }

    /// The message, taken out.
    pub fn into_message(self) -> String {
        self.message
    }
}

/// A URL without a host, refused when a target is built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} has no host")]
pub struct NoHost(pub String);

/// Sends webhook POSTs. A target is prepared once per URL ([`HookTransport::target`]), then any number of
/// requests go to it ([`HookTransport::send`]).
pub trait HookTransport {
    /// A URL prepared for sending; cheap to clone.
    type Target: Clone + std::fmt::Debug + Send + Sync;

    /// Prepares `url` (an `http` or `https` URL); `shown_as` is how messages name it (without credentials).
    fn target(&self, url: &Url, shown_as: &str) -> Result<Self::Target, NoHost>;

    /// POSTs `request` to `target`: the status and, for a `2xx` answer, the body; any status is a response.
    fn send(
        &self,
        target: &Self::Target,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Response, SendError>> + Send;
}
