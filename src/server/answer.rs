//! The rest of a request once the front door has run: an answer the front door already has, or the endpoint's,
//! finished with its CORS headers. A parked long poll is the endpoint's future alone (one allocation), with what
//! finishing it needs inside.

use super::cors::Cors;
use super::endpoint::ResponseFuture;
use crate::engineio::http::Body;
use http::header::{HeaderMap, HeaderValue, ORIGIN};
use http::{Response, StatusCode};

/// What an endpoint does to its answer before it goes out: the endpoint's CORS headers, for the request's
/// `Origin`.
pub struct Finish<'a> {
    cors: Option<&'a Cors>,
    origin: Option<HeaderValue>,
}

impl<'a> Finish<'a> {
    /// Applies `cors` (if the endpoint has a policy) for a request from `origin`.
    pub fn new(cors: Option<&'a Cors>, origin: Option<HeaderValue>) -> Self {
        Self { cors, origin }
    }

    /// `response`, finished.
    pub fn apply(self, mut response: Response<Body>) -> Response<Body> {
        if let Some(cors) = self.cors {
            if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                cors.apply(&origin_headers(self.origin), response.headers_mut());
            }
        }
        served(&response);
        response
    }
}

/// An answer the front door already has (health, refusals, preflights).
pub(crate) fn ready(response: Response<Body>) -> ResponseFuture<'static> {
    served(&response);
    Box::pin(std::future::ready(response))
}

/// `answer`, keeping `held` (a place in a count) until the response is ready.
pub(crate) fn holding<'a, T: Send + 'a>(answer: ResponseFuture<'a>, held: T) -> ResponseFuture<'a> {
    Box::pin(async move {
        let response = answer.await;
        drop(held);
        response
    })
}

fn served(response: &Response<Body>) {
    tracing::debug!(status = response.status().as_u16(), "request served");
}

/// The request headers CORS looks at: only the `Origin`.
pub(crate) fn origin_headers(origin: Option<HeaderValue>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(origin) = origin {
        headers.insert(ORIGIN, origin);
    }
    headers
}
