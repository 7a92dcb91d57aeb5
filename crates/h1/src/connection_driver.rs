//! One connection. Bodyless requests (long-poll GETs, health checks, preflights, WebSocket handshakes) are read
//! into a per-thread scratch buffer, served, and answered straight onto the socket, so a connection whose poll is
//! parked holds no buffer at all. A 101 hands the `TcpStream` to the request's [`crate::OnUpgrade`]. A request with
//! a body is served by hyper (the bytes already read replayed first), and the connection comes back afterwards; a
//! client that sends its next request before the previous one is answered, or anything unusual (`CONNECT`), hands
//! the connection to hyper for the rest of its life. Malformed heads are answered here.

use crate::fallback::{Returned, serve_one_with_hyper, serve_with_hyper};
use crate::head::Head;
use crate::next::{Next, decide};
use crate::response::{Framing, encode_head, encode_streamed_head};
use crate::rewind::Rewind;
use crate::upgrade::{self, Handover};
use crate::while_connected::WhileConnected;
use crate::{Body, ConnectionHold, Service, Streamed, Upgraded};
use bytes::Bytes;
use http::{HeaderMap, Response, StatusCode};
use hyper::body::Body as _;
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

/// Serves every request of `stream` from `peer` for `service`; `hold` (the connection's place in the listener's
/// count) lives as long as the connection, and goes with it when it is upgraded. A request head must arrive
/// within the service's `head_timeout` of the connection becoming idle, or the connection is closed.
///
/// Not an `async fn`: its arguments would be stored twice in the future (as arguments and as locals), and this
/// future is most of what an idle connection's task costs.
#[expect(
    clippy::manual_async_fn,
    reason = "an async fn stores its arguments twice"
)]
pub fn serve_connection<S: Service, H: Send + Sync + 'static>(
    mut stream: TcpStream,
    peer: SocketAddr,
    service: Arc<S>,
    hold: H,
) -> impl Future<Output = ()> + Send {
    async move {
        loop {
            // The limits are read where they are used, not kept in a local: one held across the parked poll's
            // wait would make every connection's task pay for it.
            let deadline = Instant::now() + service.limits().head_timeout;
            // Boxed: the timer is large, and inline it would make every connection's task pay for it while a
            // poll is parked; it lives only while a head is awaited.
            let waiting = Box::pin(tokio::time::timeout_at(
                deadline,
                read_head(&stream, service.limits().max_head),
            ));
            let Ok(next) = waiting.await else {
                tracing::debug!(%peer, "no complete request head in time; connection closed");
                return;
            };
            let ended = match next {
                Next::Request(head) if head.upgrade => {
                    // Boxed: only handshakes pay for what it keeps. The answer is taken apart as it arrives, in a
                    // statement of its own (see the body's arm).
                    let upgrading = serve_upgrade(&mut stream, head, &*service, peer);
                    let read_ahead = match Box::pin(upgrading).await {
                        Ok(Switch::Switched(handover, read_ahead)) => {
                            let hold = ConnectionHold(Arc::new(hold));
                            handover.send(Upgraded {
                                stream,
                                read_ahead,
                                hold,
                            });
                            return;
                        }
                        Ok(Switch::KeepAlive) => continue,
                        Ok(Switch::Pipelined(read_ahead)) => read_ahead,
                        Ok(Switch::Closed) => return,
                        Err(error) => {
                            tracing::debug!(%peer, %error, "connection ended with an error");
                            return;
                        }
                    };
                    // The client sent its next request before this one was answered: hyper serves the rest, as
                    // it does any pipelined request.
                    let io = Rewind::new(stream, read_ahead)
                        .with_write_limit(service.limits().body_timeout);
                    return Box::pin(serve_with_hyper(io, peer, service.clone())).await;
                }
                Next::Request(head) => {
                    let stall_limit = service.limits().body_timeout;
                    match serve_one(&mut stream, head, &*service, peer, stall_limit).await {
                        Ok(Answered::KeepAlive) => continue,
                        Ok(_) => stream.shutdown().await,
                        Err(error) => Err(error),
                    }
                }
                Next::Body(request) => {
                    // Boxed, as every hyper path is: the task's future is as large as its largest state, and hyper's
                    // connection inline would make every idle connection pay for it.
                    let one = serve_one_with_hyper(stream, request, peer, service.clone());
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
                    return Box::pin(serve_with_hyper(io, peer, service.clone())).await;
                }
                Next::HandOff(read) => {
                    let io = Rewind::new(stream, Bytes::from(read))
                        .with_write_limit(service.limits().body_timeout);
                    return Box::pin(serve_with_hyper(io, peer, service.clone())).await;
                }
                Next::Reject(status) => {
                    service.refused(rejection_reason(status), peer.ip());
                    // Boxed: its write timer would otherwise make every connection's task larger.
                    Box::pin(reject(&mut stream, status)).await
                }
                Next::Closed => return,
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
            return;
        }
    }
}

/// How a request that asked for an upgrade was answered.
enum Switch {
    /// A 101 was written: the connection and the bytes read past the head go to the request's receiver.
    Switched(Handover, Bytes),
    /// Not switched, and the connection waits for its next request.
    KeepAlive,
    /// Not switched, and the client already sent these bytes after the head: its next request.
    Pipelined(Bytes),
    /// Not switched, and the connection is closed.
    Closed,
}

/// Serves a request that asks for an upgrade: it carries an [`crate::OnUpgrade`] to the service.
async fn serve_upgrade<S: Service>(
    stream: &mut TcpStream,
    mut head: Box<Head>,
    service: &S,
    peer: SocketAddr,
) -> io::Result<Switch> {
    let read_ahead = std::mem::take(&mut head.read_ahead);
    let (handover, on_upgrade) = upgrade::pair();
    head.request.extensions_mut().insert(on_upgrade);
    let stall_limit = service.limits().body_timeout;
    let answered = serve_one(stream, head, service, peer, stall_limit);
    Ok(match answered.await? {
        Answered::Switched => Switch::Switched(handover, read_ahead),
        Answered::KeepAlive if read_ahead.is_empty() => Switch::KeepAlive,
        Answered::KeepAlive => Switch::Pipelined(read_ahead),
        Answered::Close => {
            stream.shutdown().await?;
            Switch::Closed
        }
    })
}

/// How a request served here was answered.
enum Answered {
    /// The connection stays open for the next request.
    KeepAlive,
    /// The connection closes.
    Close,
    /// A 101 was written: the connection goes to the request's receiver, if it has one, or closes.
    Switched,
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
            match read_emptying(stream, &mut scratch[..]) {
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

/// Reads what is waiting on `stream` into `buf`, as `try_read` does. A read that leaves room in `buf` emptied the
/// socket's receive queue (a TCP read returns all that is there, up to the room it is given), so the readiness the
/// runtime saw is then forgotten, as Tokio's own `poll_read` does: the next wait for data (the next head, or the
/// watch on a parked poll) goes to the poller instead of making a read that finds nothing. Data that arrives
/// meanwhile is a new readiness event, which is kept. Only where the poller is edge-triggered (epoll).
#[cfg(any(target_os = "linux", target_os = "android"))]
fn read_emptying(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let room = buf.len();
    let mut read = 0;
    let emptied = stream.try_io(tokio::io::Interest::READABLE, || {
        read = stream.try_read(buf)?;
        if read > 0 && read < room {
            // Reported as "would block" so that the runtime clears the readiness this read started from.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    });
    match emptied {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock && read > 0 => Ok(read),
        Err(error) => Err(error),
        Ok(()) => Ok(read),
    }
}

/// Reads what is waiting on `stream` into `buf` (a level-triggered poller: nothing to forget).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn read_emptying(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    stream.try_read(buf)
}

/// Serves one request and writes its response. The request is handed to the service before the returned future
/// starts, so that future keeps only what the response needs. A client that takes none of a response for
/// `stall_limit` loses its connection.
fn serve_one<'a, S: Service>(
    stream: &'a mut TcpStream,
    head: Box<Head>,
    service: &'a S,
    peer: SocketAddr,
    stall_limit: Duration,
) -> impl Future<Output = io::Result<Answered>> + 'a {
    let Head {
        request,
        keep_alive,
        ..
    } = *head;
    let mut framing = Framing::new(request.method(), request.version(), keep_alive);
    let answer = service.call(request, peer);
    async move {
        let Some(response) = WhileConnected::new(stream, answer).await else {
            return Err(io::ErrorKind::ConnectionAborted.into());
        };
        // Encoded before any further wait, so the response's parts are not kept while the bytes go out (nor
        // borrowed before: a borrowed local is kept across every later wait).
        let (head, body, switching, chunks) = encode(response, &mut framing);
        if let Some(chunks) = chunks {
            // Boxed: only streamed responses pay for what the stream keeps.
            Box::pin(write_streamed(stream, head, chunks, stall_limit)).await?;
            return Ok(Answered::Close);
        }
        // Usually the socket takes it all at once; only a response that has to wait for room gets a future (boxed:
        // inline, the write stage would set the size of every connection's task).
        let written = try_write_both(stream, &head, &body)?;
        let (head_left, body_left) = unwritten(&head, &body, written);
        if !head_left.is_empty() || !body_left.is_empty() {
            Box::pin(write_both(stream, head_left, body_left, stall_limit)).await?;
        }
        Ok(if switching {
            Answered::Switched
        } else if framing.keep_alive {
            Answered::KeepAlive
        } else {
            Answered::Close
        })
    }
}

/// A body up to this size is copied after its head, so that the response goes out in one plain `write` (a
/// vectored write costs the kernel more than copying a small body does).
const INLINE_BODY: usize = 2048;

/// The response's head, the body bytes to send after it, whether it is a 101, and the chunks of a streamed body
/// (its head then has no length). A body of at most [`INLINE_BODY`] bytes comes already written after the head.
fn encode(
    response: Response<Body>,
    framing: &mut Framing,
) -> (
    Vec<u8>,
    Bytes,
    bool,
    Option<tokio::sync::mpsc::Receiver<Bytes>>,
) {
    let (parts, body) = response.into_parts();
    let head_size = 128 + parts.headers.len() * 40;
    if let Some(chunks) = parts
        .extensions
        .get::<Streamed>()
        .and_then(|streamed| streamed.take())
    {
        let mut head = Vec::with_capacity(head_size);
        encode_streamed_head(parts.status, &parts.headers, framing, &mut head);
        return (head, Bytes::new(), false, Some(chunks));
    }
    let body = full_bytes(body);
    let inline = body.len() <= INLINE_BODY;
    let mut head = Vec::with_capacity(head_size + if inline { body.len() } else { 0 });
    encode_head(parts.status, &parts.headers, body.len(), framing, &mut head);
    let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
    if !framing.sends_body(parts.status) {
        return (head, Bytes::new(), switching, None);
    }
    if inline {
        head.extend_from_slice(&body);
        return (head, Bytes::new(), switching, None);
    }
    (head, body, switching, None)
}

/// The bytes of a complete body. `Body` is `Full`: its one data frame is ready at once, and taking it is all a
/// collect would do, without the collect's buffer.
fn full_bytes(mut body: Body) -> Bytes {
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match std::pin::Pin::new(&mut body).poll_frame(&mut cx) {
        std::task::Poll::Ready(Some(Ok(frame))) => frame.into_data().unwrap_or_default(),
        std::task::Poll::Ready(Some(Err(never))) => match never {},
        std::task::Poll::Ready(None) | std::task::Poll::Pending => Bytes::new(),
    }
}

/// Writes a streamed response: its head, then each chunk as it comes, until the sender is done or the client
/// closes its side (or sends anything: a streamed response is the connection's last).
async fn write_streamed(
    stream: &mut TcpStream,
    head: Vec<u8>,
    mut chunks: tokio::sync::mpsc::Receiver<Bytes>,
    stall_limit: Duration,
) -> io::Result<()> {
    write_both(stream, &head, &[], stall_limit).await?;
    loop {
        tokio::select! {
            chunk = chunks.recv() => match chunk {
                Some(chunk) => write_both(stream, &[], &chunk, stall_limit).await?,
                None => break,
            },
            readable = stream.readable() => {
                readable?;
                let mut probe = [0u8; 64];
                match stream.try_read(&mut probe) {
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => continue,
                    _ => break,
                }
            }
        }
    }
    stream.shutdown().await
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

/// Writes what the socket takes now of `head` then `body`, in one system call (a plain write when there is no
/// separate body): how many bytes went, 0 when the socket has no room.
fn try_write_both(stream: &TcpStream, head: &[u8], body: &[u8]) -> io::Result<usize> {
    let written = if body.is_empty() {
        stream.try_write(head)
    } else {
        stream.try_write_vectored(&[IoSlice::new(head), IoSlice::new(body)])
    };
    match written {
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(0),
        written => written,
    }
}

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
            } else if body.is_empty() {
                stream.write(head).await
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

    /// A hold the size of the listener's, which does something when dropped.
    struct Hold(#[expect(dead_code, reason = "its size is the point")] [usize; 4]);

    impl Drop for Hold {
        fn drop(&mut self) {}
    }

    /// A service that answers nothing.
    struct Nothing(crate::Limits);

    impl Service for Nothing {
        fn call(
            &self,
            _: http::Request<crate::RequestBody>,
            _: SocketAddr,
        ) -> crate::ResponseFuture<'_> {
            Box::pin(std::future::pending())
        }
        fn limits(&self) -> &crate::Limits {
            &self.0
        }
        fn refused(&self, _: &'static str, _: std::net::IpAddr) {}
    }

    /// A service whose every answer streams the chunks `"one"` and `"two"`, then ends.
    struct Streaming(crate::Limits);

    impl Service for Streaming {
        fn call(
            &self,
            _: http::Request<crate::RequestBody>,
            _: SocketAddr,
        ) -> crate::ResponseFuture<'_> {
            let (sender, streamed) = Streamed::channel(1);
            tokio::spawn(async move {
                for chunk in ["one", "two"] {
                    if sender
                        .send(Bytes::from_static(chunk.as_bytes()))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
            let mut response = crate::complete(200, "text/event-stream", Bytes::new());
            response.extensions_mut().insert(streamed);
            Box::pin(std::future::ready(response))
        }
        fn limits(&self) -> &crate::Limits {
            &self.0
        }
        fn refused(&self, _: &'static str, _: std::net::IpAddr) {}
    }

    #[tokio::test]
    async fn a_streamed_answer_has_no_length_and_ends_with_its_sender() {
        use tokio::io::AsyncReadExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limits = crate::Limits {
            head_timeout: Duration::from_secs(5),
            body_timeout: Duration::from_secs(5),
            max_head: 8192,
        };
        tokio::spawn(async move {
            let (stream, peer) = listener.accept().await.unwrap();
            serve_connection(stream, peer, Arc::new(Streaming(limits)), ()).await;
        });
        let mut client = TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut answer = String::new();
        tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut answer))
            .await
            .expect("the answer ends")
            .unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head");
        let head = head.to_ascii_lowercase();
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(head.contains("connection: close"), "{head}");
        assert!(!head.contains("content-length"), "{head}");
        assert_eq!(body, "onetwo");
    }

    /// The most the task of a connection may take while its long poll is parked (every idle polling session and
    /// every idle keep-alive connection pays it), with a hold the size of the listener's; in a test (debug) build.
    /// The gateway checks the same limit with its own service and hold.
    const CONNECTION_TASK_MAX: usize = 288;

    #[test]
    fn an_idle_connection_task_stays_small() {
        fn future_size<A, B, C, D, F: Future>(_: fn(A, B, C, D) -> F) -> usize {
            std::mem::size_of::<F>()
        }
        let size = future_size(serve_connection::<Nothing, Hold>);
        assert!(size <= CONNECTION_TASK_MAX, "{size}");
    }
}
