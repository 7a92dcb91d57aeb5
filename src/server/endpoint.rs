//! One served endpoint as the listener sees it: a path, a CORS policy and a protocol service.

use super::answer::Finish;
use super::router::EndpointRequest;
use crate::engineio::http::Body;
use crate::engineio::http::RequestBody;
use crate::engineio::{CloseReason, ConnInfo, Engine, EngineRequest, Handler, SessionRequest};
use futures_util::FutureExt;
use http::{Request, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed response future.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// A request as the front door hands it to its endpoint.
pub struct Routed<'a> {
    /// The request.
    pub req: Request<RequestBody>,
    /// What it was routed as, with its decoded query.
    pub request: EndpointRequest,
    /// The client, as the front door resolved it (proxies included).
    pub conn: ConnInfo,
    /// What is applied to the answer.
    pub finish: Finish<'a>,
}

/// The protocol side of an endpoint.
pub trait Service: Send + Sync {
    /// Serves one request addressed to the endpoint.
    fn serve<'a>(&'a self, routed: Routed<'a>) -> ResponseFuture<'a>;
    /// Closes every session (shutdown).
    fn close_all(&self, reason: CloseReason);
    /// Open sessions.
    fn session_count(&self) -> usize;
}

impl<H: Handler> Service for Arc<Engine<H>> {
    fn serve<'a>(&'a self, routed: Routed<'a>) -> ResponseFuture<'a> {
        let Routed {
            req,
            request,
            conn,
            finish,
        } = routed;
        let (query, request) = match request {
            EndpointRequest::EngineIo(query, request) => (query, request),
            EndpointRequest::Sio09(query, sio09) => {
                return Box::pin(async move {
                    finish.apply(Engine::handle_sio09(self, req, &conn, query, sio09.route).await)
                });
            }
        };
        // A long poll gets a future of its own, a fraction of the size of the one that serves every request:
        // it is what a parked poll holds for as long as it waits.
        let poll = match request {
            EngineRequest::Session(sid, SessionRequest::PollGet) => {
                Engine::long_poll(self, sid, &query)
            }
            _ => None,
        };
        match poll {
            Some(poll) => {
                // Let go of the request (and its head's buffer) before the wait, as `Engine::serve` does.
                drop(req);
                drop(query);
                // A combinator, not an `async` block: awaiting a captured future stores it twice.
                Box::pin(poll.map(move |response| finish.apply(response)))
            }
            None => Box::pin(async move {
                finish.apply(Engine::serve(self, req, query, request, &conn).await)
            }),
        }
    }

    fn close_all(&self, reason: CloseReason) {
        Engine::close_all(self, reason);
    }

    fn session_count(&self) -> usize {
        Engine::session_count(self)
    }
}
