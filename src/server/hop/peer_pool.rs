//! Keep-alive HTTP/1.1 connections to the other nodes' public listeners, one pool per peer address: at most
//! [`MAX_REQUESTS_PER_PEER`] requests in flight to one peer (each on a connection of its own, since a long poll
//! holds its connection while it is parked) and at most [`MAX_IDLE_PER_PEER`] idle connections kept. Connecting
//! takes at most the connect timeout. A request whose caller stops waiting (its client left) is cancelled: hyper
//! closes that connection, and the peer's parked poll learns its client is gone.

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most requests in flight to one peer at once (each holds one connection).
pub const MAX_REQUESTS_PER_PEER: usize = 16384;

/// The most idle keep-alive connections kept per peer.
pub const MAX_IDLE_PER_PEER: usize = 256;

type Sender = SendRequest<Full<Bytes>>;

/// Why no request could be sent to a peer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// [`MAX_REQUESTS_PER_PEER`] are in flight already.
    #[error("too many requests in flight to the peer")]
    Busy,
    /// No connection could be opened within the connect timeout.
    #[error("cannot connect: {0}")]
    Connect(io::Error),
    /// The connection failed before a response head arrived.
    #[error("{0}")]
    Exchange(hyper::Error),
    /// The answer's body failed or was over the limit.
    #[error("answer body: {0}")]
    Answer(String),
}

/// Every peer's pool.
pub struct PeerPools {
    connect_timeout: Duration,
    peers: Mutex<HashMap<String, Arc<PeerPool>>>,
}

/// One peer's connections.
struct PeerPool {
    address: String,
    idle: Mutex<Vec<Sender>>,
    in_flight: Arc<Semaphore>,
}

/// A connection lent for one request, with its place among the peer's requests in flight.
pub struct Lease {
    pool: Arc<PeerPool>,
    sender: Sender,
    reused: bool,
    _place: OwnedSemaphorePermit,
}

impl PeerPools {
    /// Pools whose connections are opened within `connect_timeout`.
    pub fn new(connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
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
        if let Some(sender) = pool.take_idle() {
            return Ok(Lease {
                pool,
                sender,
                reused: true,
                _place: place,
            });
        }
        let sender = pool
            .connect(self.connect_timeout)
            .await
            .map_err(SendError::Connect)?;
        Ok(Lease {
            pool,
            sender,
            reused: false,
            _place: place,
        })
    }

    fn pool(&self, address: &str) -> Arc<PeerPool> {
        let mut peers = self.peers.lock().unwrap_or_else(|p| p.into_inner());
        peers
            .entry(address.to_string())
            .or_insert_with(|| {
                Arc::new(PeerPool {
                    address: address.to_string(),
                    idle: Mutex::default(),
                    in_flight: Arc::new(Semaphore::new(MAX_REQUESTS_PER_PEER)),
                })
            })
            .clone()
    }
}

impl PeerPool {
    /// The connection idle the shortest time that can still carry a request.
    fn take_idle(&self) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(sender) = idle.pop() {
            if !sender.is_closed() {
                return Some(sender);
            }
        }
        None
    }

    /// Keeps `sender` for the next request. Its connection may not be ready yet (the task driving it has not
    /// seen the end of the last answer): the next request waits for it.
    fn put_back(&self, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        idle.retain(|sender| !sender.is_closed());
        if idle.len() < MAX_IDLE_PER_PEER {
            idle.push(sender);
        }
    }

    async fn connect(&self, timeout: Duration) -> io::Result<Sender> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(self.address.as_str()))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(io::Error::other)?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "cluster: a connection to a peer node ended");
            }
        });
        Ok(sender)
    }
}

impl Lease {
    /// Sends the request `make` builds and waits for its response head; a reused connection the peer closed
    /// meanwhile is replaced by a new one and the request sent again, once.
    pub async fn send(
        mut self,
        connect_timeout: Duration,
        make: impl Fn() -> Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Lease), SendError> {
        loop {
            if self.reused && self.sender.ready().await.is_err() {
                self.sender = self
                    .pool
                    .connect(connect_timeout)
                    .await
                    .map_err(SendError::Connect)?;
                self.reused = false;
            }
            match self.sender.try_send_request(make()).await {
                Ok(response) => return Ok((response, self)),
                Err(error) if self.reused && retryable(error.error()) => {
                    self.sender = self
                        .pool
                        .connect(connect_timeout)
                        .await
                        .map_err(SendError::Connect)?;
                    self.reused = false;
                }
                Err(error) => return Err(SendError::Exchange(error.into_error())),
            }
        }
    }

    /// Gives the connection back for the next request (once its response was read whole).
    pub fn release(self) {
        self.pool.put_back(self.sender);
    }
}

/// Whether a reused connection failed the way a connection the peer closed while it was idle fails.
fn retryable(error: &hyper::Error) -> bool {
    error.is_canceled() || error.is_incomplete_message() || error.is_closed()
}
