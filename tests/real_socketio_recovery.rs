//! Connection state recovery with the real npm `socket.io-client` 4.x (`tests/clients/socketio/recovery.js`):
//! a client that drops (its TCP connection killed, or stalled past the ping timeout) comes back with its socket
//! id, rooms and data and gets every event it missed once, in order, with `socket.recovered` true; the backend
//! sees `recovered: true` and no `disconnect` hook; past the window the socket ends with its hook then. An
//! unmodified client is recovered from its second drop on. Over polling and over WebSocket.

use crate::common;
use common::api::{API_TABLE, TOKEN};
use common::sio_backend;
use common::{Backend, Gateway, Hook, node};
use serde_json::{Value, json};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(40);

/// A gateway with short pings (a stall is noticed in half a second) and recovery with a 2 s window.
async fn start() -> (Backend, Gateway) {
    let backend = Backend::start(sio_backend::respond).await;
    let gateway = Gateway::start(&format!(
        "{API_TABLE}\n[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\", \"/chat\"]\n\
         ping_interval = \"300ms\"\nping_timeout = \"200ms\"\n\
         recovery = {{ max_disconnection = \"2s\" }}\n",
        backend.url()
    ))
    .await;
    (backend, gateway)
}

async fn run(gateway: &Gateway, mode: &str, scenario: &str) -> Vec<Value> {
    let url = gateway.url("/socket.io/");
    let api = gateway.api_url("");
    let run = node::run(
        "socketio/recovery.js",
        &[&url, mode, scenario, &api, TOKEN],
        LIMIT,
    )
    .await;
    run.assert_success();
    run.result()["phases"].as_array().expect("phases").clone()
}

fn of_sid<'a>(hooks: &'a [Hook], event: &str, sid: &str) -> Vec<&'a Hook> {
    hooks
        .iter()
        .filter(|h| h.event == event && h.body["sid"] == sid)
        .collect()
}

/// The four events missed, as the client's `onAny` saw them, then the `welcome` the backend's reply to the
/// recovered connect emits; each with a distinct string offset last.
fn check_missed(events: &Value) {
    let events = events.as_array().expect("events");
    let without_offsets: Vec<Value> = events
        .iter()
        .map(|e| {
            let e = e.as_array().expect("event");
            Value::Array(e[..e.len() - 1].to_vec())
        })
        .collect();
    assert_eq!(
        without_offsets,
        vec![
            json!(["news", 1]),
            json!(["shout", {"from": "bob", "text": "b1"}]),
            json!(["news", 2]),
            json!(["shout", {"from": "bob", "text": "b2"}]),
            json!(["welcome", {"name": "rita", "namespace": "/"}]),
        ],
        "missed events, once each, in order: {events:?}"
    );
    let mut offsets: Vec<&str> = events
        .iter()
        .map(|e| {
            e.as_array()
                .unwrap()
                .last()
                .unwrap()
                .as_str()
                .expect("offset")
        })
        .collect();
    offsets.dedup();
    assert_eq!(offsets.len(), 5, "distinct offsets: {offsets:?}");
}

/// Checks a recovery: same id, recovered, missed events, rooms and data kept, the hooks.
fn check_recovered(backend_hooks: &[Hook], first: &Value, back: &Value) {
    let sid = first["sid"].as_str().expect("sid");
    assert_eq!(back["sid"], sid, "same socket id");
    assert_eq!(back["recovered"], true);
    check_missed(&back["events"]);
    assert_eq!(
        back["whoami"],
        json!([{"name": "rita"}, [sid, "user:rita"]]),
        "data and rooms kept"
    );
    let listed: Vec<&Value> = back["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["sid"] == sid)
        .collect();
    assert_eq!(listed.len(), 1, "listed once: {:?}", back["sockets"]);
    assert_eq!(listed[0]["rooms"], json!([sid, "user:rita"]));
    assert_eq!(listed[0]["data"], json!({"name": "rita"}));
    let connects = of_sid(backend_hooks, "connect", sid);
    assert_eq!(connects.len(), 2, "first connect and the recovery");
    assert_eq!(connects[0].body["recovered"], false);
    assert_eq!(connects[1].body["recovered"], true);
    assert_eq!(connects[1].body["rooms"], json!([sid, "user:rita"]));
    assert_eq!(connects[1].body["data"], json!({"name": "rita"}));
    assert!(connects[1].body["auth"]["pid"].is_string());
    assert_eq!(connects[1].body["auth"]["token"], "good");
}

async fn killed_then_expired(mode: &str) {
    let (backend, gateway) = start().await;
    let phases = run(&gateway, mode, "kill").await;
    let (first, back, expired) = (&phases[0], &phases[1], &phases[2]);
    // The welcome of the connect reply carried an offset: the marker asked for them.
    assert_eq!(first["welcome"].as_array().unwrap().len(), 2);
    assert_eq!(first["recovered"], false);
    let hooks = backend.hooks();
    check_recovered(&hooks, first, back);
    // Past the window: a new socket, and the old one's disconnect hook, sent after its recovery.
    let sid = first["sid"].as_str().unwrap();
    assert_eq!(expired["recovered"], false);
    assert_ne!(expired["sid"], sid);
    let disconnects = of_sid(&hooks, "disconnect", sid);
    assert_eq!(disconnects.len(), 1, "one disconnect hook, at expiry");
    let reason = disconnects[0].body["reason"].as_str().unwrap();
    let expected: &[&str] = if mode == "websocket" {
        &["transport close"]
    } else {
        &["transport error", "transport close", "ping timeout"]
    };
    assert!(expected.contains(&reason), "reason {reason}");
    let new_sid = expired["sid"].as_str().unwrap();
    let connects = of_sid(&hooks, "connect", new_sid);
    assert_eq!(connects.len(), 1);
    assert_eq!(connects[0].body["recovered"], false);
    let api = common::api::Api::of(&gateway);
    let metrics = api.metrics().await;
    let outcome = |o: &str| {
        metrics.value(
            "iogate_recoveries_total",
            &[("endpoint", "/socket.io"), ("outcome", o)],
        )
    };
    assert_eq!(outcome("recovered"), 1.0);
    assert_eq!(outcome("unknown_pid"), 1.0);
    assert_eq!(
        metrics.value(
            "iogate_recovery_expired_total",
            &[("endpoint", "/socket.io")]
        ),
        1.0
    );
}

async fn stalled(mode: &str) {
    let (backend, gateway) = start().await;
    let phases = run(&gateway, mode, "stall").await;
    let hooks = backend.hooks();
    check_recovered(&hooks, &phases[0], &phases[1]);
    assert_eq!(phases[1]["clientReason"], "ping timeout");
    let sid = phases[0]["sid"].as_str().unwrap();
    assert!(of_sid(&hooks, "disconnect", sid).is_empty());
}

async fn unmodified_client(mode: &str) {
    let (backend, gateway) = start().await;
    let phases = run(&gateway, mode, "plain").await;
    let (first, again, back) = (&phases[0], &phases[1], &phases[2]);
    // No marker: no offset on the first socket's welcome; the drop ends it as without recovery.
    assert_eq!(
        first["welcome"],
        json!([{"name": "rita", "namespace": "/"}])
    );
    assert_eq!(again["recovered"], false);
    let first_sid = first["sid"].as_str().unwrap();
    assert_ne!(again["sid"], first_sid);
    let hooks = backend.hooks();
    assert_eq!(of_sid(&hooks, "disconnect", first_sid).len(), 1);
    // The reconnect carried the pid: offsets from then on, and the second drop is recovered.
    assert_eq!(again["welcome"].as_array().unwrap().len(), 2);
    assert_eq!(back["sid"], again["sid"]);
    assert_eq!(back["recovered"], true);
    check_missed(&back["events"]);
    let sid = again["sid"].as_str().unwrap();
    assert!(of_sid(&hooks, "disconnect", sid).is_empty());
}

#[tokio::test]
async fn killed_then_expired_over_websocket() {
    killed_then_expired("websocket").await;
}

#[tokio::test]
async fn killed_then_expired_over_polling() {
    killed_then_expired("polling").await;
}

#[tokio::test]
async fn stalled_past_ping_timeout_over_websocket() {
    stalled("websocket").await;
}

#[tokio::test]
async fn stalled_past_ping_timeout_over_polling() {
    stalled("polling").await;
}

#[tokio::test]
async fn unmodified_client_over_websocket() {
    unmodified_client("websocket").await;
}

#[tokio::test]
async fn unmodified_client_over_polling() {
    unmodified_client("polling").await;
}
