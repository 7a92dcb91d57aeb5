//! One connection of the listener. Bodyless requests (long-poll GETs, health checks, preflights) are read into a
//! per-thread scratch buffer, served, and answered straight onto the socket, so a connection whose poll is parked
//! holds no buffer at all. A request with a body is served by hyper (the bytes already read replayed first), and
//! the connection comes back afterwards; an upgrade, or a client that sends its next request before the previous
//! one is answered, hands the connection to hyper for the rest of its life. Malformed heads are answered here.

use super::fallback::{Returned, conn_info, serve_one_with_hyper, serve_with_hyper};
use super::head::{self, Head, Parsed};
use super::response::{Framing, encode_head};
use super::watch::WhileConnected;
use crate::engineio::http::Body;
use crate::engineio::rewind::Rewind;
use crate::log_escape::Escaped;
use crate::server::limits::Slot;
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
    /// A request with a body: hyper serves it, starting with these bytes, and gives the connection back. Also
    /// whether the client allows keep-alive, and the message's length when its head tells it. (Boxed, as is the
    /// hand-off's bytes: the value lives in the connection's future while a poll is parked, so it is kept small.)
    Body(Box<(Bytes, bool, Option<u64>)>),
    /// Hyper serves the rest, starting with these bytes.
    HandOff(Box<[u8]>),
    /// A malformed head: answer with this status and close.
    Reject(StatusCode),
    /// The client closed, or the connection failed.
    Closed,
}

/// Serves every request of `stream` from `peer`, counted by `slot` while it lasts. A request head must arrive
/// within the gate's `head_timeout` of the connection becoming idle, or the connection is closed.
///
/// Not an `async fn`: its arguments would be stored twice in the future (as arguments and as locals), and this
/// future is most of what an idle connection's task costs.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub fn serve_connection<A: HttpHandler>(
    mut stream: TcpStream,
    peer: SocketAddr,
    app: Arc<A>,
    slot: Slot,
) -> impl Future<Output = ()> + Send {
    async move {
        loop {
            // The settings are read where they are used, not kept in a local: one held across the parked poll's
            // wait would make every connection's task pay for it.
            let deadline = Instant::now() + slot.gate().settings().head_timeout;
            // Boxed: the timer is large, and inline it would make every connection's task pay for it while a
            // poll is parked; it lives only while a head is awaited.
            let waiting = Box::pin(tokio::time::timeout_at(
                deadline,
                read_head(&stream, slot.gate().settings().max_head),
            ));
            let Ok(next) = waiting.await else {
                tracing::debug!(%peer, "no complete request head in time; connection closed");
                return;
            };
            let ended = match next {
                Next::Request(head) => {
                    let stall_limit = slot.gate().settings().body_timeout;
                    match serve_one(&mut stream, head, &*app, peer, stall_limit).await {
                        Ok(true) => continue,
                        Ok(false) => stream.shutdown().await,
                        Err(error) => Err(error),
                    }
                }
                Next::Body(request) => {
                    // Boxed, as every hyper path is: the task's future is as large as its largest state, and hyper's
                    // connection inline would make every idle connection pay for it.
                    let settings = *slot.gate().settings();
                    let one = serve_one_with_hyper(stream, *request, peer, app.clone(), settings);
                    // The answer is taken apart in a statement of its own: awaited inside a `match` that also
                    // awaits, it would be kept in every connection's task.
                    let io = match Box::pin(one).await {
                        Returned::Idle(idle) => {
                            stream = idle;
                            continue;
                        }
                        Returned::ReadAhead(io) => io,
                        Returned::Done => return,
                    };
                    let settings = *slot.gate().settings();
                    let hold = Some(Arc::new(slot));
                    return Box::pin(serve_with_hyper(io, peer, app, settings, hold)).await;
                }
                Next::HandOff(read) => {
                    let settings = *slot.gate().settings();
                    let io = Rewind::new(stream, Bytes::from(read))
                        .with_write_limit(settings.body_timeout);
                    // The connection may become a WebSocket, which must stay counted after hyper lets it go.
                    let hold = Some(Arc::new(slot));
                    return Box::pin(serve_with_hyper(io, peer, app, settings, hold)).await;
                }
                Next::Reject(status) => {
                    slot.gate().refused(rejection_reason(status), peer.ip());
                    // Boxed: its write timer would otherwise make every connection's task larger.
                    Box::pin(reject(&mut stream, status)).await
                }
                Next::Closed => return,
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, error = %Escaped(&error), "connection ended with an error");
            }
            return;
        }
    }
}

/// The `iogate_refused_total` reason for a head refused with `status`.
fn rejection_reason(status: StatusCode) -> &'static str {
    match status {
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE | StatusCode::URI_TOO_LONG => {
            "request_head_too_large"
        }
        _ => "bad_request_head",
    }
}

/// Waits for the next request head; no buffer is held while the connection is idle, and a head that arrives in
/// pieces is gathered in a buffer that lives only until it is complete.
async fn read_head(stream: &TcpStream, max_head: usize) -> Next {
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
                Ok(n) => decide(&scratch[..n], &mut partial, max_head),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => None,
                Err(_) => Some(Next::Closed),
            }
        });
        if let Some(next) = step {
            return next;
        }
    }
}

/// What `read` (appended to `partial`) amounts to; `None` while the head is incomplete. Heads longer than
/// `max_head` bytes are refused.
fn decide(read: &[u8], partial: &mut Vec<u8>, max_head: usize) -> Option<Next> {
    if !partial.is_empty() {
        partial.extend_from_slice(read);
        // What was there parsed as an incomplete head, and a head ends with a line break: without one in the new
        // bytes the answer is the same, so a head trickling in is not parsed again for every byte.
        if !read.contains(&b'\n') && partial.len() < max_head {
            return None;
        }
    }
    let buf = if partial.is_empty() {
        read
    } else {
        &partial[..]
    };
    match head::parse(buf, max_head) {
        Parsed::Partial => {
            if partial.is_empty() {
                partial.extend_from_slice(read);
            }
            None
        }
        // Bytes past the head (a pipelined request) go to hyper together with this request.
        Parsed::Request(head) if head.len == buf.len() => Some(Next::Request(head)),
        Parsed::Request(_) | Parsed::HandOff => Some(Next::HandOff(buf.into())),
        Parsed::Body { keep_alive, length } => Some(Next::Body(Box::new((
            Bytes::copy_from_slice(buf),
            keep_alive,
            length,
        )))),
        Parsed::Reject(status) => Some(Next::Reject(status)),
        Parsed::Close => Some(Next::Closed),
    }
}

/// Serves one request and writes its response; `Ok(true)` when the connection stays open. The request is handed
/// to the application before the returned future starts, so that future keeps only what the response needs. A
/// client that takes none of a response for `stall_limit` loses its connection.
fn serve_one<'a, A: HttpHandler>(
    stream: &'a mut TcpStream,
    head: Box<Head>,
    app: &'a A,
    peer: SocketAddr,
    stall_limit: Duration,
) -> impl Future<Output = io::Result<bool>> + 'a {
    let Head {
        request,
        keep_alive,
        ..
    } = *head;
    let mut framing = Framing::new(request.method(), request.version(), keep_alive);
    let answer = app.serve(request, conn_info(peer));
    async move {
        let Some(response) = WhileConnected::new(stream, answer).await else {
            return Err(io::ErrorKind::ConnectionAborted.into());
        };
        // Encoded before any further wait, so the response's parts are not kept while the bytes go out.
        let (head, body) = encode(response, &mut framing);
        // Usually the socket takes it all at once; only a response that has to wait for room gets a future (boxed:
        // inline, the write stage would set the size of every connection's task).
        let written = match stream.try_write_vectored(&[IoSlice::new(&head), IoSlice::new(&body)]) {
            Ok(written) => written,
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => 0,
            Err(error) => return Err(error),
        };
        let (head_left, body_left) = unwritten(&head, &body, written);
        if !head_left.is_empty() || !body_left.is_empty() {
            Box::pin(write_both(stream, head_left, body_left, stall_limit)).await?;
        }
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
    write_both(stream, &head, &[], REJECT_WRITE_LIMIT).await?;
    stream.shutdown().await
}

/// How long a refusal's few bytes may wait for the client to take them.
const REJECT_WRITE_LIMIT: Duration = Duration::from_secs(5);

/// Writes `head` then `body`, in one system call when the socket takes them; fails with `TimedOut` when the client
/// takes nothing for `stall_limit` (a client that stops reading keeps neither the response nor the connection).
async fn write_both(
    stream: &mut TcpStream,
    mut head: &[u8],
    mut body: &[u8],
    stall_limit: Duration,
) -> io::Result<()> {
    while !head.is_empty() || !body.is_empty() {
        let write = async {
            if head.is_empty() {
                stream.write(body).await
            } else {
                stream
                    .write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
                    .await
            }
        };
        let written = tokio::time::timeout(stall_limit, write)
            .await
            .map_err(|_| io::Error::from(io::ErrorKind::TimedOut))??;
        if written == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        (head, body) = unwritten(head, body, written);
    }
    Ok(())
}

/// What is left of `head` then `body` once the first `written` bytes of the two went out.
fn unwritten<'b>(head: &'b [u8], body: &'b [u8], written: usize) -> (&'b [u8], &'b [u8]) {
    let from_head = written.min(head.len());
    (
        &head[from_head..],
        &body[(written - from_head).min(body.len())..],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most the task of a connection may take while its long poll is parked (every idle polling session and
    /// every idle keep-alive connection pays it); the size in a test (debug) build.
    const CONNECTION_TASK_MAX: usize = 288;

    #[test]
    fn an_idle_connection_task_stays_small() {
        fn future_size<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let size = future_size(serve_connection::<crate::server::App>);
        assert!(
            size <= CONNECTION_TASK_MAX,
            "a connection's future is {size} bytes (at most {CONNECTION_TASK_MAX}): every idle connection pays it"
        );
    }

    const MAX: usize = head::MAX_HEAD_BYTES;

    #[test]
    fn a_head_in_pieces_is_gathered_until_complete() {
        let mut partial = Vec::new();
        assert!(decide(b"GET /healthz HT", &mut partial, MAX).is_none());
        assert!(decide(b"TP/1.1\r\nHost: x", &mut partial, MAX).is_none());
        assert!(decide(b"yz", &mut partial, MAX).is_none());
        match decide(b"\r\n\r\n", &mut partial, MAX) {
            Some(Next::Request(head)) => {
                assert_eq!(head.request.uri().path(), "/healthz");
                assert_eq!(head.request.headers()["host"], "xyz");
            }
            _ => panic!("a complete head"),
        }
    }

    #[test]
    fn a_head_that_never_ends_is_refused_at_the_limit() {
        let mut partial = Vec::new();
        assert!(decide(b"GET / HTTP/1.1\r\nx: ", &mut partial, MAX).is_none());
        let chunk = [b'a'; READ_CHUNK];
        let mut outcome = None;
        for _ in 0..=head::MAX_HEAD_BYTES / READ_CHUNK {
            outcome = decide(&chunk, &mut partial, MAX);
            if outcome.is_some() {
                break;
            }
        }
        assert!(matches!(
            outcome,
            Some(Next::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
        ));
    }

    #[test]
    fn bytes_after_a_head_and_bodies_go_to_hyper() {
        let mut partial = Vec::new();
        let pipelined = b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n";
        assert!(matches!(
            decide(pipelined, &mut partial, MAX),
            Some(Next::HandOff(bytes)) if bytes.len() == pipelined.len()
        ));
        let post = b"POST /a HTTP/1.1\r\nContent-Length: 2\r\n\r\nok";
        assert!(matches!(
            decide(post, &mut Vec::new(), MAX),
            Some(Next::Body(body))
                if matches!(&*body, (bytes, true, Some(length))
                    if bytes.len() == post.len() && *length == post.len() as u64)
        ));
    }
}
