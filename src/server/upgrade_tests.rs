//! The WebSocket upgrade reaches the raw TCP stream: the HTTP/1.1 path answers the handshake itself, writes the
//! 101 and hands the `TcpStream` with the bytes read past the head to the WebSocket (`engineio::websocket::link` holds a
//! `TcpStream`, nothing else). These tests send a frame in the same write as the handshake, so it can only be
//! answered if the bytes read with the head reach the WebSocket's decoder over the handed-over stream; and they
//! check that a handshake with a body, which hyper serves, is refused rather than upgraded.

use crate::config::parse_str;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A gateway with one Engine.IO endpoint and no webhooks that matter.
async fn gateway() -> crate::gateway::Running {
    let text = "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:9/\"\nhooks = { connect = false, disconnect = false }\n";
    let mut config = parse_str("upgrade.toml", text, &|_| None)
        .unwrap_or_else(|error| panic!("a test config: {error}"));
    config.server.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    crate::gateway::start(&config)
        .await
        .unwrap_or_else(|error| panic!("the gateway starts: {error}"))
}

/// A WebSocket handshake for a new Engine.IO session, with `extra` header lines.
fn handshake(extra: &str) -> String {
    format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// Reads from `stream` until `done` says the bytes so far suffice (or 5 s pass).
async fn read_until(stream: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 1024];
        while !done(&got) {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    got
}

#[tokio::test]
async fn a_frame_sent_with_the_handshake_reaches_the_websocket_over_its_tcp_stream() {
    let running = gateway().await;
    let mut stream = TcpStream::connect(running.address).await.expect("connect");
    let mut bytes = handshake("").into_bytes();
    // A masked ping carrying "hi" (mask 0), in the same write as the head.
    bytes.extend_from_slice(&[0x89, 0x82, 0, 0, 0, 0, b'h', b'i']);
    stream.write_all(&bytes).await.expect("write");
    let pong = [0x8a, 0x02, b'h', b'i'];
    let got = read_until(&mut stream, |got| got.windows(4).any(|w| w == pong)).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\ndate: "),
        "the 101, framed as hyper framed it: {text:?}"
    );
    assert!(
        got.windows(4).any(|w| w == pong),
        "the ping read with the head is answered over the WebSocket: {text:?}"
    );
    running.shutdown(Duration::from_secs(1)).await;
}

#[tokio::test]
async fn a_handshake_with_a_body_is_refused_not_upgraded() {
    let running = gateway().await;
    let mut stream = TcpStream::connect(running.address).await.expect("connect");
    let mut bytes = handshake("Content-Length: 2\r\n").into_bytes();
    bytes.extend_from_slice(b"ok");
    stream.write_all(&bytes).await.expect("write");
    let got = read_until(&mut stream, |got| got.windows(4).any(|w| w == b"\r\n\r\n")).await;
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 400 "),
        "hyper serves it, and no connection is switched: {text:?}"
    );
    running.shutdown(Duration::from_secs(1)).await;
}
