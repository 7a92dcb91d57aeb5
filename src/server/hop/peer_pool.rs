//! Keep-alive HTTP/1.1 connections to the other nodes' public listeners, one pool per peer address, and the one
//! exchange the hop makes on them: a request written whole, its answer read whole, in the caller's own task (no
//! connection task to wake and wait for, as a general client has). At most [`MAX_REQUESTS_PER_PEER`] requests are
//! in flight to one peer (each on a connection of its own, since a long poll holds its connection while it is
//! parked) and at most [`MAX_IDLE_PER_PEER`] idle connections are kept: a connection whose answer finds them all
//! there is closed, counted (`iogate_hop_idle_closed_total`) and logged once per burst. Connecting takes at most the connect
//! timeout. A caller that stops waiting (its client left) drops the connection: the peer's parked poll learns its
//! client is gone.
//!
//! The peer is iogate: its answers have a `Content-Length` (or no body), so that is the only framing read; an
//! answer without one is read to the end of the connection, and a chunked one is refused.

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use prometheus_client::metrics::counter::Counter;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::dialer::Dialer;

/// The most requests in flight to one peer at once (each holds one connection).
pub const MAX_REQUESTS_PER_PEER: usize = 16384;

/// The most idle keep-alive connections kept per peer.
pub const MAX_IDLE_PER_PEER: usize = 256;

/// The largest answer head taken from a peer.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// The most header lines an answer head may have.
const MAX_HEADERS: usize = 100;

/// What the read buffer starts at, and the most it keeps for the next answer.
const INITIAL_READ: usize = 4096;

/// Why no answer came from a peer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// [`MAX_REQUESTS_PER_PEER`] are in flight already.
    #[error("too many requests in flight to the peer")]
    Busy,
    /// No connection could be opened within the connect timeout.
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    /// The exchange failed, or the answer was not one this hop reads.
    #[error("{0}")]
    Exchange(String),
}

/// A peer's answer, read whole.
#[derive(Debug)]
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its headers, as sent.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Bytes,
}

/// Every peer's pool.
pub struct PeerPools {
    dialer: Dialer,
    max_answer: usize,
    max_in_flight: usize,
    max_idle: usize,
    idle_closed: Counter,
    peers: Mutex<HashMap<String, Arc<PeerPool>>>,
}

/// One peer's connections.
struct PeerPool {
    address: String,
    idle: Mutex<Vec<TcpStream>>,
    in_flight: Arc<Semaphore>,
    max_idle: usize,
    idle_closed: Counter,
    /// Whether the last connection that finished found the idle ones at their bound (a burst is logged once).
    idle_full: AtomicBool,
}

/// How much one peer may hold.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Requests in flight.
    in_flight: usize,
    /// Idle connections kept.
    idle: usize,
}

/// A connection lent for one request, with its place among the peer's requests in flight.
pub struct Lease {
    pool: Arc<PeerPool>,
    stream: TcpStream,
    reused: bool,
    _place: OwnedSemaphorePermit,
}

impl PeerPools {
    /// Pools whose connections `dialer` opens, taking answer bodies of at most `max_answer` bytes; connections
    /// closed because the peer's idle ones are at their bound count in `idle_closed`.
    pub fn new(dialer: Dialer, max_answer: usize, idle_closed: Counter) -> Self {
        Self::bounded(
            dialer,
            max_answer,
            Bounds {
                in_flight: MAX_REQUESTS_PER_PEER,
                idle: MAX_IDLE_PER_PEER,
            },
            idle_closed,
        )
    }

    /// The same, with other bounds per peer.
    fn bounded(dialer: Dialer, max_answer: usize, bounds: Bounds, idle_closed: Counter) -> Self {
        Self {
            dialer,
            max_answer,
            max_in_flight: bounds.in_flight,
            max_idle: bounds.idle,
            idle_closed,
            peers: Mutex::default(),
        }
    }

    /// A connection to the peer at `address` (`host:port`): an idle one, or a new one.
    pub async fn lease(&self, address: &str) -> Result<Lease, SendError> {
        let pool = self.pool(address);
        let place = pool
            .in_flight
            .clone()
            .try_acquire_owned()
            .map_err(|_| SendError::Busy)?;
        if let Some(stream) = pool.take_idle() {
            return Ok(Lease {
                pool,
                stream,
                reused: true,
                _place: place,
            });
        }
        let stream = self
            .dialer
            .connect(&pool.address)
            .await
            .map_err(SendError::Connect)?;
        Ok(Lease {
            pool,
            stream,
            reused: false,
            _place: place,
        })
    }

    /// Sends `request` (head and body, written whole) on `lease` and reads the answer; a reused connection the
    /// peer closed meanwhile is replaced by a new one and the request sent again, once. The connection goes back
    /// to the pool when the answer leaves it able to carry another request.
    pub async fn exchange(&self, mut lease: Lease, request: &[u8]) -> Result<Answer, SendError> {
        loop {
            match exchange_once(&mut lease.stream, request, self.max_answer).await {
                Ok((answer, reusable)) => {
                    if reusable {
                        lease.pool.put_back(lease.stream);
                    }
                    return Ok(answer);
                }
                Err(Failure::Closed(_)) if lease.reused => {
                    lease.stream = self
                        .dialer
                        .connect(&lease.pool.address)
                        .await
                        .map_err(SendError::Connect)?;
                    lease.reused = false;
                }
                Err(Failure::Closed(error)) => {
                    return Err(SendError::Exchange(format!(
                        "connection closed before any answer: {error}"
                    )));
                }
                Err(Failure::Other(why)) => return Err(SendError::Exchange(why)),
            }
        }
    }

    fn pool(&self, address: &str) -> Arc<PeerPool> {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .entry(address.to_string())
            .or_insert_with(|| {
                Arc::new(PeerPool {
                    address: address.to_string(),
                    idle: Mutex::default(),
                    in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
                    max_idle: self.max_idle,
                    idle_closed: self.idle_closed.clone(),
                    idle_full: AtomicBool::new(false),
                })
            })
            .clone()
    }
}

impl PeerPool {
    /// The connection idle the shortest time on which the peer sent nothing meanwhile (the end of the stream,
    /// or bytes no request asked for, close it).
    fn take_idle(&self) -> Option<TcpStream> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(stream) = idle.pop() {
            if is_quiet(&stream) {
                return Some(stream);
            }
        }
        None
    }

    /// Keeps `stream` for the next request, or closes it when the idle ones are at their bound.
    fn put_back(&self, stream: TcpStream) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(stream);
            drop(idle);
            self.idle_full.store(false, Ordering::Relaxed);
            return;
        }
        drop(idle);
        drop(stream);
        self.idle_closed.inc();
        if !self.idle_full.swap(true, Ordering::Relaxed) {
            tracing::info!(
                peer = %self.address,
                max_idle = self.max_idle,
                "cluster: more connections to a peer node finished than are kept idle; the others are closed"
            );
        }
    }

    /// Idle connections kept now.
    #[cfg(test)]
    fn idle_count(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Whether nothing arrived on an idle connection since its last answer (checked without waiting).
fn is_quiet(stream: &TcpStream) -> bool {
    let mut peek = [0u8; 1];
    matches!(stream.try_read(&mut peek), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
}

enum Failure {
    /// Closed or reset before any byte of the answer: a reused connection the peer had closed.
    Closed(io::Error),
    Other(String),
}

/// One request and its answer; `true` with it when the connection can carry the next request.
async fn exchange_once(
    stream: &mut TcpStream,
    request: &[u8],
    max_answer: usize,
) -> Result<(Answer, bool), Failure> {
    stream.write_all(request).await.map_err(before_answer)?;
    let mut buf = BytesMut::with_capacity(INITIAL_READ);
    loop {
        let Some((head_len, head)) = parse_head(&buf)? else {
            if buf.len() >= MAX_HEAD_BYTES {
                return Err(Failure::Other("answer head too large".into()));
            }
            match stream.read_buf(&mut buf).await {
                Ok(0) if buf.is_empty() => {
                    return Err(Failure::Closed(io::ErrorKind::UnexpectedEof.into()));
                }
                Ok(0) => {
                    return Err(Failure::Other(
                        "connection closed in the answer head".into(),
                    ));
                }
                Ok(_) => {}
                Err(error) if buf.is_empty() => return Err(before_answer(error)),
                Err(error) => return Err(other(error)),
            }
            continue;
        };
        let mut rest = buf.split_off(head_len);
        if head.status.is_informational() {
            // `100 Continue` and the like: the final answer follows.
            buf = rest;
            continue;
        }
        let no_body =
            head.status == StatusCode::NO_CONTENT || head.status == StatusCode::NOT_MODIFIED;
        let (body, reusable) = match (no_body, head.length) {
            (true, _) => (Bytes::new(), head.keep_alive && rest.is_empty()),
            (false, Some(length)) => {
                if length > max_answer {
                    return Err(Failure::Other("answer body over the limit".into()));
                }
                while rest.len() < length {
                    rest.reserve(length - rest.len());
                    if stream.read_buf(&mut rest).await.map_err(other)? == 0 {
                        return Err(Failure::Other(
                            "connection closed in the answer body".into(),
                        ));
                    }
                }
                let reusable = head.keep_alive && rest.len() == length;
                rest.truncate(length);
                (rest.freeze(), reusable)
            }
            (false, None) => {
                while stream.read_buf(&mut rest).await.map_err(other)? > 0 {
                    if rest.len() > max_answer {
                        return Err(Failure::Other("answer body over the limit".into()));
                    }
                }
                (rest.freeze(), false)
            }
        };
        let answer = Answer {
            status: head.status,
            headers: head.headers,
            body,
        };
        return Ok((answer, reusable));
    }
}

struct Head {
    status: StatusCode,
    headers: HeaderMap,
    length: Option<usize>,
    keep_alive: bool,
}

/// The answer head at the start of `buf` and its length, `None` while incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(usize, Head)>, Failure> {
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut answer = httparse::Response::new(&mut slots);
    let len = match answer.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(error) => return Err(Failure::Other(format!("malformed answer head: {error}"))),
    };
    let status = answer
        .code
        .and_then(|code| StatusCode::from_u16(code).ok())
        .ok_or_else(|| Failure::Other("answer without a status".into()))?;
    let mut keep_alive = answer.version == Some(1);
    let mut length = None;
    let mut headers = HeaderMap::with_capacity(answer.headers.len());
    for header in answer.headers.iter() {
        let name = header.name.as_bytes();
        if name.eq_ignore_ascii_case(b"content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .and_then(|v| v.trim().parse::<usize>().ok())
                .ok_or_else(|| Failure::Other("invalid content-length".into()))?;
            if length.is_some_and(|seen| seen != value) {
                return Err(Failure::Other("conflicting content-length".into()));
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            return Err(Failure::Other("chunked answers are not read".into()));
        } else if name.eq_ignore_ascii_case(b"connection") {
            if iogate_h1::has_token(header.value, "close") {
                keep_alive = false;
            }
        } else if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name),
            HeaderValue::from_bytes(header.value),
        ) {
            headers.append(name, value);
        }
    }
    Ok(Some((
        len,
        Head {
            status,
            headers,
            length,
            keep_alive,
        },
    )))
}

fn before_answer(error: io::Error) -> Failure {
    match error.kind() {
        io::ErrorKind::BrokenPipe
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::NotConnected
        | io::ErrorKind::UnexpectedEof => Failure::Closed(error),
        _ => Failure::Other(error.to_string()),
    }
}

fn other(error: io::Error) -> Failure {
    Failure::Other(error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn dialer() -> Dialer {
        Dialer::new(None, Duration::from_secs(1))
    }

    fn head(text: &str) -> Head {
        match parse_head(text.as_bytes()) {
            Ok(Some((len, head))) => {
                assert_eq!(len, text.find("\r\n\r\n").unwrap() + 4);
                head
            }
            _ => panic!("not a complete head: {text:?}"),
        }
    }

    #[test]
    fn answer_heads_say_their_length_and_whether_the_connection_stays() {
        let ok = head(
            "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: keep-alive\r\n\r\nok",
        );
        assert_eq!(
            (ok.status.as_u16(), ok.length, ok.keep_alive),
            (200, Some(2), true)
        );
        assert_eq!(ok.headers.get("content-type").unwrap(), "text/plain");
        assert!(ok.headers.get("connection").is_none());
        let closing =
            head("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
        assert_eq!((closing.length, closing.keep_alive), (Some(0), false));
        let old = head("HTTP/1.0 200 OK\r\n\r\n");
        assert_eq!((old.length, old.keep_alive), (None, false));
    }

    #[test]
    fn incomplete_chunked_or_malformed_heads() {
        assert!(matches!(parse_head(b"HTTP/1.1 200 OK\r\n"), Ok(None)));
        assert!(matches!(parse_head(b""), Ok(None)));
        for bad in [
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            "HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\n",
            "garbage\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(bad.as_bytes()), Err(Failure::Other(_))),
                "{bad:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_exchange_reads_the_answer_whole_and_keeps_the_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut peer, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            for answer in [
                "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhel",
                "HTTP/1.1 204 No Content\r\n\r\n",
            ] {
                let _ = peer.read(&mut buf).await.unwrap();
                peer.write_all(answer.as_bytes()).await.unwrap();
                if answer.ends_with("hel") {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    peer.write_all(b"lo").await.unwrap();
                }
            }
        });
        let pools = PeerPools::new(dialer(), 1024, Counter::default());
        let lease = pools.lease(&address).await.unwrap();
        let answer = pools
            .exchange(lease, b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(
            (answer.status.as_u16(), &answer.body[..]),
            (200, &b"hello"[..])
        );
        let lease = pools.lease(&address).await.unwrap();
        assert!(lease.reused, "the connection went back to the pool");
        let answer = pools
            .exchange(lease, b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!((answer.status.as_u16(), answer.body.len()), (204, 0));
    }

    #[tokio::test]
    async fn requests_in_flight_per_peer_are_bounded_and_a_finished_one_frees_its_place() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let bounds = Bounds {
            in_flight: 2,
            idle: 2,
        };
        let pools = PeerPools::bounded(dialer(), 1024, bounds, Counter::default());
        let first = pools.lease(&address).await.unwrap();
        let _second = pools.lease(&address).await.unwrap();
        assert!(matches!(pools.lease(&address).await, Err(SendError::Busy)));
        drop(first);
        assert!(pools.lease(&address).await.is_ok());
        drop(listener);
    }

    #[tokio::test]
    async fn an_answer_longer_than_the_bound_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut peer, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = peer.read(&mut buf).await.unwrap();
            let _ = peer
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2048\r\n\r\n")
                .await;
        });
        let pools = PeerPools::new(dialer(), 1024, Counter::default());
        let lease = pools.lease(&address).await.unwrap();
        let answer = pools.exchange(lease, b"GET / HTTP/1.1\r\n\r\n").await;
        assert!(matches!(answer, Err(SendError::Exchange(_))), "{answer:?}");
    }

    #[tokio::test]
    async fn idle_connections_per_peer_are_bounded_and_the_others_closed_and_counted() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let closed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let closed_seen = closed.clone();
        tokio::spawn(async move {
            loop {
                let (mut peer, _) = listener.accept().await.unwrap();
                let closed = closed_seen.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 1024];
                    while matches!(peer.read(&mut buf).await, Ok(n) if n > 0) {
                        if peer
                            .write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
                            .await
                            .is_err()
                        {
                            break;
                        }
                    }
                    closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        let idle_closed = Counter::default();
        let bounds = Bounds {
            in_flight: 100,
            idle: 2,
        };
        let pools = PeerPools::bounded(dialer(), 1024, bounds, idle_closed.clone());

        // A burst: five requests in flight at once, each on a connection of its own.
        let mut leases = Vec::new();
        for _ in 0..5 {
            let lease = pools.lease(&address).await.unwrap();
            assert!(!lease.reused);
            leases.push(lease);
        }
        let exchanges = leases
            .into_iter()
            .map(|lease| pools.exchange(lease, b"GET / HTTP/1.1\r\n\r\n"));
        for answer in futures_util::future::join_all(exchanges).await {
            assert_eq!(answer.unwrap().status.as_u16(), 204);
        }
        assert_eq!(pools.pool(&address).idle_count(), 2);
        assert_eq!(idle_closed.get(), 3);
        for _ in 0..200 {
            if closed.load(Ordering::SeqCst) == 3 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            closed.load(Ordering::SeqCst),
            3,
            "the peer saw the others closed"
        );

        // The two kept carry the next requests.
        let first = pools.lease(&address).await.unwrap();
        let second = pools.lease(&address).await.unwrap();
        assert!(first.reused && second.reused);
        assert_eq!(closed.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_default_bounds_are_the_documented_ones() {
        let pools = PeerPools::new(dialer(), 1024, Counter::default());
        assert_eq!((pools.max_in_flight, pools.max_idle), (16_384, 256));
    }
}
