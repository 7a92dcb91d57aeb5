//! iogate's HTTP/1.1 request path.
//!
//! A pure core turns bytes into decisions: [`head::parse`] reads one request head (a request this path serves,
//! "needs more", a request with a body for hyper, or a refusal with its status), and [`response::encode_head`]
//! frames an answer's head as hyper would. Around it, a thin IO driver ([`serve_connection`]) serves one
//! connection for a [`Service`]: bodyless requests (long polls, health checks, preflights, WebSocket handshakes)
//! are answered here, with no buffer held while an answer is awaited; a `101 Switching Protocols` hands the raw
//! `TcpStream` and the bytes read past the head to the request's [`OnUpgrade`]; requests with bodies go to hyper
//! for one request each (the bytes already read replayed first, [`rewind::Rewind`]). The contract is in the
//! crate's `README.md`.

mod body;
mod connection_driver;
mod fallback;
pub mod head;
mod next;
mod reply;
pub mod response;
pub mod rewind;
mod streamed;
mod token;
mod upgrade;
mod while_connected;

pub use body::{Body, BodyError, RequestBody, TimedBody};
pub use connection_driver::serve_connection;
pub use reply::complete;
pub use streamed::Streamed;
pub use token::has_token;
pub use upgrade::{ConnectionHold, OnUpgrade, Upgraded};

use http::{Request, Response};
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::time::Duration;

/// The largest request head a connection may be configured to accept: 8 KiB plus 100 header lines of 4 KiB
/// (hyper's default read buffer limit).
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;

/// The answer a [`Service`] gives to one request.
pub type ResponseFuture<'a> = Pin<Box<dyn Future<Output = Response<Body>> + Send + 'a>>;

/// The limits every connection is served with.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a client may take to send a request head.
    pub head_timeout: Duration,
    /// How long a client may take to send a request body, or to take a response without progress.
    pub body_timeout: Duration,
    /// The largest request head, in bytes (431 past it; at most [`MAX_HEAD_BYTES`]).
    pub max_head: usize,
}

/// What answers the requests of a connection: the gateway's front door.
pub trait Service: Send + Sync + 'static {
    /// Answers one request from `peer`. A WebSocket handshake carries an [`OnUpgrade`] in its extensions; an
    /// answer of `101 Switching Protocols` hands the connection to it.
    fn call(&self, req: Request<RequestBody>, peer: SocketAddr) -> ResponseFuture<'_>;
    /// The limits connections are served with (read where they are used, so they may change between requests).
    fn limits(&self) -> &Limits;
    /// Counts and logs a request refused for `reason` (`request_head_too_large`, `bad_request_head`,
    /// `body_timeout`) from `peer`.
    fn refused(&self, reason: &'static str, peer: IpAddr);
}
