//! One served endpoint as the listener sees it: a path, a CORS policy and a protocol service.

use crate::engineio::http::Body;
use crate::engineio::http::RequestBody;
use crate::engineio::{CloseReason, ConnInfo, Engine, Handler};
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed response future.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// The protocol side of an endpoint.
pub trait Service: Send + Sync {
    /// Serves one request addressed to the endpoint.
    fn handle<'a>(&'a self, req: Request<RequestBody>, conn: &'a ConnInfo) -> ResponseFuture<'a>;
    /// Serves a Socket.IO 0.9 request; `rest` is its path after `/{resource}/1`.
    fn handle_legacy<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: &'a ConnInfo,
        rest: &'a str,
    ) -> ResponseFuture<'a>;
    /// Closes every session (shutdown).
    fn close_all(&self, reason: CloseReason);
    /// Open sessions.
    fn session_count(&self) -> usize;
}

impl<H: Handler> Service for Arc<Engine<H>> {
    fn handle<'a>(&'a self, req: Request<RequestBody>, conn: &'a ConnInfo) -> ResponseFuture<'a> {
        Box::pin(Engine::handle(self, req, conn))
    }

    fn handle_legacy<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: &'a ConnInfo,
        rest: &'a str,
    ) -> ResponseFuture<'a> {
        Box::pin(Engine::handle_legacy(self, req, conn, rest))
    }

    fn close_all(&self, reason: CloseReason) {
        Engine::close_all(self, reason);
    }

    fn session_count(&self) -> usize {
        Engine::session_count(self)
    }
}
