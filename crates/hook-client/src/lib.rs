//! The HTTP client that sends iogate's webhooks (the contract: `README.md`).
//!
//! One interface, [`HookTransport`], with two implementations: [`Http1Client`], iogate's own HTTP/1.1 client over
//! pooled keep-alive connections, for `http://` URLs, and [`HttpsClient`], reqwest with rustls, for `https://`.
//! [`HttpClient`] holds both and sends each URL through the one its scheme needs, so its user never knows which.
//!
//! The pure part ([`codec`]: request head out, response head and chunked body in, with "need more" and errors as
//! decisions) does no I/O; `pooled_connection.rs` (one connection), `pool.rs` (idle connections per backend) and `http1.rs` (one
//! call) drive it over Tokio's TCP streams.

pub mod codec;
mod http1;
mod https;
mod pool;
mod pooled_connection;
mod scheme;
mod transport;

pub use http1::{Http1Client, Http1Target};
pub use https::{HttpsClient, HttpsTarget};
pub use pool::{IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND};
pub use scheme::{Endpoint, HttpClient};
pub use transport::{ErrorClass, HookTransport, NoHost, Request, Response, SendError};

/// The largest response body taken; a larger one fails the call ([`ErrorClass::TooLarge`]; an `http://`
/// connection is closed).
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
