//! The real npm `socket.io-client` 0.9 (the alias `socket.io-client-v09`, Socket.IO 0.9.17, the client old IIS
//! pages still ship) against the gateway and the backend of `common::sio_backend`, connecting as those pages do:
//! `io.connect('http://server/?token=...', {resource: 'myApp/server.js'})`. Auth from the URL's query (accepted and
//! refused), an endpoint joined with `socket.of('/chat')` and one in the URL, events and callback acks, `send` and
//! `json.send`, bytes as base64, and the disconnect reasons the backend is told; over xhr-polling and over
//! WebSocket. Needs `npm ci --prefix tests/clients`; without it these tests fail.

use crate::common;
use common::sio_backend::{self, check_plain_event_hooks, events_named, sid_of};
use common::{Backend, Gateway, eio, node};
use serde_json::{Value, json};
use std::time::Duration;

/// How long one script may run (its own overall timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// The resource the pages pass to `io.connect`.
const RESOURCE: &str = "myApp/server.js";

/// The gateway serves 0.9 clients at `/{RESOURCE}/1/`; a polling client that went away is given up after the 1 s
/// `ping_timeout` (its aborted poll is not the end: a 0.9 client aborts it before it posts a disconnect).
async fn start() -> (Backend, Gateway) {
    sio_backend::start(&format!(
        "resource = \"{RESOURCE}\"\nping_interval = \"3s\"\nping_timeout = \"1s\""
    ))
    .await
}

/// Checks that socket.io-client 0.9 is installed, then runs `tests/clients/socketio09/<script> <url> <mode>`.
async fn run_script(gateway: &Gateway, script: &str, mode: &str) -> Value {
    let dir = node::clients_dir()
        .join("node_modules")
        .join("socket.io-client-v09");
    assert!(
        dir.is_dir(),
        "{} is missing: run `npm ci --prefix tests/clients` first (the socket.io-client 0.9 tests need it)",
        dir.display()
    );
    let url = gateway.url(&format!("/{RESOURCE}"));
    let run = node::run(&format!("socketio09/{script}"), &[&url, mode], LIMIT).await;
    run.assert_success();
    run.result()
}

/// The connect hook of socket `sid` on `namespace`, checked as a 0.9 client's: Socket.IO protocol 1, the handshake
/// query (without the transport's `t`) as auth. Returns the hook's body.
async fn check_09_connect(backend: &Backend, sid: &str, namespace: &str, name: &str) -> Value {
    let hook = sio_backend::only(backend, "connect", sid).await;
    let body = hook.body;
    assert_eq!(body["type"], "connect");
    assert_eq!(body["endpoint"], "/socket.io");
    assert_eq!(body["namespace"], namespace);
    assert_eq!(
        body["auth"],
        json!({"token": "good", "name": name}),
        "auth of {sid}"
    );
    let handshake = &body["handshake"];
    assert_eq!(handshake["protocol"], 1, "handshake: {handshake}");
    assert_eq!(
        handshake["transport"], "polling",
        "the 0.9 handshake is a plain GET"
    );
    assert_eq!(handshake["query"], json!({"token": "good", "name": name}));
    body
}

async fn reason(backend: &Backend, sid: &str, namespace: &str) -> String {
    let hook = sio_backend::only(backend, "disconnect", sid).await;
    assert_eq!(hook.body["namespace"], namespace);
    hook.body["reason"].as_str().unwrap_or_default().to_string()
}

async fn events_scenario(mode: &str) {
    let (backend, gateway) = start().await;
    let result = run_script(&gateway, "events.js", mode).await;
    assert_eq!(result["transport"], mode);
    let sid = sid_of(&result, "sid");
    check_09_connect(&backend, sid, "/", "erin").await;
    // The process exited without closing anything.
    assert_eq!(reason(&backend, sid, "/").await, "transport close");

    // 11 in the script's own steps, one after the seq events, one checking the transport.
    check_plain_event_hooks(&backend, sid, &result, 13);
    let messages: Vec<Value> = events_named(&backend, sid, "message")
        .into_iter()
        .map(|body| body["args"].clone())
        .collect();
    assert_eq!(
        messages,
        [
            json!(["plain text: with colons"]),
            json!([{"j": [1, "two"]}])
        ],
        "send and json.send arrive as `message` events"
    );
    let whoami = events_named(&backend, sid, "whoami");
    assert_eq!(whoami[0]["rooms"], json!([sid, "user:erin"]));
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

async fn auth_scenario(mode: &str) {
    let (backend, gateway) = start().await;
    let result = run_script(&gateway, "auth.js", mode).await;
    assert_eq!(result["transport"], mode);
    let (sid, chat, dave) = (
        sid_of(&result, "sid"),
        sid_of(&result, "chat"),
        sid_of(&result, "dave"),
    );
    let alice = check_09_connect(&backend, sid, "/", "alice").await;
    let alice_chat = check_09_connect(&backend, chat, "/chat", "alice").await;
    assert_eq!(
        alice["handshake"], alice_chat["handshake"],
        "one connection"
    );
    check_09_connect(&backend, dave, "/", "dave").await;
    check_09_connect(&backend, &format!("/chat#{dave}"), "/chat", "dave").await;

    let refused: Vec<Value> = backend
        .hooks_of("connect")
        .into_iter()
        .map(|hook| hook.body)
        .filter(|body| body["auth"]["token"] != "good")
        .collect();
    assert_eq!(refused.len(), 1, "refused connects: {refused:#?}");
    assert_eq!(
        refused[0]["auth"],
        json!({"token": "bad", "name": "mallory"})
    );
    assert_eq!(refused[0]["handshake"]["protocol"], 1);

    let chat_whoami = events_named(&backend, chat, "whoami");
    assert_eq!(chat_whoami.len(), 1);
    assert_eq!(chat_whoami[0]["namespace"], "/chat");

    assert_eq!(
        reason(&backend, chat, "/chat").await,
        "client namespace disconnect"
    );
    // Over xhr-polling the client drops the `0::` of `socket.disconnect()` when a POST is still in flight (here
    // the `0::/chat` just before it) and aborts its poll: the gateway then ends the session as a transport close,
    // or as a ping timeout when a heartbeat was out at that moment.
    let expected = if mode == "websocket" {
        &["client namespace disconnect"][..]
    } else {
        &[
            "client namespace disconnect",
            "transport close",
            "ping timeout",
        ][..]
    };
    for socket in [sid, dave] {
        let why = reason(&backend, socket, "/").await;
        assert!(expected.contains(&why.as_str()), "{socket}: {why}");
    }
    // dave's /chat socket ended with its connection.
    let dave_chat = reason(&backend, &format!("/chat#{dave}"), "/chat").await;
    assert!(
        ["client namespace disconnect", "transport close"].contains(&dave_chat.as_str()),
        "{dave_chat}"
    );
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn socketio09_client_events_over_xhr_polling() {
    events_scenario("xhr-polling").await;
}

#[tokio::test]
async fn socketio09_client_events_over_websocket() {
    events_scenario("websocket").await;
}

#[tokio::test]
async fn socketio09_client_auth_over_xhr_polling() {
    auth_scenario("xhr-polling").await;
}

#[tokio::test]
async fn socketio09_client_auth_over_websocket() {
    auth_scenario("websocket").await;
}
