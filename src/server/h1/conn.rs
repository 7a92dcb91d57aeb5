//! One connection of the listener. Bodyless requests (long-poll GETs, health checks, preflights) are read into a
//! per-thread scratch buffer, served, and answered straight onto the socket, so a connection whose poll is parked
//! holds no buffer at all. A request with a body is served by hyper (the bytes already read replayed first), and
//! the connection comes back afterwards; an upgrade, or a client that sends its next request before the previous
//! one is answered, hands the connection to hyper for the rest of its life. Malformed heads are answered here.

use super::fallback::{Returned, serve_one_with_hyper, serve_with_hyper};
use super::head::{self, Head, Parsed};
use super::response::{Framing, encode_head};
use super::rewind::Rewind;
use super::watch::WhileConnected;
use crate::engineio::ConnInfo;
use crate::engineio::http::Body;
use crate::server::listener::HttpHandler;
use bytes::Bytes;
use futures_util::FutureExt;
use http::{HeaderMap, Response, StatusCode};
use http_body_util::BodyExt;
use std::cell::RefCell;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::Instant;

/// How much one read takes from the socket.
const READ_CHUNK: usize = 8 * 1024;

thread_local! {
    /// Where heads are read; borrowed only inside a synchronous read, never across an `.await`.
    static SCRATCH: RefCell<Box<[u8]>> = RefCell::new(vec![0; READ_CHUNK].into_boxed_slice());
}

/// What the next request on the connection turned out to be.
enum Next {
    /// A bodyless request, served here.
    Request(Box<Head>),
    /// A request with a body: hyper serves it, starting with these bytes, and gives the connection back.
    Body(Bytes, bool),
    /// Hyper serves the rest, starting with these bytes.
    HandOff(Bytes),
    /// A malformed head: answer with this status and close.
    Reject(StatusCode),
    /// The client closed, or the connection failed.
    Closed,
}

/// Serves every request of `stream` from `peer`; a request head must arrive within `head_timeout` of the
/// connection becoming idle, or the connection is closed.
pub async fn serve_connection<A: HttpHandler>(
    mut stream: TcpStream,
    peer: SocketAddr,
    app: Arc<A>,
    head_timeout: Duration,
) {
    let conn = ConnInfo {
        address: peer.ip(),
        secure: false,
    };
    loop {
        let deadline = Instant::now() + head_timeout;
        let Ok(next) = tokio::time::timeout_at(deadline, read_head(&stream)).await else {
            tracing::debug!(%peer, "no complete request head in time; connection closed");
            return;
        };
        let ended = match next {
            Next::Request(head) => match serve_one(&mut stream, head, &*app, &conn).await {
                Ok(true) => continue,
                Ok(false) => stream.shutdown().await,
                Err(error) => Err(error),
            },
            Next::Body(read, keep_alive) => {
                // Boxed, as every hyper path is: the task's future is as large as its largest state, and hyper's
                // connection inline would make every idle connection pay for it.
                let one =
                    serve_one_with_hyper(stream, read, keep_alive, peer, app.clone(), head_timeout);
                match Box::pin(one).await {
                    Returned::Idle(idle) => {
                        stream = idle;
                        continue;
                    }
                    Returned::ReadAhead(io) => {
                        return Box::pin(serve_with_hyper(io, peer, app, head_timeout)).await;
                    }
                    Returned::Done => return,
                }
            }
            Next::HandOff(read) => {
                let io = Rewind::new(stream, read);
                return Box::pin(serve_with_hyper(io, peer, app, head_timeout)).await;
            }
            Next::Reject(status) => reject(&mut stream, status).await,
            Next::Closed => return,
        };
        if let Err(error) = ended {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
        return;
    }
}

/// Waits for the next request head; no buffer is held while the connection is idle, and a head that arrives in
/// pieces is gathered in a buffer that lives only until it is complete.
async fn read_head(stream: &TcpStream) -> Next {
    let mut partial = Vec::new();
    loop {
        // Readiness without a waiter of its own: the socket's registration holds the waker.
        if std::future::poll_fn(|cx| stream.poll_read_ready(cx))
            .await
            .is_err()
        {
            return Next::Closed;
        }
        let step = SCRATCH.with(|scratch| {
            let mut scratch = scratch.borrow_mut();
            match stream.try_read(&mut scratch[..]) {
                Ok(0) => Some(Next::Closed),
                Ok(n) => decide(&scratch[..n], &mut partial),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
                Err(_) => Some(Next::Closed),
            }
        });
        if let Some(next) = step {
            return next;
        }
    }
}

/// What `read` (appended to `partial`) amounts to; `None` while the head is incomplete.
fn decide(read: &[u8], partial: &mut Vec<u8>) -> Option<Next> {
    if !partial.is_empty() {
        partial.extend_from_slice(read);
    }
    let buf = if partial.is_empty() {
        read
    } else {
        &partial[..]
    };
    match head::parse(buf) {
        Parsed::Partial => {
            if partial.is_empty() {
                partial.extend_from_slice(read);
            }
            None
        }
        // Bytes past the head (a pipelined request) go to hyper together with this request.
        Parsed::Request(head) if head.len == buf.len() => Some(Next::Request(head)),
        Parsed::Request(_) | Parsed::HandOff => Some(Next::HandOff(Bytes::copy_from_slice(buf))),
        Parsed::Body { keep_alive } => Some(Next::Body(Bytes::copy_from_slice(buf), keep_alive)),
        Parsed::Reject(status) => Some(Next::Reject(status)),
        Parsed::Close => Some(Next::Closed),
    }
}

/// Serves one request and writes its response; `Ok(true)` when the connection stays open. The request is handed
/// to the application before the returned future starts, so that future keeps only what the response needs.
fn serve_one<'a, A: HttpHandler>(
    stream: &'a mut TcpStream,
    head: Box<Head>,
    app: &'a A,
    conn: &ConnInfo,
) -> impl Future<Output = io::Result<bool>> + 'a {
    let Head {
        request,
        keep_alive,
        ..
    } = *head;
    let mut framing = Framing::new(request.method(), request.version(), keep_alive);
    let answer = app.serve(request, conn.clone());
    async move {
        let Some(response) = WhileConnected::new(stream, answer).await else {
            return Err(io::ErrorKind::ConnectionAborted.into());
        };
        // Encoded before any further wait, so the response's parts are not kept while the bytes go out.
        let (head, body) = encode(response, &mut framing);
        write_both(stream, &head, &body).await?;
        Ok(framing.keep_alive)
    }
}

/// The response's head and the body bytes to send after it.
fn encode(response: Response<Body>, framing: &mut Framing) -> (Vec<u8>, Bytes) {
    let (parts, body) = response.into_parts();
    // `Body` is `Full`: its one frame is ready at once.
    let body = match body.collect().now_or_never() {
        Some(Ok(collected)) => collected.to_bytes(),
        Some(Err(never)) => match never {},
        None => Bytes::new(),
    };
    let mut head = Vec::with_capacity(128 + parts.headers.len() * 40);
    encode_head(parts.status, &parts.headers, body.len(), framing, &mut head);
    if framing.sends_body(parts.status) {
        (head, body)
    } else {
        (head, Bytes::new())
    }
}

/// Answers a malformed head with `status` and closes.
async fn reject(stream: &mut TcpStream, status: StatusCode) -> io::Result<()> {
    let mut framing = Framing::new(&http::Method::GET, http::Version::HTTP_11, false);
    let mut head = Vec::with_capacity(128);
    encode_head(status, &HeaderMap::new(), 0, &mut framing, &mut head);
    write_both(stream, &head, &[]).await?;
    stream.shutdown().await
}

/// Writes `head` then `body`, in one system call when the socket takes them.
async fn write_both(stream: &mut TcpStream, mut head: &[u8], mut body: &[u8]) -> io::Result<()> {
    while !head.is_empty() || !body.is_empty() {
        let written = if head.is_empty() {
            stream.write(body).await?
        } else {
            stream
                .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
                .await?
        };
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let from_head = written.min(head.len());
        head = &head[from_head..];
        body = &body[(written - from_head).min(body.len())..];
    }
    Ok(())
}
