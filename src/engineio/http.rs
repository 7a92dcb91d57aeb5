//! HTTP helpers of the transports: the Engine.IO error response; the protocol-neutral ones (bodies, complete
//! responses, header tokens, the connection hold) come from the HTTP/1.1 crate and are named here too.

use crate::engineio::error::EngineError;
use http::Response;
use http::header::HeaderValue;

pub use iogate_h1::{Body, BodyError, ConnectionHold, RequestBody, TimedBody, complete, has_token};

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
