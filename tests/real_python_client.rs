//! The real PyPI `python-socketio` (5.x) client against the gateway and the backend of `common::sio_backend`:
//! auth accepted (on "/" and "/chat") and rejected with message and data, events, acks through `sio.call`, bytes
//! both ways, and the disconnect reasons the backend is told; over polling only, WebSocket only, and polling
//! upgraded to WebSocket. Needs `pip install -r tests/clients/python/requirements.txt`; without it these tests fail.

use crate::common;
use common::sio_backend::check_event_script_hooks;
use common::sio_backend::{
    self, check_connect, disconnect_reason, events_named, last_transport, sid_of,
};
use common::{Gateway, Hook, eio, python};
use serde_json::{Value, json};
use std::time::Duration;

/// How long one script may run (its own overall timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// Endpoint settings of these tests. python-engineio closes a polling session with no GET in flight (after a
/// refused connect, say); the gateway keeps such a closed session's id for one `ping_timeout`, so that a GET racing
/// the close still gets its answer. A short one lets the tests see every session gone soon after the scripts end.
const SETTINGS: &str = "ping_timeout = \"1s\"";

/// Runs `tests/clients/python/<script> <url> <mode>` against `gateway` and returns its RESULT.
async fn run_script(gateway: &Gateway, script: &str, mode: &str) -> Value {
    let url = gateway.url("/socket.io/");
    let run = python::run(script, &[&url, mode], LIMIT).await;
    run.assert_success();
    run.result()
}

async fn auth(mode: &str) {
    let (backend, gateway) = sio_backend::start(SETTINGS).await;
    let result = run_script(&gateway, "auth.py", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let (sid, chat) = (sid_of(&result, "sid"), sid_of(&result, "chat"));
    let handshake = check_connect(&backend, sid, "/", "alice", mode).await;
    assert_eq!(
        check_connect(&backend, chat, "/chat", "alice", mode).await,
        handshake,
        "one session, one handshake"
    );
    let whoami = events_named(&backend, chat, "whoami");
    assert_eq!(whoami.len(), 1);
    assert_eq!(whoami[0]["ack"], true);
    assert_eq!(whoami[0]["rooms"], json!([chat, "user:alice"]));

    let refused: Vec<Hook> = backend
        .hooks_of("connect")
        .into_iter()
        .filter(|h| h.body["auth"]["token"] == "bad")
        .collect();
    assert_eq!(refused.len(), 1, "one refused connect");
    assert_eq!(
        refused[0].body["auth"],
        json!({"token": "bad", "name": "mallory"})
    );
    assert_eq!(refused[0].body["namespace"], "/");
    assert_eq!(refused[0].body["handshake"]["protocol"], 5);

    let reasons = [
        disconnect_reason(&backend, sid, "/", "alice").await,
        disconnect_reason(&backend, chat, "/chat", "alice").await,
    ];
    assert_eq!(reasons, ["client namespace disconnect"; 2]);
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("disconnect").len(), 2);
}

async fn events(mode: &str) {
    events_with(mode, SETTINGS).await;
}

/// The events script against an endpoint with `settings`.
async fn events_with(mode: &str, settings: &str) {
    let (backend, gateway) = sio_backend::start(settings).await;
    let result = run_script(&gateway, "events.py", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "/", "erin", mode).await;
    // The process exited without closing anything.
    let reason = disconnect_reason(&backend, sid, "/", "erin").await;
    assert_eq!(reason, "transport close");

    check_event_script_hooks(&backend, sid, &result, 11, None);
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn python_client_auth_over_polling() {
    auth("polling").await;
}

#[tokio::test]
async fn python_client_auth_over_websocket() {
    auth("websocket").await;
}

#[tokio::test]
async fn python_client_auth_with_upgrade() {
    auth("upgrade").await;
}

#[tokio::test]
async fn python_client_events_over_polling() {
    events("polling").await;
}

#[tokio::test]
async fn python_client_events_over_websocket() {
    events("websocket").await;
}

#[tokio::test]
async fn python_client_events_with_upgrade() {
    events("upgrade").await;
}

/// With connection state recovery configured, a client that never asks for offsets (python-socketio sends no
/// `pid` back and no `recovery=1` marker) gets no extra argument: its fixed-arity handlers would fail on one.
#[tokio::test]
async fn python_client_events_with_recovery_configured() {
    events_with(
        "websocket",
        &format!("{SETTINGS}\nrecovery = {{ max_disconnection = \"5s\" }}"),
    )
    .await;
}
