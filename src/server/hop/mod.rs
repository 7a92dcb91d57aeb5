//! No sticky sessions: a request of a session held by another node of the cluster (its id starts with that
//! node's tag) is passed to that node's public listener and answered as if it had landed there.
//!
//! - Long-poll GETs and POSTs go over keep-alive connections pooled per peer ([`peer_pool`]); a WebSocket
//!   upgrade gets a connection of its own, spliced to the client's once the peer answers `101` ([`upgrade`]).
//! - Each passed request carries a [`proof`] made with the cluster's hop secret: the client's address and scheme
//!   as this node saw them, for the time and the request. The receiving node believes only a valid proof, takes
//!   the client's address from it, and never passes such a request on again.
//! - A session of no live node (a node that died, a stale id), a cluster whose hop secret is not known yet, or a
//!   peer that cannot be reached: the request is served here, where the session is unknown, so the client gets
//!   the protocol's "Session ID unknown" and reconnects at once.

mod dialer;
mod metrics;
mod peer_pool;
pub mod proof;
mod upgrade;

pub use metrics::{HopKind, HopMetrics};
pub use proof::Hopped;

use self::dialer::Dialer;
use self::peer_pool::{PeerPools, SendError};
use super::endpoint::ResponseFuture;
use super::router::{EndpointRequest, Sio09Request};
use crate::cluster::Cluster;
use crate::engineio::http::{Body, RequestBody, complete};
use crate::engineio::sio09::Sio09Route;
use crate::engineio::{EngineError, EngineRequest, NodeTag, is_upgrade_request};
use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue, RETRY_AFTER};
use http::{Method, Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How much longer than a parked poll's longest wait (ping interval plus ping timeout) a passed request may take.
const ANSWER_MARGIN: Duration = Duration::from_secs(5);

/// The largest answer body taken from a peer.
const MAX_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// How often one kind of failure with one peer is logged.
const WARN_EVERY: Duration = Duration::from_secs(5);

/// Headers that belong to one connection, never passed on (RFC 9110 section 7.6.1), and the length, which the
/// next writer sets from the body it sends.
const CONNECTION_HEADERS: [&str; 8] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
];

/// What passing a request of one endpoint needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct EndpointLimits {
    /// The longest a parked poll waits: the endpoint's ping interval plus ping timeout.
    pub poll_wait: Duration,
    /// The largest request body the endpoint takes.
    pub max_payload: u64,
}

/// This node's side of passing requests between nodes.
pub struct Hop {
    cluster: Arc<Cluster>,
    dialer: Dialer,
    pools: PeerPools,
    metrics: HopMetrics,
    /// When each peer was last logged, per kind of failure.
    warned: Mutex<HashMap<(NodeTag, &'static str), Instant>>,
}

impl Hop {
    /// The hop of this node of `cluster`; connecting to a peer takes at most the cluster's `peer_timeout`, from
    /// this node's advertised address when it is one of this machine's.
    pub fn new(cluster: Arc<Cluster>, metrics: HopMetrics) -> Self {
        let dialer = Dialer::new(
            advertised_ip(&cluster.me().advertise),
            cluster.peer_timeout(),
        );
        Self {
            cluster,
            dialer,
            pools: PeerPools::new(dialer, MAX_ANSWER_BYTES, metrics.idle_closed()),
            metrics,
            warned: Mutex::default(),
        }
    }

    /// The tag of the node holding the session `request` names, when that is another node.
    pub fn elsewhere(&self, request: &EndpointRequest) -> Option<NodeTag> {
        let sid = match request {
            EndpointRequest::EngineIo(_, EngineRequest::Session(sid, _)) => *sid,
            EndpointRequest::Sio09(
                _,
                Sio09Request {
                    route: Some(Sio09Route::Transport(_, sid) | Sio09Route::NoTransport(sid)),
                    ..
                },
            ) => *sid,
            _ => None,
        }?;
        let tag = sid.tag();
        (tag != self.cluster.tag()).then_some(tag)
    }

    /// Takes the hop proof out of `req`: the client it names when the proof is valid; `None` for a request
    /// without one, and for one whose proof is not believed (then it is served as an ordinary request).
    pub fn arrival(&self, req: &mut Request<RequestBody>) -> Option<Hopped> {
        let proof = req.headers_mut().remove(proof::HEADER)?;
        let Some(secret) = self.cluster.membership().hop_secret() else {
            self.metrics.failed("bad_proof");
            return None;
        };
        let target = req.uri().path_and_query().map_or("/", |t| t.as_str());
        let checked = proof
            .to_str()
            .map_err(|_| proof::ProofError::Malformed)
            .and_then(|proof| {
                proof::verify(
                    secret.as_bytes(),
                    proof::now(),
                    proof,
                    req.method().as_str(),
                    target,
                )
            });
        match checked {
            Ok(hopped) => Some(hopped),
            Err(why) => {
                tracing::debug!(%why, "a hop proof was not believed; served as an ordinary request");
                self.metrics.failed("bad_proof");
                None
            }
        }
    }

    /// Whether `address` is the address a live peer node advertises (its connections are not counted per IP:
    /// the clients they carry are).
    pub fn is_peer(&self, address: IpAddr) -> bool {
        self.cluster
            .membership()
            .live()
            .iter()
            .any(|(_, peer)| advertised_ip(&peer.advertise) == Some(address))
    }

    /// Passes `req` (of `client`, for a session of the node `owner`) to that node; `local` serves it here instead,
    /// where the session is unknown, when no live node has that tag or the node cannot be reached.
    pub fn pass<'a>(
        &'a self,
        owner: NodeTag,
        req: Request<RequestBody>,
        client: Hopped,
        limits: EndpointLimits,
        local: impl FnOnce(Request<RequestBody>) -> ResponseFuture<'a> + Send + 'a,
    ) -> ResponseFuture<'a> {
        let Some(peer) = self.cluster.membership().peer(owner) else {
            self.metrics.failed("no_live_node");
            return local(req);
        };
        let Some(secret) = self.cluster.membership().hop_secret() else {
            self.metrics.failed("no_secret");
            return local(req);
        };
        let kind = if is_upgrade_request(&req) {
            HopKind::Websocket
        } else if req.method() == Method::GET {
            HopKind::PollingGet
        } else {
            HopKind::Post
        };
        let target = req
            .uri()
            .path_and_query()
            .map_or_else(|| "/".to_string(), |t| t.as_str().to_string());
        let proof = proof::make(
            secret.as_bytes(),
            proof::now(),
            client,
            req.method().as_str(),
            &target,
        );
        Box::pin(async move {
            let started = Instant::now();
            let answer = match kind {
                HopKind::Websocket => {
                    self.pass_upgrade(owner, &peer.advertise, req, target, proof, limits)
                        .await
                }
                _ => {
                    self.pass_polling(owner, &peer.advertise, req, target, proof, limits)
                        .await
                }
            };
            match answer {
                Ok(response) => {
                    self.metrics.passed(kind);
                    self.metrics.took(kind, started.elapsed());
                    response
                }
                Err(req) => local(req).await,
            }
        })
    }

    /// A long-poll GET or a POST, over a pooled connection; `Err` gives the request back to be served here.
    async fn pass_polling(
        &self,
        owner: NodeTag,
        address: &str,
        req: Request<RequestBody>,
        target: String,
        proof: String,
        limits: EndpointLimits,
    ) -> Result<Response<Body>, Request<RequestBody>> {
        let lease = match self.pools.lease(address).await {
            Ok(lease) => lease,
            Err(SendError::Busy) => {
                self.metrics.failed("peer_busy");
                return Ok(busy());
            }
            Err(error) => {
                self.unreachable(owner, address, &error);
                return Err(req);
            }
        };
        let (parts, body) = req.into_parts();
        let body = match read_body(body, limits.max_payload).await {
            Ok(body) => body,
            Err(error) => return Ok(crate::engineio::http::error(&error)),
        };
        let mut request = request_head(
            &parts.method,
            &target,
            &parts.headers,
            &proof,
            Some(body.len()),
        );
        drop(parts);
        request.extend_from_slice(&body);
        drop(body);
        let exchange = async {
            let answer = self.pools.exchange(lease, &request).await?;
            let mut response = Response::new(Full::new(answer.body));
            *response.status_mut() = answer.status;
            *response.headers_mut() = answer.headers;
            strip_connection_headers(response.headers_mut());
            Ok::<_, SendError>(response)
        };
        let wait = limits.poll_wait + ANSWER_MARGIN;
        match tokio::time::timeout(wait, exchange).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(SendError::Connect(error))) => {
                self.unreachable(owner, address, &error);
                Ok(crate::engineio::http::error(&EngineError::SessionUnknown))
            }
            Ok(Err(error)) => {
                tracing::debug!(peer = %address, %error, "cluster: a request passed to a peer node failed");
                self.metrics.failed("peer_error");
                Ok(bad_gateway())
            }
            Err(_) => {
                // The connection is dropped with the exchange: the peer's parked poll learns its client is gone.
                self.metrics.failed("timeout");
                if self.due(owner, "timeout") {
                    tracing::warn!(
                        peer = %address,
                        tag = %owner,
                        wait_ms = wait.as_millis() as u64,
                        "cluster: the node holding a session did not answer a passed request in time; its client gets 504"
                    );
                }
                Ok(gateway_timeout())
            }
        }
    }

    /// A WebSocket upgrade, over a connection of its own; `Err` gives the request back to be served here.
    async fn pass_upgrade(
        &self,
        owner: NodeTag,
        address: &str,
        req: Request<RequestBody>,
        target: String,
        proof: String,
        limits: EndpointLimits,
    ) -> Result<Response<Body>, Request<RequestBody>> {
        let upstream = match self.dialer.connect(address).await {
            Ok(upstream) => upstream,
            Err(error) => {
                self.unreachable(owner, address, &error);
                return Err(req);
            }
        };
        let head = request_head(req.method(), &target, req.headers(), &proof, None);
        let wait = limits.poll_wait.min(Duration::from_secs(10)) + ANSWER_MARGIN;
        match upgrade::pass(upstream, wait, head, req).await {
            Ok(response) => Ok(response),
            Err(error) => {
                tracing::debug!(peer = %address, %error, "cluster: an upgrade passed to a peer node failed");
                self.metrics.failed("peer_error");
                Ok(bad_gateway())
            }
        }
    }

    /// Counts and (at most every few seconds per peer) logs a peer that cannot be reached.
    fn unreachable(&self, owner: NodeTag, address: &str, error: &dyn std::fmt::Display) {
        self.metrics.failed("connect");
        if self.due(owner, "connect") {
            tracing::warn!(
                peer = %address,
                tag = %owner,
                %error,
                "cluster: cannot reach the node holding a session; its clients are told the session is unknown"
            );
        }
    }

    /// Whether a failure of kind `what` with the peer `owner` is to be logged now: at most every few seconds per
    /// peer and kind, so a burst is one line.
    fn due(&self, owner: NodeTag, what: &'static str) -> bool {
        let mut warned = self.warned.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let due = warned
            .get(&(owner, what))
            .is_none_or(|last| now.duration_since(*last) >= WARN_EVERY);
        if due {
            // Peers that left are forgotten with their last line.
            warned.retain(|_, last| now.duration_since(*last) < WARN_EVERY);
            warned.insert((owner, what), now);
        }
        due
    }
}

/// The IP of an advertised `host:port`, when the host is an IP literal.
fn advertised_ip(advertise: &str) -> Option<IpAddr> {
    let (host, _) = advertise.rsplit_once(':')?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.parse().ok()
}

/// A request head as the peer gets it: the client's headers (for a request with a body, without its framing,
/// which `content_length` restates), then the proof.
fn request_head(
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    proof: &str,
    content_length: Option<usize>,
) -> Vec<u8> {
    let mut head = Vec::with_capacity(1024 + content_length.unwrap_or(0));
    head.extend_from_slice(method.as_str().as_bytes());
    head.push(b' ');
    head.extend_from_slice(target.as_bytes());
    head.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        let skipped = name == proof::HEADER
            || name == header::CONTENT_LENGTH
            || (content_length.is_some() && CONNECTION_HEADERS.contains(&name.as_str()));
        if skipped {
            continue;
        }
        head.extend_from_slice(name.as_str().as_bytes());
        head.extend_from_slice(b": ");
        head.extend_from_slice(value.as_bytes());
        head.extend_from_slice(b"\r\n");
    }
    head.extend_from_slice(proof::HEADER.as_bytes());
    head.extend_from_slice(b": ");
    head.extend_from_slice(proof.as_bytes());
    head.extend_from_slice(b"\r\n");
    if let Some(length) = content_length {
        head.extend_from_slice(format!("content-length: {length}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

fn strip_connection_headers(headers: &mut HeaderMap) {
    for name in CONNECTION_HEADERS {
        headers.remove(name);
    }
}

/// The body of a passed request, with the limits the endpoint applies (its `max_payload`; `body_timeout` is
/// the request body's own).
async fn read_body(body: RequestBody, limit: u64) -> Result<Bytes, EngineError> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => {
            Err(EngineError::PayloadTooLarge)
        }
        Err(error) if crate::engineio::http::BodyError::is_timeout(&*error) => {
            Err(EngineError::RequestTimeout)
        }
        Err(_) => Err(EngineError::BadRequest),
    }
}

fn busy() -> Response<Body> {
    let mut response = complete(
        503,
        "text/plain; charset=UTF-8",
        "too many requests to a peer node",
    );
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

fn gateway_timeout() -> Response<Body> {
    complete(
        504,
        "text/plain; charset=UTF-8",
        "the node holding this session did not answer in time",
    )
}

fn bad_gateway() -> Response<Body> {
    complete(502, "text/plain; charset=UTF-8", "Bad Gateway")
}
