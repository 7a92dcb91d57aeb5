//! The push API as real clients see it: the npm `socket.io-client` (4.x) and the PyPI `python-socketio` (5.x),
//! each over polling only and WebSocket only, connected to a gateway whose backend is `common::sio_backend`.
//! While a script (`tests/clients/{socketio,python}/pushes.*`) waits after printing `READY <sid>`, the test:
//! checks that the rooms joined by webhook replies and by `POST /v1/join` agree with `GET /v1/rooms` and
//! `GET /v1/sockets?room=`; emits `news` to the socket id and to a room the connect webhook joined (args with
//! unicode, nesting and binary, which must arrive as Buffer / bytes and equal the JSON sent); emits a `quiz` with
//! `ack_timeout` and checks the acks the client's handler derived; then `POST /v1/disconnect`s the socket, which the
//! client must see as a server disconnect and the backend as "server namespace disconnect".
//! Needs `npm ci --prefix tests/clients` and `pip install -r tests/clients/python/requirements.txt`; without them
//! these tests fail.

use crate::common;
use common::api::{self, Api, sockets_count};
use common::node::{self, Spawned};
use common::sio_backend::{self, b64, check_connect, disconnect_reason, sid_of};
use common::{Backend, Gateway, eio, python};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// How long a script may take to print READY, and to end after the disconnect (its own timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// Endpoint settings: a short `ping_timeout` so that a closed polling session's id is forgotten soon after the
/// client goes (see tests/real_python_client.rs).
const SETTINGS: &str = "ping_timeout = \"1s\"";

/// The name the scripts connect as; the connect webhook joins them to `user:<name>`.
const NAME: &str = "pia";

#[derive(Clone, Copy, PartialEq)]
enum Client {
    Node,
    Python,
}

/// Starts the `pushes` script of `client` in `mode` against `gateway`.
fn spawn(client: Client, gateway: &Gateway, mode: &str) -> Spawned {
    let url = gateway.url("/socket.io/");
    match client {
        Client::Node => {
            let package = node::clients_dir().join("node_modules/socket.io-client");
            assert!(
                package.is_dir(),
                "{} is missing: run `npm ci --prefix tests/clients` first (the socket.io-client tests need it)",
                package.display()
            );
            node::spawn("socketio/pushes.js", &[&url, mode])
        }
        Client::Python => python::spawn("pushes.py", &[&url, mode]),
    }
}

/// The sids of a `/v1/sockets` listing, with each one's rooms.
fn rooms_by_sid(listing: &[Value]) -> BTreeMap<String, Value> {
    listing
        .iter()
        .map(|socket| {
            let sid = socket["sid"].as_str().expect("listed sid").to_string();
            (sid, socket["rooms"].clone())
        })
        .collect()
}

/// Asserts that `GET /v1/rooms` lists exactly `rooms` (one socket each), and that `GET /v1/sockets?room=` of each
/// lists only `sid`, in exactly those rooms.
async fn assert_rooms(api: &Api, sid: &str, rooms: &[&str]) {
    let expected: BTreeMap<String, u64> = rooms.iter().map(|room| (room.to_string(), 1)).collect();
    assert_eq!(api.rooms("namespace=/").await, expected, "GET /v1/rooms");
    let everyone = rooms_by_sid(&api.sockets("").await);
    assert_eq!(
        everyone,
        BTreeMap::from([(sid.to_string(), json!(rooms))]),
        "GET /v1/sockets"
    );
    for room in rooms {
        let query = format!("namespace=/&room={}", room.replace(':', "%3A"));
        let listed = api.sockets(&query).await;
        assert_eq!(rooms_by_sid(&listed), everyone, "GET /v1/sockets?{query}");
        assert_eq!(listed[0]["data"], json!({"name": NAME}));
        assert_eq!(listed[0]["namespace"], "/");
    }
}

async fn pushes(client: Client, mode: &str) {
    let backend = Backend::start(sio_backend::respond).await;
    let gateway = api::socketio_gateway(&backend.url(), SETTINGS).await;
    let api = Api::of(&gateway);
    let mut script = spawn(client, &gateway, mode);
    let sid = script
        .line_starting("READY ", LIMIT)
        .await
        .trim()
        .to_string();
    check_connect(&backend, &sid, "/", NAME, mode).await;
    let user_room = format!("user:{NAME}");

    // (3) Rooms: joined by the connect webhook and by the reply to the `join` event, then by the API.
    assert_rooms(&api, &sid, &[&sid, &user_room, "lobby"]).await;
    let body = json!({"to": {"sockets": [sid]}, "rooms": ["vip"]}).to_string();
    assert_eq!(sockets_count(&api.post_ok("/v1/join", &body).await), 1);
    assert_rooms(&api, &sid, &[&sid, &user_room, "lobby", "vip"]).await;

    // (1) Events pushed to the socket id and to the room the connect webhook joined.
    let to_sid = json!([
        "héllo € 😀 \"quoted\" \\ \n\t",
        {"n": 1, "nested": [true, null, -2.5, "x"], "empty": {}, "list": [], "big": 9007199254740991i64},
        b64(&[0, 1, 2, 127, 128, 253, 254, 255]),
        0,
        "",
    ]);
    let to_room = json!([
        {"title": "room news", "file": b64("bytes héllo".as_bytes()), "parts": [b64(b"a"), "text", b64(&[9, 8])]},
        [[], [[1.5]], {"deep": {"deeper": [null]}}],
        false,
    ]);
    let body = json!({"to": {"sockets": [sid]}, "event": "news", "args": to_sid}).to_string();
    assert_eq!(api.emit(&body).await, 1, "news to the sid");
    let body = json!({"to": {"rooms": [user_room]}, "event": "news", "args": to_room}).to_string();
    assert_eq!(api.emit(&body).await, 1, "news to {user_room}");

    // (2) An emit asking for an ack (to the room the API joined): the client's handler answers with derived args.
    let quiz = json!([{"a": 2, "b": 40}, "quiz é", b64(&[1, 2, 3, 250])]);
    let body = json!({
        "to": {"rooms": ["vip"]}, "event": "quiz", "args": quiz, "ack_timeout": "3s",
    })
    .to_string();
    let answer: Value = serde_json::from_str(&api.post_ok("/v1/emit", &body).await).expect("JSON");
    assert_eq!(
        answer,
        json!({"acks": [{"sid": sid, "args": [42, "QUIZ É", b64(&[250, 3, 2, 1])]}]}),
        "acks of the quiz"
    );

    // (4) A server-side disconnect.
    let body = json!({"to": {"sockets": [sid]}}).to_string();
    assert_eq!(
        sockets_count(&api.post_ok("/v1/disconnect", &body).await),
        1
    );
    let run = script.finish(LIMIT).await;
    run.assert_success();
    let result = run.result();
    assert_eq!(sid_of(&result, "sid"), sid);
    assert_eq!(result["transport"], sio_backend::last_transport(mode));
    assert_eq!(
        result["events"],
        json!([
            {"event": "news", "args": to_sid},
            {"event": "news", "args": to_room},
            {"event": "quiz", "args": quiz},
        ]),
        "what the client received, in order"
    );
    let client_reason = match client {
        Client::Node => "io server disconnect",
        Client::Python => "server disconnect",
    };
    assert_eq!(result["reason"], client_reason);

    let reason = disconnect_reason(&backend, &sid, "/", NAME).await;
    assert_eq!(reason, "server namespace disconnect");
    let hook = backend
        .wait_for("disconnect", Some(&sid), 1)
        .await
        .remove(0);
    assert_eq!(hook.body["rooms"], json!([sid, user_room, "lobby", "vip"]));
    assert!(api.sockets("").await.is_empty(), "no socket listed");
    assert!(api.rooms("").await.is_empty(), "no room listed");
    eio::eventually("session closed", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("disconnect").len(), 1);
}

#[tokio::test]
async fn socketio_client_gets_api_pushes_over_polling() {
    pushes(Client::Node, "polling").await;
}

#[tokio::test]
async fn socketio_client_gets_api_pushes_over_websocket() {
    pushes(Client::Node, "websocket").await;
}

#[tokio::test]
async fn python_client_gets_api_pushes_over_polling() {
    pushes(Client::Python, "polling").await;
}

#[tokio::test]
async fn python_client_gets_api_pushes_over_websocket() {
    pushes(Client::Python, "websocket").await;
}
