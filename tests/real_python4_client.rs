//! The real PyPI `python-socketio` 4.x with `python-engineio` 3.x (Engine.IO v3, Socket.IO protocol v4) against the
//! gateway and the backend of `common::sio_backend`: the token in the URL's query as the auth of "/", accepted and
//! refused (with data, and with a plain message), `sio.sid` as the socket id, a call sent before the server's
//! CONNECT arrives, events, acks through `sio.call`, bytes both ways, client pings (over polling every POST uses the
//! XHR2 binary framing, pings included), and the disconnect reasons the backend is told; over polling only,
//! WebSocket only, and polling upgraded to WebSocket. Needs the venv of `tests/clients/python4/` (scripts/test.sh
//! creates it); without it these tests fail.

use crate::common;
use crate::common::python4;

use common::sio_backend::check_event_script_hooks;
use common::sio_backend::{self, events_named, first_transport, last_transport, sid_of};
use common::{Backend, Gateway, Hook, Reply, eio};
use serde_json::{Value, json};
use std::time::Duration;

/// How long one script may run (its own overall timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// Endpoint settings of these tests: python-engineio 3 pings every `ping_interval` (several times per script);
/// python-engineio closes a polling session with no GET in flight, and the gateway keeps such a closed session's id
/// for one `ping_timeout`: a short one lets the tests see every session gone soon after the scripts end.
const SETTINGS: &str = "ping_interval = \"500ms\"\nping_timeout = \"1s\"";

/// The backend of `sio_backend`, plus: the token "plain" is refused with a message and no data.
fn respond(hook: &Hook) -> Reply {
    if hook.event == "connect" && hook.body["auth"]["token"] == "plain" {
        return Reply::json(json!({"reject": {"message": "Go away"}}));
    }
    sio_backend::respond(hook)
}

/// Like [`respond`], answering `connect` only after 300 ms: a client that emits as soon as its connection is open
/// (python-socketio 4 does not wait for "/") sends its first events while "/" is still connecting.
fn respond_slowly(hook: &Hook) -> Reply {
    let reply = respond(hook);
    if hook.event == "connect" {
        reply.after(Duration::from_millis(300))
    } else {
        reply
    }
}

async fn start() -> (Backend, Gateway) {
    start_with(respond).await
}

async fn start_with(responder: fn(&Hook) -> Reply) -> (Backend, Gateway) {
    let backend = Backend::start(responder).await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\", \"/chat\"]\n{SETTINGS}\n",
        backend.url()
    ))
    .await;
    (backend, gateway)
}

/// Runs `tests/clients/python4/<script> <url> <mode>` against `gateway` and returns its RESULT.
async fn run_script(gateway: &Gateway, script: &str, mode: &str) -> Value {
    let url = gateway.url("/socket.io/");
    let run = python4::run(script, &[&url, mode], LIMIT).await;
    run.assert_success();
    run.result()
}

/// The connect hook of socket `sid` on "/", checked as a python-socketio 4 client's: Socket.IO protocol 4 over
/// Engine.IO 3, the URL's query `{token, name}` as auth.
async fn check_connect(backend: &Backend, sid: &str, token: &str, name: &str, mode: &str) -> Value {
    let hook = sio_backend::only(backend, "connect", sid).await;
    let body = hook.body;
    assert_eq!(body["type"], "connect");
    assert_eq!(body["endpoint"], "/socket.io");
    assert_eq!(body["namespace"], "/");
    assert_eq!(body["auth"], json!({"token": token, "name": name}));
    let handshake = &body["handshake"];
    assert_eq!(handshake["protocol"], 4, "handshake: {handshake}");
    assert_eq!(handshake["query"]["EIO"], "3");
    assert_eq!(handshake["query"]["token"], token);
    assert_eq!(handshake["transport"], first_transport(mode));
    assert_eq!(handshake["query"]["transport"], first_transport(mode));
    body
}

/// The reason of the one disconnect hook of `sid`.
async fn reason(backend: &Backend, sid: &str) -> String {
    let hook = sio_backend::only(backend, "disconnect", sid).await;
    assert_eq!(hook.body["namespace"], "/");
    hook.body["reason"].as_str().unwrap_or_default().to_string()
}

async fn auth(mode: &str) {
    let (backend, gateway) = start().await;
    let result = run_script(&gateway, "auth.py", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "good", "alice", mode).await;
    let refused = result["refused"].as_array().expect("RESULT has refused");
    let mallory = refused[0].as_str().expect("mallory's sid");
    let pat = refused[1].as_str().expect("pat's sid");
    check_connect(&backend, mallory, "bad", "mallory", mode).await;
    check_connect(&backend, pat, "plain", "pat", mode).await;

    let whoami = events_named(&backend, sid, "whoami");
    assert_eq!(whoami.len(), 1);
    assert_eq!(whoami[0]["ack"], true);
    assert_eq!(whoami[0]["rooms"], json!([sid, "user:alice"]));

    assert_eq!(reason(&backend, sid).await, "client namespace disconnect");
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
    // Refused sockets never connected: only alice's disconnect.
    assert_eq!(backend.hooks_of("disconnect").len(), 1);
}

async fn events(mode: &str) {
    let (backend, gateway) = start_with(respond_slowly).await;
    let result = run_script(&gateway, "events.py", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "good", "erin", mode).await;
    // The process exited without closing anything.
    assert_eq!(reason(&backend, sid).await, "transport close");

    // The first event was sent before the client saw "/" connected: it still reached the backend, first.
    let first = backend
        .hooks_of("event")
        .into_iter()
        .find(|hook| hook.body["sid"] == sid)
        .expect("events of erin");
    assert_eq!(first.body["event"], "shout");
    assert_eq!(first.body["args"], json!(["héllo € 😀 world"]));
    assert_eq!(first.body["ack"], true);

    check_event_script_hooks(&backend, sid, &result, 11, None);
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn python4_client_auth_over_polling() {
    auth("polling").await;
}

#[tokio::test]
async fn python4_client_auth_over_websocket() {
    auth("websocket").await;
}

#[tokio::test]
async fn python4_client_auth_with_upgrade() {
    auth("upgrade").await;
}

#[tokio::test]
async fn python4_client_events_over_polling() {
    events("polling").await;
}

#[tokio::test]
async fn python4_client_events_over_websocket() {
    events("websocket").await;
}

#[tokio::test]
async fn python4_client_events_with_upgrade() {
    events("upgrade").await;
}
