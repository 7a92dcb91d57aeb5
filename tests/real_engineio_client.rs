//! The real npm `engine.io-client` (6.x) against the gateway and an echo backend: polling only, WebSocket only,
//! and polling upgraded to WebSocket. Needs `npm ci --prefix tests/clients`; without it these tests fail.

use crate::common;
use base64::Engine as _;
use common::{Backend, Gateway, eio, node};
use serde_json::{Value, json};
use std::time::Duration;

/// What the scripts of tests/clients/engineio/ send in one round, as the backend sees it.
fn round(label: &str) -> Vec<Value> {
    let b64 = |data: &[u8]| base64::engine::general_purpose::STANDARD.encode(data);
    vec![
        json!(format!("hello {label}")),
        json!(format!("héllo € 😀 {label}")),
        json!({"$binary": b64(&[0, 1, 2, 127, 128, 253, 254, 255])}),
        json!({"$binary": b64(format!("buffer {label}").as_bytes())}),
    ]
}

/// Runs `script` against a fresh gateway and checks the hooks of its session: one open over `first_transport`,
/// every message in order (`rounds` rounds), one close with reason "transport close".
async fn check_client(script: &str, first_transport: &str, rounds: &[&str]) {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let url = gateway.url("/engine.io/");
    let run = node::run(script, &[&url], Duration::from_secs(15)).await;
    run.assert_success();
    let result = run.result();
    let sid = result["sid"].as_str().expect("RESULT has the sid");

    let opens = backend.wait_for("open", Some(sid), 1).await;
    assert_eq!(opens[0].body["handshake"]["transport"], first_transport);
    let expected: Vec<Value> = rounds.iter().flat_map(|label| round(label)).collect();
    let messages = backend.wait_for("message", Some(sid), expected.len()).await;
    let data: Vec<Value> = messages.iter().map(|h| h.body["data"].clone()).collect();
    assert_eq!(data, expected);
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport close");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("open").len(), 1);
    assert_eq!(backend.hooks_of("close").len(), 1);
    assert_eq!(backend.hooks_of("message").len(), expected.len());
}

#[tokio::test]
async fn engineio_client_over_polling_only() {
    check_client("engineio/polling.js", "polling", &["first"]).await;
}

#[tokio::test]
async fn engineio_client_over_websocket_only() {
    check_client("engineio/websocket.js", "websocket", &["first"]).await;
}

#[tokio::test]
async fn engineio_client_upgrades_from_polling_to_websocket() {
    check_client("engineio/upgrade.js", "polling", &["first", "upgraded"]).await;
}
