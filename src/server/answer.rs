//! The rest of a request once the front door has run: the endpoint's answer, with CORS headers added. A parked
//! long poll's request is this small future around the endpoint's own.

use super::cors::Cors;
use super::endpoint::ResponseFuture;
use crate::engineio::http::{Body, complete};
use http::header::{HeaderMap, HeaderValue, ORIGIN};
use http::{Response, StatusCode};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A request's answer, ready or on its way from an endpoint.
pub(crate) enum Answer<'a> {
    /// Answered by the front door (health, refusals, preflights); `None` once taken.
    Ready(Option<Response<Body>>),
    /// Answered by an endpoint; its CORS policy and the request's `Origin` apply to the answer.
    Endpoint {
        work: ResponseFuture<'a>,
        cors: Option<&'a Cors>,
        origin: Option<HeaderValue>,
    },
}

impl<'a> Answer<'a> {
    /// An answer already known.
    pub(crate) fn ready(response: Response<Body>) -> Self {
        Answer::Ready(Some(response))
    }

    /// The answer `work` gives, with `cors` applied for a request from `origin`.
    pub(crate) fn endpoint(
        work: ResponseFuture<'a>,
        cors: Option<&'a Cors>,
        origin: Option<HeaderValue>,
    ) -> Self {
        Answer::Endpoint { work, cors, origin }
    }
}

/// The request headers CORS looks at: only the `Origin`.
pub(crate) fn origin_headers(origin: Option<HeaderValue>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    if let Some(origin) = origin {
        headers.insert(ORIGIN, origin);
    }
    headers
}

impl Future for Answer<'_> {
    type Output = Response<Body>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response<Body>> {
        let response = match self.get_mut() {
            Answer::Ready(response) => response.take().unwrap_or_else(|| {
                complete(500, "text/plain; charset=UTF-8", "Internal Server Error")
            }),
            Answer::Endpoint { work, cors, origin } => {
                let mut response = match work.as_mut().poll(cx) {
                    Poll::Ready(response) => response,
                    Poll::Pending => return Poll::Pending,
                };
                if let Some(cors) = cors {
                    if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                        cors.apply(&origin_headers(origin.take()), response.headers_mut());
                    }
                }
                response
            }
        };
        tracing::debug!(status = response.status().as_u16(), "request served");
        Poll::Ready(response)
    }
}
