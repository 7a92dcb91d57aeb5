//! The front door of the public listener: trusted proxies and IIS, each request routed once into a [`Route`],
//! origins, CORS preflights, session limits, and draining.

use super::answer::{self, Finish, origin_headers};
use super::cors::Cors;
use super::endpoint::{ResponseFuture, Routed, Service};
use super::forwarded::TrustedProxies;
use super::health::{Probe, Readiness};
use super::hop::{EndpointLimits, Hop, Hopped};
use super::iis::{Candidates, IisSettings, TOKEN_HEADER};
use super::limits::Gate;
use super::listener::HttpHandler;
use super::origin::{self, Shown};
use super::router::{self, EndpointRequest, Route, Sio09Request};
use crate::cluster::Cluster;
use crate::cluster::cross_node::EndpointAdapter;
use crate::config::{Cidr, ServerConfig, canonical};
use crate::engineio::http::{Body, complete};
use crate::engineio::http::{ConnectionHold, RequestBody};
use crate::engineio::{CloseReason, ConnInfo, Engine, EngineRequest, Query};
use crate::engineio::{EngineError, is_upgrade_request};
use crate::metrics::Metrics;
use crate::relay::{EngineRelay, HookClient, SocketRelay};
use crate::socketio::{SioHandler, SocketIo};
use http::header::{HeaderValue, ORIGIN, RETRY_AFTER};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, Uri};
use std::any::Any;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::Notify;
use tracing::Instrument;

/// The protocol side of an endpoint, typed so the push API can reach its sockets and sessions.
pub enum EndpointHandle {
    /// A socket.io endpoint.
    SocketIo {
        /// Its Engine.IO server.
        engine: Arc<Engine<SioHandler<SocketRelay, EndpointAdapter>>>,
        /// Its Socket.IO server (namespaces, rooms, sockets).
        server: Arc<SocketIo<SocketRelay, EndpointAdapter>>,
    },
    /// An engine.io endpoint.
    EngineIo {
        /// Its Engine.IO server.
        engine: Arc<Engine<EngineRelay>>,
    },
}

impl EndpointHandle {
    fn service(&self) -> &dyn Service {
        match self {
            EndpointHandle::SocketIo { engine, .. } => engine,
            EndpointHandle::EngineIo { engine } => engine,
        }
    }

    /// What passing one of its requests to another node needs to know.
    fn hop_limits(&self) -> EndpointLimits {
        let config = match self {
            EndpointHandle::SocketIo { engine, .. } => engine.config(),
            EndpointHandle::EngineIo { engine } => engine.config(),
        };
        EndpointLimits {
            poll_wait: config.session.ping_interval + config.session.ping_timeout,
            max_payload: config.max_payload,
        }
    }
}

/// One endpoint: its normalized path, CORS policy and protocol side.
pub struct Endpoint {
    /// Normalized resource path.
    pub path: String,
    /// Where Socket.IO 0.9 clients are served (`/{resource}`), if they are.
    pub sio09_base: Option<String>,
    cors: Option<Cors>,
    /// The protocol side.
    pub handle: EndpointHandle,
}

impl Endpoint {
    /// An endpoint at `path`.
    pub(crate) fn new(
        path: String,
        sio09_base: Option<String>,
        cors: Option<Cors>,
        handle: EndpointHandle,
    ) -> Self {
        Self {
            path,
            sio09_base,
            cors,
            handle,
        }
    }
}

/// A handshake's place under `max_sessions` while it is being answered (a session that is registered meanwhile is
/// counted twice for that moment: the limit errs on the side of refusing).
struct Opening<'a>(&'a AtomicUsize);

impl Drop for Opening<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// How a request reached this node.
#[derive(Debug, Clone, Copy)]
struct Arrival {
    /// From a trusted proxy.
    from_proxy: bool,
    /// Passed here by another node of the cluster, with a valid proof.
    hopped: bool,
}

/// How long a shutdown leaves transports to write their last packets.
const FLUSH_GRACE: Duration = Duration::from_millis(100);

/// Everything the public listener serves.
pub struct FrontDoor {
    endpoints: Vec<Endpoint>,
    hooks: HookClient,
    metrics: Arc<Metrics>,
    proxies: TrustedProxies,
    /// Route by `X-Original-URL` from trusted proxies.
    x_original_url: bool,
    iis: IisSettings,
    gate: Arc<Gate>,
    /// Sessions open at once over every endpoint (`[server] max_sessions`, resolved).
    max_sessions: usize,
    /// Handshakes admitted under `max_sessions` and not answered yet.
    opening: AtomicUsize,
    draining: AtomicBool,
    shutdown_requested: Notify,
    cluster: Option<Arc<Cluster>>,
    /// Passing requests of other nodes' sessions to them (in a cluster).
    hop: Option<Hop>,
}

impl HttpHandler for FrontDoor {
    fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    fn is_trusted_proxy(&self, peer: IpAddr) -> bool {
        let peer = canonical(peer);
        self.proxies.trusts(peer) || self.hop.as_ref().is_some_and(|hop| hop.is_peer(peer))
    }

    fn serve(&self, req: Request<RequestBody>, conn: ConnInfo) -> ResponseFuture<'_> {
        let span = request_span(&req);
        // The front door runs at once, inside the request's span; what is left to await (a parked long poll, for
        // one) is only the endpoint's answer and the CORS headers it gets: a small future.
        let answer = span.in_scope(|| self.start(req, conn));
        if span.is_disabled() {
            // No span to enter while it waits: the endpoint's future is the whole request.
            answer
        } else {
            Box::pin(answer.instrument(span))
        }
    }
}

/// A span per request carrying what operators search logs for: the session id and IIS's `X-ARR-LOG-ID`. The
/// fields are read only when the span is enabled (debug logs): routing reads the query on its own, once.
fn request_span(req: &Request<RequestBody>) -> tracing::Span {
    // The method is an HTTP token (no spaces or control characters); the rest are `&str` fields, written escaped.
    tracing::debug_span!(
        "request",
        method = %req.method(),
        path = req.uri().path(),
        sid = logged_sid(req),
        arr_log_id = req
            .headers()
            .get("x-arr-log-id")
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
    )
}

/// The session id a request names as written, for logs: its `sid=`, or the id in a 0.9 transport path.
fn logged_sid(req: &Request<RequestBody>) -> Option<&str> {
    req.uri()
        .query()
        .and_then(|q| q.split('&').find_map(|pair| pair.strip_prefix("sid=")))
        .or_else(|| sio09_sid(req.uri().path()))
}

/// The session id in the path of a Socket.IO 0.9 transport request (`.../1/xhr-polling/{sid}`).
fn sio09_sid(path: &str) -> Option<&str> {
    let mut segments = path.trim_end_matches('/').rsplit('/');
    let sid = segments.next()?;
    let transport = segments.next()?;
    matches!(transport, "xhr-polling" | "jsonp-polling" | "websocket").then_some(sid)
}

/// URL Rewrite puts the URL the client asked for in `X-Original-URL`; from a trusted proxy, route by it.
fn apply_original_url(req: &mut Request<RequestBody>) {
    let Some(original) = req.headers().get("x-original-url") else {
        return;
    };
    let Ok(path_and_query) = PathAndQuery::try_from(original.as_bytes()) else {
        tracing::debug!("unusable X-Original-URL ignored");
        return;
    };
    if !path_and_query.path().starts_with('/') {
        return;
    }
    let mut parts = req.uri().clone().into_parts();
    parts.path_and_query = Some(path_and_query);
    if let Ok(uri) = Uri::from_parts(parts) {
        *req.uri_mut() = uri;
    }
}

fn text(status: u16, body: &'static str) -> Response<Body> {
    complete(status, "text/plain; charset=UTF-8", body)
}

/// 503 for a limit reached, with a hint to come back a little later.
fn busy(body: &'static str) -> Response<Body> {
    let mut response = text(503, body);
    response
        .headers_mut()
        .insert(RETRY_AFTER, HeaderValue::from_static("5"));
    response
}

impl FrontDoor {
    /// The front door over `endpoints` (in config order), as `server` and `iis` configure it; `gate` admits its
    /// connections, `hooks` is the webhook client the endpoints send with (a shutdown waits for it).
    pub fn new(
        server: &ServerConfig,
        iis: IisSettings,
        endpoints: Vec<Endpoint>,
        hooks: HookClient,
        metrics: Arc<Metrics>,
        gate: Arc<Gate>,
        cluster: Option<Arc<Cluster>>,
    ) -> Arc<Self> {
        let mut trusted = server.trusted_proxies.clone();
        if iis.token.is_some() {
            // Under the ASP.NET Core Module the only peer is the module itself, on loopback (as ASP.NET Core does).
            trusted
                .extend([Ipv4Addr::LOCALHOST.into(), Ipv6Addr::LOCALHOST.into()].map(Cidr::host));
        }
        let proxies = TrustedProxies::new(trusted, server.forwarded);
        let max_sessions = server
            .max_sessions
            .unwrap_or_else(|| gate.max_connections());
        let hop = cluster
            .as_ref()
            .map(|cluster| Hop::new(cluster.clone(), metrics.hop().clone()));
        Arc::new(Self {
            endpoints,
            hooks,
            metrics,
            proxies,
            x_original_url: server.x_original_url,
            iis,
            gate,
            max_sessions,
            opening: AtomicUsize::new(0),
            draining: AtomicBool::new(false),
            shutdown_requested: Notify::new(),
            cluster,
            hop,
        })
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// The endpoints, in config order.
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// Whether a shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    /// What `/readyz` reports: draining, a cluster node without Redis, or ready.
    pub fn readiness(&self) -> Readiness {
        if self.is_draining() {
            Readiness::Draining
        } else if self
            .cluster
            .as_ref()
            .is_some_and(|cluster| !cluster.is_up())
        {
            Readiness::RedisLost
        } else {
            Readiness::Ready
        }
    }

    /// This node's place in a cluster, when `[cluster]` is configured.
    pub fn cluster(&self) -> Option<&Arc<Cluster>> {
        self.cluster.as_ref()
    }

    /// Resolves when IIS asked the process to stop (the ASP.NET Core Module's shutdown event).
    pub async fn shutdown_requested(&self) {
        self.shutdown_requested.notified().await;
    }

    /// Serves one request from the public listener; `conn` is the TCP peer.
    pub async fn handle(&self, req: Request<RequestBody>, conn: ConnInfo) -> Response<Body> {
        self.start(req, conn).await
    }

    /// Runs the front door for one request (IIS token and shutdown event, trusted proxies, `X-Original-URL`,
    /// health, routing, CORS preflight, draining) and starts the endpoint's work; the returned future finishes it.
    fn start(&self, mut req: Request<RequestBody>, conn: ConnInfo) -> ResponseFuture<'_> {
        if !self.iis.token_ok(req.headers()) {
            tracing::warn!("request without the ASP.NET Core Module token refused");
            return answer::ready(text(400, "Bad Request"));
        }
        // The pairing token is a secret between IIS and this process: never pass it on to the backend.
        req.headers_mut().remove(TOKEN_HEADER);
        if self
            .iis
            .is_shutdown_event(req.method(), req.uri().path(), req.headers())
        {
            tracing::info!("IIS asked for shutdown");
            self.shutdown_requested.notify_one();
            return answer::ready(text(202, "Accepted"));
        }
        let peer = canonical(conn.address);
        // A request another node of the cluster passed here, with a valid proof, names its client.
        let hopped = match &self.hop {
            Some(hop) => hop.arrival(&mut req),
            None => None,
        };
        let (conn, from_proxy) = match hopped {
            Some(hopped) => {
                let client = ConnInfo {
                    address: canonical(hopped.client),
                    secure: hopped.secure,
                };
                (client, false)
            }
            None => {
                let client = self.proxies.resolve(peer, conn.secure, req.headers());
                let client = ConnInfo {
                    address: client.address,
                    secure: client.secure,
                };
                (client, self.proxies.trusts(peer))
            }
        };
        let arrival = Arrival {
            from_proxy,
            hopped: hopped.is_some(),
        };
        // A client behind a trusted proxy (or another node) is counted on its own address while its request (or
        // WebSocket) lasts.
        let slot = if (from_proxy || arrival.hopped) && conn.address != peer {
            match self.gate.admit_forwarded(conn.address) {
                Ok(slot) => slot,
                Err(_) => return answer::ready(busy("too many connections from this address")),
            }
        } else {
            None
        };
        // URL Rewrite (ARR) sets X-Original-URL; other proxies pass a client's own through, and the ASP.NET Core
        // Module passes client headers through untouched: only when configured, and never under the module.
        if self.x_original_url && from_proxy && self.iis.token.is_none() {
            apply_original_url(&mut req);
        }
        let Some(slot) = slot else {
            return self.route(req, conn, arrival);
        };
        let slot = Arc::new(slot);
        if is_upgrade_request(&req) {
            // Beside the connection's own place, if it brought one.
            let connection = req.extensions_mut().remove::<ConnectionHold>();
            let both = (connection, slot.clone());
            req.extensions_mut()
                .insert(ConnectionHold(Arc::new(both) as Arc<dyn Any + Send + Sync>));
        }
        answer::holding(self.route(req, conn, arrival), slot)
    }

    /// Reads what a request is, once: health, the endpoints (0.9 resources first), CORS preflight, or 404; for an
    /// endpoint, its query decoded and what it asks for.
    fn route_of(&self, req: &Request<RequestBody>) -> Route {
        let candidates = self.iis.candidates(req.uri().path());
        if let Some(probe) = Probe::among(candidates.iter()) {
            return Route::Health(probe);
        }
        let (index, sio09) = match self.find_sio09(&candidates) {
            Some((index, rest)) => (index, Some(Sio09Request::read(rest))),
            None => {
                let found = candidates.iter().find_map(|path| {
                    router::find(self.endpoints.iter().map(|e| e.path.as_str()), path)
                });
                let Some(index) = found else {
                    return Route::NotFound;
                };
                (index, None)
            }
        };
        if req.method() == Method::OPTIONS && self.endpoints[index].cors.is_some() {
            return Route::Preflight(index);
        }
        let query = Query::parse(req.uri().query());
        let request = match sio09 {
            Some(sio09) => EndpointRequest::Sio09(query, sio09),
            None => {
                let request = EngineRequest::read(req.method(), is_upgrade_request(req), &query);
                EndpointRequest::EngineIo(query, request)
            }
        };
        Route::Endpoint(index, request)
    }

    /// Routes a request whose client is known, arrived as `arrival` says.
    fn route(
        &self,
        req: Request<RequestBody>,
        conn: ConnInfo,
        arrival: Arrival,
    ) -> ResponseFuture<'_> {
        let from_proxy = arrival.from_proxy;
        match self.route_of(&req) {
            Route::Health(probe) => answer::ready(probe.answer(self.readiness())),
            Route::NotFound => answer::ready(text(404, "Not Found")),
            Route::Preflight(index) => {
                let mut response = complete(204, "text/plain; charset=UTF-8", "");
                if let Some(cors) = &self.endpoints[index].cors {
                    cors.apply_preflight(req.headers(), response.headers_mut());
                }
                answer::ready(response)
            }
            Route::Endpoint(index, request) => {
                let endpoint = &self.endpoints[index];
                // A request of another node's session goes there; one that arrived from another node never
                // goes on again.
                if let Some(hop) = self.hop.as_ref().filter(|_| !arrival.hopped) {
                    if let Some(owner) = hop.elsewhere(&request) {
                        let limits = endpoint.handle.hop_limits();
                        let client = Hopped {
                            client: conn.address,
                            secure: conn.secure,
                        };
                        return hop.pass(owner, req, client, limits, move |req| {
                            self.start_endpoint(endpoint, req, request, conn, from_proxy)
                        });
                    }
                }
                self.start_endpoint(endpoint, req, request, conn, from_proxy)
            }
        }
    }

    /// The endpoint serving a Socket.IO 0.9 request at one of `candidates`, and the path after `/{resource}/1`.
    fn find_sio09<'c>(&self, candidates: &'c Candidates<'_>) -> Option<(usize, &'c str)> {
        candidates.iter().find_map(|path| {
            self.endpoints
                .iter()
                .enumerate()
                .find_map(|(index, endpoint)| {
                    let rest = router::sio09_rest(endpoint.sio09_base.as_deref()?, path)?;
                    Some((index, rest))
                })
        })
    }

    /// Starts `request` of `endpoint`; `from_proxy`: the request came from a trusted proxy.
    fn start_endpoint<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        req: Request<RequestBody>,
        request: EndpointRequest,
        conn: ConnInfo,
        from_proxy: bool,
    ) -> ResponseFuture<'a> {
        // CORS needs only the Origin after the request is served. A copy, not a clone: cloned header values share
        // the request head's buffer, and a long poll would keep it allocated for as long as it waits.
        let origin = endpoint
            .cors
            .as_ref()
            .and(req.headers().get(ORIGIN))
            .and_then(|origin| HeaderValue::from_bytes(origin.as_bytes()).ok());
        let is_handshake = request.is_handshake();
        let mut opening = None;
        let refusal = if !is_handshake && !is_upgrade_request(&req) {
            None
        } else if !self.origin_allowed(endpoint, &req, &request, from_proxy) {
            self.gate.refused("cors_origin", conn.address);
            Some(if request.is_sio09() {
                text(403, "handshake bad origin")
            } else {
                crate::engineio::http::error(&EngineError::Forbidden {
                    status: 403,
                    context: None,
                })
            })
        } else if !is_handshake {
            None
        } else if self.is_draining() {
            Some(text(503, "server shutting down"))
        } else if let Some(reservation) = self.reserve_session() {
            opening = Some(reservation);
            None
        } else {
            self.gate.refused("max_sessions", conn.address);
            Some(busy("too many sessions"))
        };
        if let Some(mut response) = refusal {
            if let Some(cors) = &endpoint.cors {
                cors.apply(&origin_headers(origin), response.headers_mut());
            }
            return answer::ready(response);
        }
        let answer = endpoint.handle.service().serve(Routed {
            req,
            request,
            conn,
            finish: Finish::new(endpoint.cors.as_ref(), origin),
        });
        match opening {
            None => answer,
            Some(opening) => answer::holding(answer, opening),
        }
    }

    /// A place under `max_sessions` for a handshake, counted until it is answered: its session is registered only
    /// once the application accepted it (after the `open` or `connect` webhook), and handshakes waiting for that
    /// must count, or any number of them would pass the limit together.
    fn reserve_session(&self) -> Option<Opening<'_>> {
        let pending = self.opening.fetch_add(1, Ordering::AcqRel);
        let opening = Opening(&self.opening);
        (self.session_count() + pending < self.max_sessions).then_some(opening)
    }

    /// Whether the browser origin of `req` (a handshake or WebSocket upgrade) may open it on `endpoint`. JSONP
    /// (Engine.IO v3 `j=`, 0.9 `jsonp=`) and Socket.IO 0.9 requests are checked on their `Referer` too: browsers
    /// send them without `Origin`.
    fn origin_allowed(
        &self,
        endpoint: &Endpoint,
        req: &Request<RequestBody>,
        request: &EndpointRequest,
        from_proxy: bool,
    ) -> bool {
        let shown = if request.is_jsonp() {
            Shown::ByScript
        } else if request.is_sio09() {
            Shown::ByReferer
        } else {
            Shown::ByOrigin
        };
        origin::allowed(endpoint.cors.as_ref(), req.headers(), shown, from_proxy)
    }

    /// Stops taking new sessions, closes every session (`server shutting down`) and waits up to `limit`
    /// for their last webhooks.
    pub async fn drain(&self, limit: Duration) -> bool {
        self.draining.store(true, Ordering::Release);
        for endpoint in &self.endpoints {
            endpoint
                .handle
                .service()
                .close_all(CloseReason::ServerShuttingDown);
            if let EndpointHandle::SocketIo { server, .. } = &endpoint.handle {
                server.ops().end_parked_sockets();
            }
        }
        let started = tokio::time::Instant::now();
        let delivered = tokio::time::timeout(limit, self.hooks.wait_idle())
            .await
            .is_ok();
        // Let transports write what closing queued (answers to pending polls, WebSocket close frames).
        let flush = FLUSH_GRACE.min(limit.saturating_sub(started.elapsed()));
        tokio::time::sleep(flush).await;
        delivered
    }

    /// The most sessions open at once over every endpoint (`[server] max_sessions`, resolved).
    pub fn max_sessions(&self) -> usize {
        self.max_sessions
    }

    /// Open sessions over every endpoint.
    pub fn session_count(&self) -> usize {
        self.endpoints
            .iter()
            .map(|e| e.handle.service().session_count())
            .sum()
    }

    /// Webhook workers still running (a socket's or session's hooks being sent or waiting for a retry, async
    /// events): each holds its socket or session until it ends.
    pub fn webhook_workers(&self) -> usize {
        self.hooks.busy_workers()
    }
}

#[cfg(test)]
mod tests {
    use super::sio09_sid;

    #[test]
    fn the_sid_of_socketio09_transport_paths() {
        assert_eq!(sio09_sid("/myApp/server.js/1/xhr-polling/abc"), Some("abc"));
        assert_eq!(sio09_sid("/socket.io/1/websocket/abc/"), Some("abc"));
        assert_eq!(sio09_sid("/socket.io/1/"), None);
        assert_eq!(sio09_sid("/socket.io/"), None);
    }
}
