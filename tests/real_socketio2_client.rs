//! The real npm `socket.io-client` 2.x (the alias `socket.io-client-v2`: Engine.IO v3, Socket.IO protocol v4)
//! against the gateway and the backend of `common::sio_backend`: auth from the handshake query (accepted, refused
//! with data, refused with a plain message), a custom namespace with its own query, socket ids as the client derives
//! them, events and callback acks, Buffers both ways, and the disconnect reasons the backend is told; each over
//! polling only, polling upgraded to WebSocket, and WebSocket only. Then one room shared by a socket.io-client 4.x,
//! a socket.io-client 2.x, a python-socketio 4.x and a socket.io-client 0.9 client, reached by the push API and by a
//! webhook reply's `broadcast`. Needs `npm ci --prefix tests/clients` (and the python4 venv for the shared room); without them these
//! tests fail.

use crate::common;
use crate::common::python4;

use common::sio::SioWs;
use common::sio_backend::check_event_script_hooks;
use common::sio_backend::{self, events_named, first_transport, last_transport, sid_of};
use common::{Backend, Gateway, Hook, Reply, eio, node};
use serde_json::{Value, json};
use std::time::Duration;

/// How long one script may run (its own overall timeout is 15 s).
const LIMIT: Duration = Duration::from_secs(25);

/// The backend of `sio_backend`, plus: the token "plain" is refused with a message and no data.
fn respond(hook: &Hook) -> Reply {
    if hook.event == "connect" && hook.body["auth"]["token"] == "plain" {
        return Reply::json(json!({"reject": {"message": "Go away"}}));
    }
    sio_backend::respond(hook)
}

/// The endpoint table (namespaces `/` and `/chat`) relaying to `backend`, with `extra` lines.
fn endpoint(backend: &Backend, extra: &str) -> String {
    format!(
        "[[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\", \"/chat\"]\n{extra}\n",
        backend.url()
    )
}

async fn start() -> (Backend, Gateway) {
    start_with("").await
}

/// A backend and a gateway whose endpoint has the `extra` lines.
async fn start_with(extra: &str) -> (Backend, Gateway) {
    let backend = Backend::start(respond).await;
    let gateway = Gateway::start(&endpoint(&backend, extra)).await;
    (backend, gateway)
}

/// Fails, with the install command, unless socket.io-client 2.x and 4.x are installed.
fn require_node_clients() {
    for package in [
        "socket.io-client-v2",
        "socket.io-client",
        "socket.io-client-v09",
    ] {
        let dir = node::clients_dir().join("node_modules").join(package);
        assert!(
            dir.is_dir(),
            "{} is missing: run `npm ci --prefix tests/clients` first (the socket.io-client 2.x tests need it)",
            dir.display()
        );
    }
}

/// Checks that socket.io-client 2.x is installed, then runs `tests/clients/socketio2/<script> <url> <mode>`.
async fn run_script(gateway: &Gateway, script: &str, mode: &str) -> Value {
    require_node_clients();
    let url = gateway.url("/socket.io/");
    let run = node::run(&format!("socketio2/{script}"), &[&url, mode], LIMIT).await;
    run.assert_success();
    run.result()
}

/// The connect hook of socket `sid`, checked as a socket.io 2.x client's: Socket.IO protocol 4 over Engine.IO 3, the
/// auth `{token, name}` as given in a query. Returns the hook's body.
async fn check_v2_connect(
    backend: &Backend,
    sid: &str,
    namespace: &str,
    auth: Value,
    mode: &str,
) -> Value {
    let hook = sio_backend::only(backend, "connect", sid).await;
    let body = hook.body;
    assert_eq!(body["type"], "connect");
    assert_eq!(body["endpoint"], "/socket.io");
    assert_eq!(body["namespace"], namespace);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["rooms"], json!([]));
    assert_eq!(body["auth"], auth, "auth of {sid}");
    let handshake = &body["handshake"];
    // The Socket.IO protocol of the client; the Engine.IO version is in the query.
    assert_eq!(handshake["protocol"], 4, "handshake: {handshake}");
    assert_eq!(handshake["query"]["EIO"], "3");
    assert_eq!(handshake["transport"], first_transport(mode));
    assert_eq!(handshake["query"]["transport"], first_transport(mode));
    assert_eq!(handshake["secure"], false);
    body
}

/// The reason of the one disconnect hook of `sid`.
async fn reason(backend: &Backend, sid: &str, namespace: &str) -> String {
    let hook = sio_backend::only(backend, "disconnect", sid).await;
    assert_eq!(hook.body["namespace"], namespace);
    hook.body["reason"].as_str().unwrap_or_default().to_string()
}

fn auth(token: &str, name: &str) -> Value {
    json!({"token": token, "name": name})
}

async fn auth_scenario(mode: &str) {
    let (backend, gateway) = start().await;
    let result = run_script(&gateway, "auth.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let (sid, chat, dave) = (
        sid_of(&result, "sid"),
        sid_of(&result, "chat"),
        sid_of(&result, "dave"),
    );

    // socket ids: the Engine.IO id on "/", "/chat#<engine id>" on /chat.
    let alice = check_v2_connect(&backend, sid, "/", auth("good", "alice"), mode).await;
    assert_eq!(alice["handshake"]["query"]["token"], "good");
    assert_eq!(alice["handshake"]["query"]["name"], "alice");
    let carol_engine = chat
        .strip_prefix("/chat#")
        .unwrap_or_else(|| panic!("/chat socket id {chat:?}"));
    let carol = check_v2_connect(&backend, chat, "/chat", auth("good", "carol"), mode).await;
    // "/" of that connection was connected by the server, with the URL's query as auth.
    let carol_root =
        check_v2_connect(&backend, carol_engine, "/", auth("good", "carol"), mode).await;
    assert_eq!(carol["handshake"], carol_root["handshake"]);
    check_v2_connect(&backend, dave, "/", auth("good", "dave"), mode).await;

    // Refusals: mallory on "/" (handshake query), pat on "/" without data, mallory's query on dave's /chat.
    let refused: Vec<Value> = backend
        .hooks_of("connect")
        .into_iter()
        .map(|hook| hook.body)
        .filter(|body| body["auth"]["token"] != "good")
        .collect();
    assert_eq!(refused.len(), 3, "refused connects: {refused:#?}");
    let find = |namespace: &str, token: &str| {
        refused
            .iter()
            .find(|b| b["namespace"] == namespace && b["auth"]["token"] == token)
            .unwrap_or_else(|| panic!("no refused {token} connect on {namespace}: {refused:#?}"))
            .clone()
    };
    let mallory = find("/", "bad");
    assert_eq!(mallory["auth"], auth("bad", "mallory"));
    assert_eq!(mallory["handshake"]["protocol"], 4);
    let pat = find("/", "plain");
    assert_eq!(pat["auth"], auth("plain", "pat"));
    let spy = find("/chat", "bad");
    assert_eq!(spy["auth"], auth("bad", "mallory"));
    assert_eq!(spy["sid"], format!("/chat#{dave}"), "the refused /chat id");
    assert_eq!(spy["handshake"]["query"]["name"], "dave");

    let whoami = events_named(&backend, sid, "whoami");
    assert_eq!(whoami.len(), 1);
    assert_eq!(whoami[0]["data"], json!({"name": "alice"}));
    assert_eq!(whoami[0]["ack"], true);
    let chat_whoami = events_named(&backend, chat, "whoami");
    assert_eq!(chat_whoami.len(), 1);
    assert_eq!(chat_whoami[0]["namespace"], "/chat");
    assert_eq!(chat_whoami[0]["rooms"], json!([chat, "user:carol"]));

    let reasons = [
        reason(&backend, sid, "/").await,
        reason(&backend, chat, "/chat").await,
        reason(&backend, carol_engine, "/").await,
        reason(&backend, dave, "/").await,
    ];
    assert_eq!(
        reasons,
        [
            "client namespace disconnect",
            "client namespace disconnect",
            // The client never had a "/" socket there: its connection closed under it.
            "transport close",
            "client namespace disconnect",
        ]
    );
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("disconnect").len(), 4);
}

async fn events_scenario(mode: &str) {
    events_scenario_with(mode, "").await;
}

/// The events script against an endpoint with the `extra` lines.
async fn events_scenario_with(mode: &str, extra: &str) {
    let (backend, gateway) = start_with(extra).await;
    let result = run_script(&gateway, "events.js", mode).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = sid_of(&result, "sid");
    check_v2_connect(&backend, sid, "/", auth("good", "erin"), mode).await;
    // The process exited without closing anything.
    assert_eq!(reason(&backend, sid, "/").await, "transport close");

    // 11 in the script's own steps, one after the seq events, one checking the transport.
    check_event_script_hooks(&backend, sid, &result, 13, Some(json!({"name": "erin"})));
    eio::eventually("session closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn socketio2_client_auth_over_polling() {
    auth_scenario("polling").await;
}

#[tokio::test]
async fn socketio2_client_auth_with_upgrade() {
    auth_scenario("upgrade").await;
}

#[tokio::test]
async fn socketio2_client_auth_over_websocket() {
    auth_scenario("websocket").await;
}

/// Engine.IO v3 clients never get offsets, even when the endpoint gives them to every v5 client: the script's
/// argument checks would see the extra one.
#[tokio::test]
async fn socketio2_client_events_with_recovery_offsets_always() {
    events_scenario_with(
        "websocket",
        "recovery = { max_disconnection = \"5s\", offsets = \"always\" }",
    )
    .await;
}

#[tokio::test]
async fn socketio2_client_events_over_polling() {
    events_scenario("polling").await;
}

#[tokio::test]
async fn socketio2_client_events_with_upgrade() {
    events_scenario("upgrade").await;
}

#[tokio::test]
async fn socketio2_client_events_over_websocket() {
    events_scenario("websocket").await;
}

/// Waits until `count` `ready` events have arrived; the scripts start slowly on a busy machine.
async fn wait_ready(backend: &Backend, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let ready: Vec<Value> = backend
            .hooks_of("event")
            .into_iter()
            .filter(|hook| hook.body["event"] == "ready")
            .map(|hook| hook.body)
            .collect();
        if ready.len() >= count {
            return ready;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of {count} clients ready",
            ready.len()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn one_room_reaches_socketio4_socketio2_python4_and_socketio09_clients() {
    // Fail at once, with the install hints, when a client is missing.
    require_node_clients();
    python4::interpreter();
    let backend = Backend::start(respond).await;
    let gateway = Gateway::start(&format!(
        "[api]\ntoken = \"t0k\"\n\n{}",
        endpoint(&backend, "ping_timeout = \"1s\"")
    ))
    .await;
    let url = gateway.url("/socket.io/");

    // A socket.io-client 4.x over WebSocket, a 2.x over polling, a python-socketio 4.x over polling.
    let v4 = tokio::spawn({
        let url = url.clone();
        async move {
            node::run(
                "socketio/mixed_room.js",
                &[&url, "websocket", "vera"],
                LIMIT,
            )
            .await
        }
    });
    let v2 = tokio::spawn({
        let url = url.clone();
        async move { node::run("socketio2/mixed_room.js", &[&url, "polling", "otto"], LIMIT).await }
    });
    let py4 = tokio::spawn({
        let url = url.clone();
        async move { python4::run("mixed_room.py", &[&url, "polling", "pia"], LIMIT).await }
    });
    // A socket.io-client 0.9 over xhr-polling, at the default resource (the endpoint's path).
    let v09 = tokio::spawn({
        let url = gateway.url("/socket.io");
        async move {
            node::run(
                "socketio09/mixed_room.js",
                &[&url, "xhr-polling", "nina"],
                LIMIT,
            )
            .await
        }
    });
    let ready = wait_ready(&backend, 4).await;
    let mut names: Vec<&str> = ready
        .iter()
        .map(|body| body["args"][0].as_str().unwrap_or_default())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["nina", "otto", "pia", "vera"]);

    // The push API, to the room.
    let answer = eio::http()
        .post(gateway.api_url("/v1/emit"))
        .bearer_auth("t0k")
        .header("content-type", "application/json")
        .body(
            json!({
                "to": {"rooms": ["mixed"]},
                "event": "news",
                "args": ["hello, mixed room", {"$binary": "AQID"}],
            })
            .to_string(),
        )
        .send()
        .await
        .expect("API call");
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value =
        serde_json::from_str(&answer.text().await.expect("API body")).expect("API JSON");
    assert_eq!(body, json!({"sockets": 4}));

    // A webhook reply's broadcast, triggered by a raw v5 client outside the room.
    let (mut rusty, _) =
        SioWs::connected(&gateway, "/", Some(r#"{"token":"good","name":"rusty"}"#)).await;
    rusty
        .send(r#"421["broadcast",{"rooms":["mixed"],"text":"from the backend"}]"#)
        .await;
    loop {
        let packet = rusty.recv_text().await;
        if packet.starts_with("42[\"welcome\"") {
            continue;
        }
        assert_eq!(packet, r#"431["sent"]"#);
        break;
    }

    let mut sids = Vec::new();
    for (name, run) in [("vera", v4), ("otto", v2), ("pia", py4), ("nina", v09)] {
        let run = run.await.expect("client task");
        run.assert_success();
        let result = run.result();
        assert_eq!(
            result["news"],
            json!(["hello, mixed room", "AQID"]),
            "{name}"
        );
        // Socket.IO 0.9 has no binary: its client gets the bytes as the same base64 text.
        assert_eq!(
            result["binary"],
            name != "nina",
            "{name} got the bytes as binary"
        );
        assert_eq!(
            result["shout"],
            json!([{"from": "rusty", "text": "from the backend"}]),
            "{name}"
        );
        let sid = sid_of(&result, "sid").to_string();
        let connect = sio_backend::only(&backend, "connect", &sid).await;
        assert_eq!(connect.body["auth"]["name"], name);
        sids.push((name, sid, connect.body["handshake"]["protocol"].clone()));
    }
    let protocols: Vec<(&str, Value)> = sids
        .iter()
        .map(|(name, _, protocol)| (*name, protocol.clone()))
        .collect();
    assert_eq!(
        protocols,
        [
            ("vera", json!(5)),
            ("otto", json!(4)),
            ("pia", json!(4)),
            ("nina", json!(1))
        ]
    );
    rusty.close().await;
    eio::eventually("sessions closed", || gateway.sessions() == 0).await;
}
