//! The real npm `socket.io-client` (4.x) against the gateway and the backend of `common::sio_backend`: auth
//! accepted and rejected, events and acks, binary both ways, rooms and broadcasts, namespaces multiplexed over one
//! connection, and the disconnect reasons the backend is told. Each scenario runs over polling only, polling
//! upgraded to WebSocket, and WebSocket only. Needs `npm ci --prefix tests/clients`; without it these tests fail.

use crate::common;
use common::sio_backend::check_event_script_hooks;
use common::sio_backend::{
    self, check_connect, disconnect_reason, events_named, last_transport, sid_of,
};
use common::{Gateway, Hook, eio, node};
use serde_json::{Value, json};
use std::time::Duration;

/// How long one script may run (its own overall timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// Runs `tests/clients/socketio/<script> <url> <mode>` against `gateway` and returns its RESULT.
async fn run_script(gateway: &Gateway, script: &str, mode: &str) -> Value {
    let package = node::clients_dir().join("node_modules/socket.io-client");
    assert!(
        package.is_dir(),
        "{} is missing: run `npm ci --prefix tests/clients` first (the socket.io-client tests need it)",
        package.display()
    );
    let url = gateway.url("/socket.io/");
    let run = node::run(&format!("socketio/{script}"), &[&url, mode], LIMIT).await;
    run.assert_success();
    run.result()
}

async fn auth(mode: &str) {
    let (backend, gateway) = sio_backend::start("").await;
    let result = run_script(&gateway, "auth.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "/", "alice", mode).await;
    let reason = disconnect_reason(&backend, sid, "/", "alice").await;
    assert_eq!(reason, "client namespace disconnect");

    let whoami = events_named(&backend, sid, "whoami");
    assert_eq!(whoami.len(), 1);
    assert_eq!(whoami[0]["data"], json!({"name": "alice"}));
    assert_eq!(whoami[0]["ack"], true);

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
    assert_eq!(refused[0].body["handshake"]["protocol"], 5);
    let refused_sid = refused[0].body["sid"]
        .as_str()
        .expect("refused connect has a sid");
    assert_ne!(refused_sid, sid);
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
    assert!(
        backend
            .hooks()
            .iter()
            .all(|h| h.body["sid"] != refused_sid || h.event == "connect"),
        "a refused socket got hooks after its connect"
    );
    assert_eq!(backend.hooks_of("disconnect").len(), 1);
}

async fn events(mode: &str) {
    let (backend, gateway) = sio_backend::start("").await;
    let result = run_script(&gateway, "events.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "/", "erin", mode).await;
    // The process exited without closing anything.
    let reason = disconnect_reason(&backend, sid, "/", "erin").await;
    assert_eq!(reason, "transport close");

    check_event_script_hooks(&backend, sid, &result, 11, Some(json!({"name": "erin"})));
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

async fn rooms(mode: &str) {
    let (backend, gateway) = sio_backend::start("").await;
    let result = run_script(&gateway, "rooms.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sids = &result["sids"];
    let (alice, bob, carol) = (
        sid_of(sids, "alice"),
        sid_of(sids, "bob"),
        sid_of(sids, "carol"),
    );
    for (sid, name) in [(alice, "alice"), (bob, "bob"), (carol, "carol")] {
        check_connect(&backend, sid, "/", name, mode).await;
    }
    // alice disconnected its namespace, bob closed its transport, carol's process exited.
    let reasons = [
        disconnect_reason(&backend, alice, "/", "alice").await,
        disconnect_reason(&backend, bob, "/", "bob").await,
        disconnect_reason(&backend, carol, "/", "carol").await,
    ];
    assert_eq!(
        reasons,
        [
            "client namespace disconnect",
            "transport close",
            "transport close"
        ]
    );

    // Each hook carries the rooms the socket was in when the event was sent.
    let joins = events_named(&backend, bob, "join");
    assert_eq!(joins.len(), 2);
    assert_eq!(joins[0]["args"], json!(["red"]));
    assert_eq!(joins[1]["rooms"], json!([bob, "user:bob", "red"]));
    let broadcasts = events_named(&backend, bob, "broadcast");
    assert!(
        broadcasts
            .iter()
            .all(|b| b["rooms"] == json!([bob, "user:bob", "red", "blue"]))
    );
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
}

async fn namespaces(mode: &str) {
    let (backend, gateway) = sio_backend::start("").await;
    let result = run_script(&gateway, "namespaces.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let (root, chat, chat2) = (
        sid_of(&result, "root"),
        sid_of(&result, "chat"),
        sid_of(&result, "chat2"),
    );
    let handshake = check_connect(&backend, root, "/", "dora", mode).await;
    // One Engine.IO session: every socket shares its handshake.
    assert_eq!(
        check_connect(&backend, chat, "/chat", "dora", mode).await,
        handshake
    );
    assert_eq!(
        check_connect(&backend, chat2, "/chat", "dora", mode).await,
        handshake
    );
    assert!(
        backend
            .hooks_of("connect")
            .iter()
            .all(|h| h.body["namespace"] != "/nowhere"),
        "an invalid namespace reached the backend"
    );

    let reasons = [
        disconnect_reason(&backend, chat, "/chat", "dora").await,
        disconnect_reason(&backend, chat2, "/chat", "dora").await,
        disconnect_reason(&backend, root, "/", "dora").await,
    ];
    assert_eq!(
        reasons,
        [
            "client namespace disconnect",
            "server namespace disconnect",
            "client namespace disconnect"
        ]
    );
    // "/" went on after each /chat disconnect (the script pinged it then): three pings and a final one.
    assert_eq!(events_named(&backend, root, "ping").len(), 4);
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

async fn ping_timeout(mode: &str) {
    let (backend, gateway) =
        sio_backend::start("ping_interval = \"300ms\"\nping_timeout = \"200ms\"").await;
    let result = run_script(&gateway, "freeze.js", mode).await;
    let sid = sid_of(&result, "sid");
    check_connect(&backend, sid, "/", "frank", mode).await;
    let reason = disconnect_reason(&backend, sid, "/", "frank").await;
    assert_eq!(reason, "ping timeout");
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn socketio_client_auth_over_polling() {
    auth("polling").await;
}

#[tokio::test]
async fn socketio_client_auth_with_upgrade() {
    auth("upgrade").await;
}

#[tokio::test]
async fn socketio_client_auth_over_websocket() {
    auth("websocket").await;
}

#[tokio::test]
async fn socketio_client_events_over_polling() {
    events("polling").await;
}

#[tokio::test]
async fn socketio_client_events_with_upgrade() {
    events("upgrade").await;
}

#[tokio::test]
async fn socketio_client_events_over_websocket() {
    events("websocket").await;
}

#[tokio::test]
async fn socketio_client_rooms_over_polling() {
    rooms("polling").await;
}

#[tokio::test]
async fn socketio_client_rooms_with_upgrade() {
    rooms("upgrade").await;
}

#[tokio::test]
async fn socketio_client_rooms_over_websocket() {
    rooms("websocket").await;
}

#[tokio::test]
async fn socketio_client_namespaces_over_polling() {
    namespaces("polling").await;
}

#[tokio::test]
async fn socketio_client_namespaces_with_upgrade() {
    namespaces("upgrade").await;
}

#[tokio::test]
async fn socketio_client_namespaces_over_websocket() {
    namespaces("websocket").await;
}

#[tokio::test]
async fn socketio_client_that_stops_answering_pings_over_polling() {
    ping_timeout("polling").await;
}

#[tokio::test]
async fn socketio_client_that_stops_answering_pings_over_websocket() {
    ping_timeout("websocket").await;
}
