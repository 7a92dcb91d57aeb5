//! The application served on the public listener: endpoints by path, health checks, draining.

use super::cors::Cors;
use super::endpoint::{ResponseFuture, Service};
use super::listener::HttpHandler;
use super::router;
use crate::config::{Config, EndpointConfig, Protocol, Transport, normalize_path};
use crate::engineio::http::{Body, complete};
use crate::engineio::{CloseReason, ConnInfo, Engine, EngineConfig, SessionSettings};
use crate::metrics::Metrics;
use crate::relay::{
    EngineRelay, EngineRelayConfig, HookClient, HookTarget, RetryPolicy, Route, SocketRelay,
    SocketRelayConfig,
};
use crate::socketio::{SioConfig, SioHandler, SocketIo};
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The protocol side of an endpoint, typed so the push API can reach its sockets and sessions.
pub enum EndpointHandle {
    /// A socket.io endpoint.
    SocketIo {
        /// Its Engine.IO server.
        engine: Arc<Engine<SioHandler<SocketRelay>>>,
        /// Its Socket.IO server (namespaces, rooms, sockets).
        server: Arc<SocketIo<SocketRelay>>,
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
}

/// One endpoint: its normalized path, CORS policy and protocol side.
pub struct Endpoint {
    /// Normalized resource path.
    pub path: String,
    cors: Option<Cors>,
    /// The protocol side.
    pub handle: EndpointHandle,
}

/// Everything the public listener serves.
pub struct App {
    endpoints: Vec<Endpoint>,
    hooks: HookClient,
    draining: AtomicBool,
    metrics: Arc<Metrics>,
}

impl HttpHandler for App {
    fn serve(&self, req: Request<Incoming>, conn: ConnInfo) -> ResponseFuture<'_> {
        Box::pin(self.handle(req, conn))
    }
}

impl App {
    /// Builds every endpoint of `config`; must run inside a Tokio runtime.
    pub fn build(config: &Config) -> Result<Arc<Self>, String> {
        let hooks = HookClient::new()?;
        let metrics = Metrics::new();
        let endpoints = config
            .endpoints
            .iter()
            .map(|endpoint| build_endpoint(endpoint, &hooks, &metrics))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Arc::new(Self {
            endpoints,
            hooks,
            metrics,
            draining: AtomicBool::new(false),
        }))
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

    /// Serves one request from the public listener.
    pub async fn handle(&self, req: Request<Incoming>, conn: ConnInfo) -> Response<Body> {
        let path = req.uri().path();
        if path == "/healthz" {
            return complete(200, "text/plain; charset=UTF-8", "ok");
        }
        if path == "/readyz" {
            return if self.is_draining() {
                complete(503, "text/plain; charset=UTF-8", "draining")
            } else {
                complete(200, "text/plain; charset=UTF-8", "ready")
            };
        }
        let Some(index) = router::find(self.endpoints.iter().map(|e| e.path.as_str()), path) else {
            return complete(404, "text/plain; charset=UTF-8", "Not Found");
        };
        let endpoint = &self.endpoints[index];
        let request_headers = req.headers().clone();
        if req.method() == Method::OPTIONS {
            if let Some(cors) = &endpoint.cors {
                let mut response = complete(204, "text/plain; charset=UTF-8", "");
                cors.apply_preflight(&request_headers, response.headers_mut());
                return response;
            }
        }
        let is_handshake = !req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|pair| pair.starts_with("sid="));
        let mut response = if is_handshake && self.is_draining() {
            complete(503, "text/plain; charset=UTF-8", "server shutting down")
        } else {
            endpoint.handle.service().handle(req, &conn).await
        };
        if let Some(cors) = &endpoint.cors {
            if response.status() != StatusCode::SWITCHING_PROTOCOLS {
                cors.apply(&request_headers, response.headers_mut());
            }
        }
        response
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
        }
        tokio::time::timeout(limit, self.hooks.wait_idle())
            .await
            .is_ok()
    }

    /// Open sessions over every endpoint.
    pub fn session_count(&self) -> usize {
        self.endpoints
            .iter()
            .map(|e| e.handle.service().session_count())
            .sum()
    }
}

fn build_endpoint(
    config: &EndpointConfig,
    hooks: &HookClient,
    metrics: &Arc<Metrics>,
) -> Result<Endpoint, String> {
    let path = normalize_path(&config.path);
    let endpoint_metrics = metrics.endpoint(&path);
    let engine_config = EngineConfig {
        session: SessionSettings {
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            max_buffered_packets: config.max_buffered_packets,
        },
        upgrade_timeout: config.upgrade_timeout,
        max_payload: config.max_payload,
        polling: config.transports.contains(&Transport::Polling),
        websocket: config.transports.contains(&Transport::Websocket),
        metrics: endpoint_metrics.clone(),
    };
    let target = HookTarget {
        url: reqwest::Url::parse(&config.webhook)
            .map_err(|e| format!("endpoint {path}: webhook: {e}"))?,
        secrets: config
            .secret
            .as_ref()
            .map(|s| s.to_vec())
            .unwrap_or_default(),
        timeout: config.webhook_timeout,
        metrics: endpoint_metrics.hooks.clone(),
    };
    let handle = match config.protocol {
        Protocol::EngineIo => {
            let relay = EngineRelay::new(
                EngineRelayConfig {
                    endpoint: path.clone(),
                    target,
                    open_hook: config.hooks.connect,
                    close_hook: config.hooks.disconnect,
                    max_pending_hooks: config.max_pending_hooks,
                    retry: RetryPolicy::default(),
                    metrics: endpoint_metrics.clone(),
                },
                hooks.clone(),
            );
            EndpointHandle::EngineIo {
                engine: Engine::new(engine_config, relay),
            }
        }
        Protocol::SocketIo => {
            let routes = config
                .route
                .iter()
                .map(|route| {
                    let url = match &route.webhook {
                        Some(url) => reqwest::Url::parse(url)
                            .map_err(|e| format!("endpoint {path}: route webhook: {e}"))?,
                        None => target.url.clone(),
                    };
                    Ok(Route {
                        namespace: route.namespace.clone(),
                        event: route.event.clone(),
                        target: HookTarget {
                            url,
                            ..target.clone()
                        },
                        mode: route.mode,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let relay = SocketRelay::new(
                SocketRelayConfig {
                    endpoint: path.clone(),
                    target,
                    routes,
                    connect_hook: config.hooks.connect,
                    disconnect_hook: config.hooks.disconnect,
                    max_pending_hooks: config.max_pending_hooks,
                    retry: RetryPolicy::default(),
                    metrics: endpoint_metrics.clone(),
                },
                hooks.clone(),
            );
            let sio_config = SioConfig {
                namespaces: config.namespaces.clone(),
                connect_timeout: config.connect_timeout,
            };
            let server = SocketIo::new(sio_config, relay);
            SocketRelay::attach(&server);
            let engine = Engine::new(engine_config, SioHandler(server.clone()));
            EndpointHandle::SocketIo { engine, server }
        }
    };
    Ok(Endpoint {
        path,
        cors: Cors::from_config(config.cors_origins.as_deref()),
        handle,
    })
}
