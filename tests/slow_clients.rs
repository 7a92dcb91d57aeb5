//! A client that starts a request and never finishes its head is disconnected after `request_head_timeout`,
//! and a webhook that answers with a redirect is a failed webhook (the signed request is not re-sent elsewhere).

use crate::common;
use common::{Backend, Gateway, Reply};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test]
async fn a_half_sent_request_head_is_cut_off() {
    let backend = Backend::echo().await;
    let gateway = Gateway::start(&format!(
        "[server]\nrequest_head_timeout = \"300ms\"\n[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
        backend.url()
    ))
    .await;
    let mut stream = TcpStream::connect(gateway.address).await.unwrap();
    stream
        .write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 256];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("the gateway acts in time");
    // Closed (EOF or reset), possibly after a 408 answer.
    if let Ok(n) = read {
        assert!(
            n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&buf[..n])
        );
    }
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "cut off too early: {:?}",
        started.elapsed()
    );
    // A complete request on a new connection is still served.
    assert_eq!(common::eio::get(&gateway.url("/healthz")).await.text, "ok");
}

#[tokio::test]
async fn a_redirect_answer_is_a_failed_webhook() {
    let backend = Backend::start(|_| Reply::status(307)).await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let answer = common::eio::get(&gateway.url("/engine.io/?EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 502, "{}", answer.text);
    assert_eq!(backend.hooks_of("open").len(), 1);
}
