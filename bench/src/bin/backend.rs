//! The benchmarks' webhook backend: answers iogate's (and the Node reference's) hooks as fast as it can.
//!
//! - `connect` -> 200 `{"join":["<room>"]}` (every socket joins the fan-out room)
//! - `event` -> 200 `{"ack":<the event's args>}`
//! - anything else (`disconnect`) -> 200 with an empty body
//! - `GET /stats` -> hook counts, for the runner to know when hooks have all arrived
//!
//! Usage: `bench-backend [--listen 127.0.0.1:0] [--room bench | --no-join] [--threads N]`; prints `listening <addr>` once bound.

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::net::TcpListener;

#[derive(Default)]
struct Counters {
    connect: AtomicU64,
    event: AtomicU64,
    disconnect: AtomicU64,
    other: AtomicU64,
}

struct Backend {
    connect_reply: Bytes,
    counters: Counters,
}

#[derive(Deserialize)]
struct EventBody<'a> {
    #[serde(borrow)]
    args: Option<&'a RawValue>,
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

impl Backend {
    async fn handle(&self, req: Request<Incoming>) -> Response<Full<Bytes>> {
        if req.method() == Method::GET && req.uri().path() == "/stats" {
            let c = &self.counters;
            let body = format!(
                r#"{{"connect":{},"event":{},"disconnect":{},"other":{}}}"#,
                c.connect.load(Ordering::Relaxed),
                c.event.load(Ordering::Relaxed),
                c.disconnect.load(Ordering::Relaxed),
                c.other.load(Ordering::Relaxed)
            );
            return reply(StatusCode::OK, Bytes::from(body));
        }
        let event = req
            .headers()
            .get("x-iogate-event")
            .map(|v| v.as_bytes().to_vec())
            .unwrap_or_default();
        let body = match req.into_body().collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(_) => return reply(StatusCode::BAD_REQUEST, Bytes::new()),
        };
        match event.as_slice() {
            b"connect" => {
                self.counters.connect.fetch_add(1, Ordering::Relaxed);
                reply(StatusCode::OK, self.connect_reply.clone())
            }
            b"event" => {
                self.counters.event.fetch_add(1, Ordering::Relaxed);
                match serde_json::from_slice::<EventBody>(&body) {
                    Ok(EventBody { args: Some(args) }) => {
                        let mut out = Vec::with_capacity(args.get().len() + 8);
                        out.extend_from_slice(b"{\"ack\":");
                        out.extend_from_slice(args.get().as_bytes());
                        out.push(b'}');
                        reply(StatusCode::OK, Bytes::from(out))
                    }
                    _ => reply(StatusCode::OK, Bytes::from_static(b"{}")),
                }
            }
            b"disconnect" => {
                self.counters.disconnect.fetch_add(1, Ordering::Relaxed);
                reply(StatusCode::OK, Bytes::new())
            }
            _ => {
                self.counters.other.fetch_add(1, Ordering::Relaxed);
                reply(StatusCode::OK, Bytes::new())
            }
        }
    }
}

fn main() {
    let mut listen: SocketAddr = "127.0.0.1:0".parse().expect("a valid address");
    let mut room = "bench".to_string();
    let mut threads = 0usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--listen" => {
                listen = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --listen address"))
            }
            "--room" => room = value(),
            "--no-join" => room.clear(),
            "--threads" => {
                threads = value()
                    .parse()
                    .unwrap_or_else(|_| usage("bad --threads value"))
            }
            _ => usage(&format!("unknown argument {arg}")),
        }
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    if threads > 0 {
        builder.worker_threads(threads);
    }
    let runtime = builder.build().expect("a tokio runtime");
    let connect_reply = if room.is_empty() {
        Bytes::new()
    } else {
        Bytes::from(
            serde_json::json!({ "join": [room] })
                .to_string()
                .into_bytes(),
        )
    };
    let backend = Arc::new(Backend {
        connect_reply,
        counters: Counters::default(),
    });
    runtime.block_on(async move {
        let listener = TcpListener::bind(listen).await.expect("bind the backend");
        println!(
            "listening {}",
            listener.local_addr().expect("a local address")
        );
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let backend = backend.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let backend = backend.clone();
                    async move { Ok::<_, Infallible>(backend.handle(req).await) }
                });
                let _ = http1::Builder::new()
                    .keep_alive(true)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

fn usage(problem: &str) -> ! {
    eprintln!(
        "bench-backend: {problem}\nusage: bench-backend [--listen ADDR] [--room NAME | --no-join] [--threads N]"
    );
    std::process::exit(2)
}
