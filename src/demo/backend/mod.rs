//! The demo's own backend: an HTTP server on a loopback port that receives iogate's webhooks, checks their
//! signatures as any backend must, and answers them (a chat on the Socket.IO endpoint, an echo on the Engine.IO
//! one). It talks to iogate only through the webhook contract and the push API, as a separate process would.

mod chat;
mod echo;
pub mod push;
mod verify;
mod webhook_log;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use push::Push;
use serde_json::Value;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The largest webhook body the backend reads.
const MAX_BODY: usize = 1 << 20;

/// The path webhooks are posted to.
pub const HOOK_PATH: &str = "/iogate";

/// The backend, serving until dropped.
pub struct Backend {
    /// Where it listens.
    pub address: SocketAddr,
    task: JoinHandle<()>,
}

impl Backend {
    /// Starts the backend on a loopback port; webhooks must be signed with `secret`.
    pub async fn start(secret: String, push: Arc<Push>) -> Result<Self, String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot start the demo backend: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let shared = Arc::new(Shared { secret, push });
        let task = tokio::spawn(accept(listener, shared));
        Ok(Self { address, task })
    }

    /// The webhook URL of the backend.
    pub fn webhook_url(&self) -> String {
        format!("http://{}{HOOK_PATH}", self.address)
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    secret: String,
    push: Arc<Push>,
}

async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(answer(&shared, req).await) }
            });
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(shared: &Shared, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.method() != hyper::Method::POST || req.uri().path() != HOOK_PATH {
        return plain(StatusCode::NOT_FOUND, "not found");
    }
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string)
    };
    let kind = header("x-iogate-event").unwrap_or_default();
    let signature = header("x-iogate-signature");
    let Ok(body) = Limited::new(req.into_body(), MAX_BODY).collect().await else {
        return plain(StatusCode::PAYLOAD_TOO_LARGE, "body too large");
    };
    let body = body.to_bytes();
    if let Err(refusal) = verify::check(
        signature.as_deref(),
        &shared.secret,
        &body,
        verify::unix_now(),
    ) {
        tracing::warn!(?refusal, "demo backend: webhook refused");
        return plain(StatusCode::UNAUTHORIZED, "bad signature");
    }
    let Ok(hook) = serde_json::from_slice::<Value>(&body) else {
        return plain(StatusCode::BAD_REQUEST, "not JSON");
    };
    let push = &shared.push;
    let reply = match kind.as_str() {
        "connect" => chat::connect(&hook, push).await,
        "event" => chat::event(&hook, push).await,
        "disconnect" => {
            chat::disconnect(&hook, push).await;
            Value::Object(Default::default())
        }
        "open" | "message" | "close" => echo::answer(&kind, &hook, push).await,
        _ => return plain(StatusCode::BAD_REQUEST, "unknown webhook"),
    };
    let mut response = Response::new(Full::new(Bytes::from(reply.to_string())));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
