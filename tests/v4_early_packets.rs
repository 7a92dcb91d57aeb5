//! Socket.IO protocol v4 clients (socket.io 1.x/2.x, python-socketio 4.x; Engine.IO v3) are connected to `/` by the
//! server and may send packets for `/` before its CONNECT reaches them. Such packets wait for the backend's decision:
//! delivered in order once `/` is accepted, dropped (the session goes on) when it is refused. Raw WebSocket clients
//! against a backend that takes its time to answer `connect`.

use crate::common;
use common::eio::{self, Ws};
use common::sio_backend;
use common::{Backend, Gateway, Hook, Reply};
use serde_json::json;
use std::time::Duration;

/// How long the backend takes to answer `connect`.
const SLOW: Duration = Duration::from_millis(300);

/// The backend of `sio_backend`, answering `connect` after [`SLOW`].
fn slow_connect(hook: &Hook) -> Reply {
    let reply = sio_backend::respond(hook);
    if hook.event == "connect" {
        reply.after(SLOW)
    } else {
        reply
    }
}

async fn start() -> (Backend, Gateway) {
    let backend = Backend::start(slow_connect).await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\n",
        backend.url()
    ))
    .await;
    (backend, gateway)
}

/// Opens a v3 WebSocket session with `query` (the auth of `/`); returns it and its engine id.
async fn open(gateway: &Gateway, query: &str) -> (Ws, String) {
    let url = gateway.ws_url(&format!("/socket.io/?EIO=3&transport=websocket{query}"));
    let mut ws = eio::ws_connect(&url).await;
    let first = eio::next_text(&mut ws).await;
    let open: serde_json::Value =
        serde_json::from_str(first.strip_prefix('0').expect("open packet")).unwrap();
    (ws, open["sid"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn packets_sent_before_the_connect_wait_for_it() {
    let (backend, gateway) = start().await;
    let (mut ws, sid) = open(&gateway, "&token=good&name=early").await;
    // At once, before `/` is decided: an event with ack, a binary event with ack, an event without ack.
    eio::send_text(&mut ws, r#"421["shout","early"]"#).await;
    eio::send_text(&mut ws, r#"451-2["binary",{"_placeholder":true,"num":0}]"#).await;
    eio::send_binary(&mut ws, &[4, 1, 2, 3]).await;
    eio::send_text(&mut ws, r#"42["seq",1]"#).await;
    assert_eq!(eio::next_text(&mut ws).await, "40");
    assert_eq!(
        eio::next_text(&mut ws).await,
        r#"42["welcome",{"name":"early","namespace":"/"}]"#
    );
    assert_eq!(eio::next_text(&mut ws).await, r#"431["EARLY",5]"#);
    // The binary ack (bytes reversed) and the `binary-back` emit (bytes unchanged), each with its attachment.
    let mut rest = Vec::new();
    for _ in 0..2 {
        let text = eio::next_text(&mut ws).await;
        rest.push((text, eio::next_binary(&mut ws).await));
    }
    rest.sort();
    assert_eq!(
        rest,
        [
            (
                r#"451-["binary-back",{"_placeholder":true,"num":0}]"#.to_string(),
                vec![4, 1, 2, 3]
            ),
            (
                r#"461-2[{"_placeholder":true,"num":0}]"#.to_string(),
                vec![4, 3, 2, 1]
            ),
        ]
    );
    let events = backend.wait_for("event", Some(&sid), 3).await;
    let names: Vec<_> = events.iter().map(|h| h.body["event"].clone()).collect();
    assert_eq!(names, [json!("shout"), json!("binary"), json!("seq")]);
    assert_eq!(events[1].body["args"], json!([{"$binary": "AQID"}]));
    assert_eq!(gateway.sessions(), 1);
    assert!(backend.hooks_of("disconnect").is_empty());
}

#[tokio::test]
async fn packets_sent_before_a_refused_connect_are_dropped() {
    let (backend, gateway) = start().await;
    let (mut ws, sid) = open(&gateway, "&token=bad").await;
    eio::send_text(&mut ws, r#"421["shout","early"]"#).await;
    let refusal = eio::next_text(&mut ws).await;
    assert_eq!(refusal, format!("44{}", sio_backend::reject_data()));
    // The session is still there: pings are answered.
    eio::send_text(&mut ws, "2").await;
    assert_eq!(eio::next_text(&mut ws).await, "3");
    assert_eq!(gateway.sessions(), 1);
    let hooks = backend.hooks();
    assert_eq!(hooks.len(), 1, "only the refused connect: {hooks:#?}");
    assert_eq!(hooks[0].event, "connect");
    assert_eq!(hooks[0].body["sid"], sid);
}
