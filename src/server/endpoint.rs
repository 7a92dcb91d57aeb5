//! One served endpoint as the listener sees it: a path, a CORS policy and a protocol service.

use super::answer::Finish;
use crate::engineio::http::Body;
use crate::engineio::http::RequestBody;
use crate::engineio::{CloseReason, ConnInfo, Engine, Handler};
use futures_util::FutureExt;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed response future.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// The protocol side of an endpoint.
pub trait Service: Send + Sync {
    /// Serves one request addressed to the endpoint, from the client described by `conn`; `finish` is applied to
    /// the answer.
    fn handle<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: ConnInfo,
        finish: Finish<'a>,
    ) -> ResponseFuture<'a>;
    /// Serves a Socket.IO 0.9 request; `rest` is its path after `/{resource}/1`.
    fn handle_legacy<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: ConnInfo,
        rest: String,
        finish: Finish<'a>,
    ) -> ResponseFuture<'a>;
    /// Closes every session (shutdown).
    fn close_all(&self, reason: CloseReason);
    /// Open sessions.
    fn session_count(&self) -> usize;
}

impl<H: Handler> Service for Arc<Engine<H>> {
    fn handle<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: ConnInfo,
        finish: Finish<'a>,
    ) -> ResponseFuture<'a> {
        // A long poll gets a future of its own, a fraction of the size of the one that serves every request:
        // it is what a parked poll holds for as long as it waits.
        match Engine::long_poll(self, &req) {
            Some(poll) => {
                // Let go of the request (and its head's buffer) before the wait, as `Engine::handle` does.
                drop(req);
                // A combinator, not an `async` block: awaiting a captured future stores it twice.
                Box::pin(poll.map(move |response| finish.apply(response)))
            }
            None => Box::pin(async move { finish.apply(Engine::handle(self, req, &conn).await) }),
        }
    }

    fn handle_legacy<'a>(
        &'a self,
        req: Request<RequestBody>,
        conn: ConnInfo,
        rest: String,
        finish: Finish<'a>,
    ) -> ResponseFuture<'a> {
        Box::pin(async move { finish.apply(Engine::handle_legacy(self, req, &conn, &rest).await) })
    }

    fn close_all(&self, reason: CloseReason) {
        Engine::close_all(self, reason);
    }

    fn session_count(&self) -> usize {
        Engine::session_count(self)
    }
}
