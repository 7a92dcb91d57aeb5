//! Requests served by hyper: one request with a body (then the connection comes back), or the rest of a
//! connection (pipelined requests, `CONNECT`, anything unusual). Hyper upgrades nothing: a request it serves
//! carries no [`crate::OnUpgrade`], so a WebSocket handshake with a body is refused by the service.

use crate::rewind::Rewind;
use crate::{Body, Limits, RequestBody, Service, complete, has_token};
use bytes::{Bytes, BytesMut};
use http::header::CONNECTION;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Hyper's connection settings, from the service's limits.
fn builder(settings: Limits) -> http1::Builder {
    let mut builder = http1::Builder::new();
    // With a timer, hyper enforces its header-read timeout: a connection that starts a request and never
    // finishes its head (slowloris) is closed instead of holding a descriptor and buffers forever. Its read
    // buffer limit is the listener's head limit, so hyper answers a longer head with 431 as the own path does.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.head_timeout)
        .max_buf_size(settings.max_head)
        .keep_alive(true);
    builder
}

/// Hands one request hyper read to `service`: its body must arrive within the `body_timeout` (else the service
/// answers 408, counted and logged with the peer, and the connection closes).
async fn serve_request<S: Service>(
    service: &S,
    req: http::Request<hyper::body::Incoming>,
    peer: SocketAddr,
) -> http::Response<Body> {
    let limit = service.limits().body_timeout;
    if head_size(&req) > service.limits().max_head {
        // Hyper's buffer limit is checked only while a head is incomplete, and one read may take more than it
        // (a pipelined request's head arrives with the one before): what reaches the application is checked here.
        service.refused("request_head_too_large", peer.ip());
        let mut response = complete(
            http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE.as_u16(),
            "text/plain; charset=UTF-8",
            "",
        );
        response
            .headers_mut()
            .insert(CONNECTION, http::HeaderValue::from_static("close"));
        return response;
    }
    let response = service
        .call(req.map(|body| RequestBody::timed(body, limit)), peer)
        .await;
    if response.status() == http::StatusCode::REQUEST_TIMEOUT {
        service.refused("body_timeout", peer.ip());
    }
    response
}

/// The size of the head `req` came in, at least: its request line and header lines without optional whitespace.
fn head_size<B>(req: &http::Request<B>) -> usize {
    let target = req
        .uri()
        .path_and_query()
        .map_or(req.uri().to_string().len(), |target| target.as_str().len());
    let headers: usize = req
        .headers()
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum();
    req.method().as_str().len() + target + " HTTP/1.1\r\n".len() + 1 + headers + "\r\n".len()
}

/// Serves `io` with hyper until the connection ends, with the service's limits.
pub async fn serve_with_hyper<S, I>(io: I, peer: SocketAddr, service: Arc<S>)
where
    S: Service,
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let settings = *service.limits();
    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let service = service.clone();
        async move { Ok::<_, Infallible>(serve_request(&*service, req, peer).await) }
    });
    let result = builder(settings)
        .serve_connection(TokioIo::new(io), service)
        .await;
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
    }
}

/// What is left of a connection after hyper served one request on it.
pub enum Returned {
    /// The connection is idle again, nothing read ahead: the bodyless path takes it back.
    Idle(TcpStream),
    /// The client sent more before the response was done: hyper keeps the connection, starting with these bytes.
    ReadAhead(Rewind<TcpStream>),
    /// The connection is over (closed, failed, or not to be kept alive).
    Done,
}

/// The service future of [`serve_one_with_hyper`].
type OneFuture = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<http::Response<Body>, Infallible>> + Send>,
>;

/// The first request was answered.
const ANSWERED: u32 = 1 << 30;
/// The first answer said `Connection: close`.
const CLOSING: u32 = 1 << 31;
/// The low bits count the requests hyper received.
const CALLS: u32 = ANSWERED - 1;

/// Serves the one request whose bytes (head, maybe some body) were already read, with hyper, then returns the
/// connection. `request` is those bytes, whether the request allowed keep-alive, and the message's length when
/// its head tells it: hyper then reads nothing past it. Without a length (chunked bodies), should the client get
/// a second request in before hyper is told to stop, hyper keeps the connection to its end.
pub async fn serve_one_with_hyper<S: Service>(
    stream: TcpStream,
    request: Box<(Bytes, bool, Option<u64>)>,
    peer: SocketAddr,
    service: Arc<S>,
) -> Returned {
    let (read, keep_alive, length) = *request;
    let settings = *service.limits();
    let state = Arc::new(AtomicU32::new(0));
    let seen = state.clone();
    let service = service_fn(
        move |req: http::Request<hyper::body::Incoming>| -> OneFuture {
            let first = seen.fetch_add(1, Ordering::AcqRel) & CALLS == 0;
            let (service, seen) = (service.clone(), seen.clone());
            Box::pin(async move {
                let response = serve_request(&*service, req, peer).await;
                if first {
                    let closing = response
                        .headers()
                        .get_all(CONNECTION)
                        .iter()
                        .any(|v| has_token(v.as_bytes(), "close"));
                    seen.fetch_or(
                        ANSWERED | if closing { CLOSING } else { 0 },
                        Ordering::AcqRel,
                    );
                }
                Ok(response)
            })
        },
    );
    let io = Rewind::one_message(stream, read, length).with_write_limit(settings.body_timeout);
    let mut connection = builder(settings).serve_connection(TokioIo::new(io), service);
    let mut shutting_down = false;
    let result = std::future::poll_fn(|cx| {
        let polled = connection.poll_without_shutdown(cx);
        if polled.is_pending()
            && !shutting_down
            && state.load(Ordering::Acquire) & !CLOSING == ANSWERED | 1
        {
            // The response head is written: no keep-alive after it, so hyper stops once it is sent and hands
            // the connection back instead of reading (and buffering) the next request.
            shutting_down = true;
            std::pin::Pin::new(&mut connection).graceful_shutdown();
            return connection.poll_without_shutdown(cx);
        }
        polled
    })
    .await;
    if let Err(error) = result {
        tracing::debug!(%peer, %error, "connection ended with an error");
        return Returned::Done;
    }
    let flags = state.load(Ordering::Acquire);
    let parts = connection.into_parts();
    let io = parts.io.into_inner();
    let message_read = io.message_read();
    let (replay, mut stream) = io.into_parts();
    if flags & !CLOSING != ANSWERED | 1 || flags & CLOSING != 0 || !keep_alive || !message_read {
        // What hyper would have done had it kept the connection: end it once the response is out.
        let _ = stream.shutdown().await;
        return Returned::Done;
    }
    if parts.read_buf.is_empty() && replay.is_empty() {
        return Returned::Idle(stream);
    }
    let mut ahead = BytesMut::from(parts.read_buf);
    ahead.extend_from_slice(&replay);
    Returned::ReadAhead(Rewind::new(stream, ahead.freeze()).with_write_limit(settings.body_timeout))
}

#[cfg(test)]
mod tests {
    use super::head_size;

    #[test]
    fn the_head_size_counts_the_request_line_and_every_header_line() {
        let raw = "GET /engine.io/?EIO=4 HTTP/1.1\r\nhost: x\r\ncookie: abc\r\ncookie: d\r\n\r\n";
        let req = http::Request::get("/engine.io/?EIO=4")
            .header("host", "x")
            .header("cookie", "abc")
            .header("cookie", "d")
            .body(())
            .unwrap();
        assert_eq!(head_size(&req), raw.len());
    }
}
