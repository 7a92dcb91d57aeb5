//! A webhook backend that echoes: accepts every session and sends every message back.
//! `cargo run --example echo_backend -- 127.0.0.1:5000`
//!
//! engine.io endpoints: `message` answers `{"send":[<the message>]}`.
//! socket.io endpoints: `connect` answers with an `auth` emit carrying the CONNECT payload; the event `message`
//! is emitted back as `message-back` with the same arguments; `message-with-ack` is acked with its arguments.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use tokio::net::TcpListener;

async fn answer(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let event = req
        .headers()
        .get("x-iogate-event")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let hook: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let reply = match event.as_str() {
        "message" => serde_json::json!({ "send": [hook["data"].clone()] }).to_string(),
        "connect" => serde_json::json!({ "emit": [{ "event": "auth", "args": [hook["auth"].clone()] }] }).to_string(),
        "event" => match hook["event"].as_str() {
            Some("message") => serde_json::json!({ "emit": [{ "event": "message-back", "args": hook["args"].clone() }] }).to_string(),
            Some("message-with-ack") => serde_json::json!({ "ack": hook["args"].clone() }).to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    };
    Ok(Response::new(Full::new(Bytes::from(reply))))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let address = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5000".to_string());
    let listener = TcpListener::bind(&address).await?;
    eprintln!("echo backend on http://{address}");
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let _ = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(answer))
                .await;
        });
    }
}
