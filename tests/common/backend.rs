//! A real HTTP webhook backend for tests: records every hook and answers through a programmable function; it can be
//! stopped (its port then refuses connections) and restarted on the same port.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

/// One webhook as the backend received it.
#[derive(Debug, Clone)]
pub struct Hook {
    /// `X-Iogate-Event`.
    pub event: String,
    /// `X-Iogate-Delivery`.
    pub delivery: String,
    /// `X-Iogate-Signature`, if sent.
    pub signature: Option<String>,
    /// `Content-Type`.
    pub content_type: String,
    /// The request path.
    pub path: String,
    /// The raw body.
    pub raw: Bytes,
    /// The body as JSON (Null when not JSON).
    pub body: Value,
}

/// What the backend answers.
#[derive(Debug, Clone)]
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Body text.
    pub body: String,
    /// Delay before answering.
    pub delay: Duration,
}

impl Reply {
    /// 200 with `body`.
    pub fn ok(body: impl Into<String>) -> Self {
        Self {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// 200 with a JSON body.
    pub fn json(body: Value) -> Self {
        Self::ok(body.to_string())
    }

    /// `status` with an empty body.
    pub fn status(status: u16) -> Self {
        Self {
            status,
            body: String::new(),
            delay: Duration::ZERO,
        }
    }

    /// The same reply after `delay`.
    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Responder = dyn Fn(&Hook) -> Reply + Send + Sync;

/// A running test backend.
pub struct Backend {
    /// Where it listens.
    pub address: SocketAddr,
    hooks: Arc<Mutex<Vec<Hook>>>,
    arrived: Arc<Notify>,
    responder: Arc<Mutex<Arc<Responder>>>,
    /// The accept loop and the connections it serves; `None` while stopped.
    server: Mutex<Option<Server>>,
}

/// The tasks of a running backend.
struct Server {
    accept: JoinHandle<()>,
    connections: Arc<Mutex<JoinSet<()>>>,
}

/// Echoes engine.io messages back; accepts everything else with an empty 200.
pub fn echo(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "message" => Reply::json(serde_json::json!({ "send": [hook.body["data"].clone()] })),
        _ => Reply::ok(""),
    }
}

impl Backend {
    /// Starts a backend answering with `responder`.
    pub async fn start(responder: impl Fn(&Hook) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind backend");
        let address = listener.local_addr().expect("backend address");
        let backend = Self {
            address,
            hooks: Arc::new(Mutex::new(Vec::new())),
            arrived: Arc::new(Notify::new()),
            responder: Arc::new(Mutex::new(Arc::new(responder))),
            server: Mutex::new(None),
        };
        backend.serve(listener);
        backend
    }

    /// Takes the backend down as a crash would: its listener closes (connections are refused) and every open
    /// connection is dropped. Returns once all of them are closed.
    pub async fn stop(&self) {
        let server = self.server.lock().unwrap().take();
        let Some(server) = server else {
            return;
        };
        server.accept.abort();
        let _ = server.accept.await;
        let mut connections = std::mem::take(&mut *server.connections.lock().unwrap());
        connections.shutdown().await;
    }

    /// Brings a stopped backend back on the same address (retrying the bind for up to 5 s).
    pub async fn restart(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        let listener = loop {
            match TcpListener::bind(self.address).await {
                Ok(listener) => break listener,
                Err(error) if tokio::time::Instant::now() < deadline => {
                    eprintln!("backend {}: bind again: {error}; retrying", self.address);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(error) => panic!("backend {}: cannot listen again: {error}", self.address),
            }
        };
        self.serve(listener);
    }

    /// Serves `listener` until [`Backend::stop`].
    fn serve(&self, listener: TcpListener) {
        let hooks = self.hooks.clone();
        let arrived = self.arrived.clone();
        let responder = self.responder.clone();
        let connections = Arc::new(Mutex::new(JoinSet::new()));
        let tracked = connections.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let hooks = hooks.clone();
                let arrived = arrived.clone();
                let responder = responder.clone();
                let mut connections = tracked.lock().unwrap();
                while connections.try_join_next().is_some() {}
                connections.spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let hooks = hooks.clone();
                        let arrived = arrived.clone();
                        let responder = responder.clone();
                        async move {
                            let hook = read_hook(req).await;
                            let reply = {
                                let responder = responder.lock().unwrap().clone();
                                responder(&hook)
                            };
                            hooks.lock().unwrap().push(hook);
                            arrived.notify_waiters();
                            if !reply.delay.is_zero() {
                                tokio::time::sleep(reply.delay).await;
                            }
                            let mut response = Response::new(Full::new(Bytes::from(reply.body)));
                            *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        *self.server.lock().unwrap() = Some(Server {
            accept,
            connections,
        });
    }

    /// Starts an echo backend.
    pub async fn echo() -> Self {
        Self::start(echo).await
    }

    /// The URL iogate should POST to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    /// Replaces the responder.
    pub fn respond_with(&self, responder: impl Fn(&Hook) -> Reply + Send + Sync + 'static) {
        *self.responder.lock().unwrap() = Arc::new(responder);
    }

    /// Every hook received so far.
    pub fn hooks(&self) -> Vec<Hook> {
        self.hooks.lock().unwrap().clone()
    }

    /// Hooks of one event type received so far.
    pub fn hooks_of(&self, event: &str) -> Vec<Hook> {
        self.hooks()
            .into_iter()
            .filter(|h| h.event == event)
            .collect()
    }

    /// Waits until `count` hooks of `event` (for `sid`, when given) have arrived; panics after 10 s.
    pub async fn wait_for(&self, event: &str, sid: Option<&str>, count: usize) -> Vec<Hook> {
        self.wait_for_within(event, sid, count, Duration::from_secs(10))
            .await
    }

    /// Waits until `count` hooks of `event` (for `sid`, when given) have arrived; panics after `limit`.
    pub async fn wait_for_within(
        &self,
        event: &str,
        sid: Option<&str>,
        count: usize,
        limit: Duration,
    ) -> Vec<Hook> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let found: Vec<Hook> = self
                .hooks_of(event)
                .into_iter()
                .filter(|h| sid.is_none_or(|sid| h.body["sid"] == sid))
                .collect();
            if found.len() >= count {
                return found;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                panic!(
                    "timed out waiting for {count} {event:?} hook(s) (sid {sid:?}); got {}",
                    found.len()
                );
            }
        }
    }
}

async fn read_hook(req: Request<hyper::body::Incoming>) -> Hook {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let event = header("x-iogate-event").unwrap_or_default();
    let delivery = header("x-iogate-delivery").unwrap_or_default();
    let signature = header("x-iogate-signature");
    let content_type = header("content-type").unwrap_or_default();
    let path = req.uri().path().to_string();
    let raw = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    Hook {
        event,
        delivery,
        signature,
        content_type,
        path,
        raw,
        body,
    }
}
