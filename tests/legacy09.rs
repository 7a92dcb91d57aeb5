//! Socket.IO 0.9 clients over xhr-polling, jsonp-polling and WebSocket, with raw 0.9 messages against a running gateway
//! and a real webhook backend: the handshake at `/{resource}/1/` (custom resources such as `myApp/server.js`),
//! `1::` for the main endpoint, events with and without acks, messages and json messages, endpoints as
//! namespaces (accepted and refused), heartbeats and ping timeouts, payload framing, JSONP, unknown sessions,
//! disconnects, and pushes from the API reaching 0.9 clients.

use crate::common;
use common::api::Api;
use common::eio;
use common::sio::{self, accept, raw_field};
use common::sio09::{SEP, Sio09Client};
use common::{Backend, Hook, Reply};
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message as Frame;

/// The resource old IIS pages pass to `io.connect`.
const RESOURCE: &str = "myApp/server.js";

fn config(extra: &str) -> String {
    format!("resource = \"{RESOURCE}\"\nnamespaces = [\"/\", \"/chat\", \"/admin\"]\n{extra}")
}

/// The endpoint keys of [`config`] for a gateway whose endpoint table already lists its namespaces.
fn resource_only() -> String {
    format!("resource = \"{RESOURCE}\"")
}

/// Acks `echo` events with their arguments, answers `message` events with a `message-back` emit, refuses
/// `/admin` and the token `bad`; accepts everything else.
fn app(hook: &Hook) -> Reply {
    if hook.event == "connect" && hook.body["auth"]["token"] == "bad" {
        return Reply::json(serde_json::json!({"reject": {"message": "Go away"}}));
    }
    match (hook.event.as_str(), hook.body["namespace"].as_str()) {
        ("connect", Some("/admin")) => Reply::json(serde_json::json!({
            "reject": { "message": "Not authorized" }
        })),
        ("event", _) if hook.body["event"] == "echo" => {
            Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args")))
        }
        ("event", _) if hook.body["event"] == "message" => Reply::ok(format!(
            r#"{{"emit":[{{"event":"message-back","args":{}}}]}}"#,
            raw_field(hook, "args")
        )),
        _ => Reply::ok(""),
    }
}

#[tokio::test]
async fn handshake_at_the_resource_then_the_main_endpoint_connects() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(
        &backend.url(),
        &config("ping_interval = \"20s\"\nping_timeout = \"5s\""),
    )
    .await;

    let client = Sio09Client::connect(&gateway, RESOURCE, "token=abc&name=J%20D").await;
    assert_eq!(client.sid.len(), 20, "a session id: {:?}", client.handshake);
    assert_eq!(
        client.handshake[1], "25",
        "heartbeat timeout: interval + timeout"
    );
    assert_eq!(client.handshake[2], "25", "close timeout");
    assert!(
        client.handshake[3].split(',').any(|t| t == "xhr-polling")
            && client.handshake[3].split(',').any(|t| t == "jsonp-polling"),
        "transports: {:?}",
        client.handshake[3]
    );
    assert_eq!(client.next().await, "1::", "the main endpoint is connected");

    let connect = backend.wait_for("connect", None, 1).await.remove(0);
    assert_eq!(connect.body["namespace"], "/");
    assert_eq!(
        connect.body["handshake"]["protocol"], 1,
        "Socket.IO 0.9 clients are protocol 1"
    );
    assert_eq!(
        connect.body["auth"],
        serde_json::json!({"token": "abc", "name": "J D"}),
        "the handshake query is the auth, without the transport's keys"
    );
    assert!(connect.body["handshake"]["query"].get("t").is_none());

    // The default resource is the endpoint path: /socket.io/1/ answers too when no resource is set.
    let plain = sio::gateway(&backend.url(), "").await;
    let other = Sio09Client::connect(&plain, "socket.io", "").await;
    assert_eq!(other.next().await, "1::");
    // And v1+ clients still handshake at the same path.
    let (sid, _) = eio::handshake(&plain.url("/socket.io/")).await;
    assert_eq!(sid.len(), 20);
}

#[tokio::test]
async fn events_with_acks_messages_and_json_reach_the_backend_and_back() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(&backend.url(), &config("")).await;
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(client.next().await, "1::");

    client
        .send(&[r#"5:1+::{"name":"echo","args":[{"a":1},"€uro",[true,null]]}"#])
        .await;
    assert_eq!(client.next().await, r#"6:::1+[{"a":1},"€uro",[true,null]]"#);
    let event = backend.wait_for("event", None, 1).await.remove(0);
    assert_eq!(event.body["event"], "echo");
    assert_eq!(raw_field(&event, "args"), r#"[{"a":1},"€uro",[true,null]]"#);

    // A plain message (type 3) and a json message (type 4) are `message` events.
    client.send(&["3:::hello: \"world\""]).await;
    assert_eq!(
        client.next().await,
        r#"5:::{"name":"message-back","args":["hello: \"world\""]}"#
    );
    client.send(&[r#"4:::{"j":[1,2]}"#]).await;
    assert_eq!(
        client.next().await,
        r#"5:::{"name":"message-back","args":[{"j":[1,2]}]}"#
    );

    // An id without `+` is acknowledged at once, before the backend answers.
    client.send(&["3:7::auto"]).await;
    let first = client.next().await;
    assert_eq!(first, "6:::7", "automatic ack first");
    assert_eq!(
        client.next().await,
        r#"5:::{"name":"message-back","args":["auto"]}"#
    );

    // Several messages in one payload, answered in order.
    client
        .send(&[
            r#"5:2+::{"name":"echo","args":[2]}"#,
            r#"5:3+::{"name":"echo","args":["ü"]}"#,
        ])
        .await;
    let mut acks = vec![client.next().await];
    acks.push(client.next().await);
    assert_eq!(acks, [r#"6:::2+[2]"#, r#"6:::3+["ü"]"#]);
}

#[tokio::test]
async fn endpoints_are_namespaces_accepted_refused_and_left() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(&backend.url(), &config("")).await;
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(client.next().await, "1::");

    client.send(&["1::/chat?room=42"]).await;
    assert_eq!(client.next().await, "1::/chat");
    let connects = backend.wait_for("connect", None, 2).await;
    let chat = connects
        .iter()
        .find(|h| h.body["namespace"] == "/chat")
        .expect("a /chat connect hook");
    assert_eq!(
        chat.body["auth"],
        serde_json::json!({"room": "42"}),
        "the endpoint query is the auth"
    );

    client
        .send(&[r#"5:4+:/chat:{"name":"echo","args":["in chat"]}"#])
        .await;
    assert_eq!(client.next().await, r#"6::/chat:4+["in chat"]"#);
    let event = backend.wait_for("event", None, 1).await.remove(0);
    assert_eq!(event.body["namespace"], "/chat");

    // Without a query of its own, an endpoint's auth is the handshake's query, as 0.9 authorized endpoints.
    let other = Sio09Client::connect(&gateway, RESOURCE, "token=t2").await;
    assert_eq!(other.next().await, "1::");
    other.send(&["1::/chat"]).await;
    assert_eq!(other.next().await, "1::/chat");
    let connects = backend.wait_for("connect", None, 4).await;
    let chat = connects
        .iter()
        .find(|h| h.body["namespace"] == "/chat" && h.body["auth"]["token"] == "t2")
        .expect("a /chat connect hook with the handshake's query");
    assert_eq!(chat.body["auth"], serde_json::json!({"token": "t2"}));

    client.send(&["1::/admin"]).await;
    assert_eq!(
        client.next().await,
        "7::/admin:2",
        "a refused endpoint is `unauthorized`"
    );
    client.send(&["1::/nowhere"]).await;
    assert_eq!(
        client.next().await,
        "7::/nowhere:2",
        "an unknown endpoint is refused too"
    );

    client.send(&["0::/chat"]).await;
    let gone = backend.wait_for("disconnect", None, 1).await.remove(0);
    assert_eq!(gone.body["namespace"], "/chat");
    assert_eq!(gone.body["sid"], format!("/chat#{}", client.sid));
    assert_eq!(gone.body["reason"], "client namespace disconnect");

    // The main endpoint still works, and `0::` ends everything.
    client.send(&[r#"5:5+::{"name":"echo","args":[5]}"#]).await;
    assert_eq!(client.next().await, "6:::5+[5]");
    client.send(&["0::"]).await;
    let gone = backend.wait_for("disconnect", None, 2).await;
    assert!(
        gone.iter().any(
            |h| h.body["namespace"] == "/" && h.body["reason"] == "client namespace disconnect"
        )
    );
    assert_eq!(client.poll().await, ["8::"], "a last poll is released");
    assert_eq!(client.poll().await, ["7:::1+0"], "then the session is gone");
}

#[tokio::test]
async fn heartbeats_keep_a_session_and_missing_ones_end_it() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(
        &backend.url(),
        &config("ping_interval = \"300ms\"\nping_timeout = \"300ms\""),
    )
    .await;
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(
        client.handshake[1], "1",
        "heartbeat timeout rounds up to whole seconds"
    );
    assert_eq!(client.poll().await, ["1::"]);
    for _ in 0..3 {
        assert_eq!(client.poll().await, ["2::"], "the server sends heartbeats");
        client.send(&["2::"]).await;
    }
    assert_eq!(client.poll().await, ["2::"]);
    // Not answered: the session ends with a ping timeout.
    let gone = backend.wait_for("disconnect", None, 1).await.remove(0);
    assert_eq!(gone.body["reason"], "ping timeout");
}

#[tokio::test]
async fn jsonp_polling_handshake_poll_and_form_posts() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(&backend.url(), &config("")).await;
    let base = gateway.url(&format!("/{RESOURCE}/1"));

    let answer = eio::get_as_script(&format!("{base}/?t=1&jsonp=3")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/javascript; charset=UTF-8")
    );
    let literal = answer
        .text
        .strip_prefix("io.j[3](")
        .and_then(|r| r.strip_suffix(");"))
        .unwrap_or_else(|| panic!("a JSONP handshake: {:?}", answer.text));
    let handshake: String = serde_json::from_str(literal).unwrap();
    let sid = handshake.split(':').next().unwrap().to_string();

    let mut client = Sio09Client {
        base,
        sid,
        handshake: handshake.split(':').map(str::to_string).collect(),
        jsonp: Some(2),
        pending: Default::default(),
    };
    assert_eq!(client.next().await, "1::");
    // Newlines and U+2028 (a line end in old JavaScript engines) survive the form post and the script answer.
    client
        .send(&["5:1+::{\"name\":\"echo\",\"args\":[\"line\\nbreak\",\"\u{2028}\"]}"])
        .await;
    client.jsonp = Some(5);
    assert_eq!(client.next().await, "6:::1+[\"line\\nbreak\",\"\u{2028}\"]");
    let bad = eio::get(&format!("{}/jsonp-polling/{}?i=x", client.base, client.sid)).await;
    assert_eq!(bad.status, 400, "a callback index that is not a number");
}

#[tokio::test]
async fn unknown_sessions_strangers_and_forced_disconnects() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), &config("")).await;
    let base = gateway.url(&format!("/{RESOURCE}/1"));

    for url in [
        format!("{base}/xhr-polling/AAAAAAAAAAAAAAAAAAAA"),
        format!("{base}/xhr-polling/not-a-sid"),
    ] {
        let answer = eio::get(&url).await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (200, "7:::1+0"),
            "{url}"
        );
    }
    let answer = eio::get(&format!("{base}/jsonp-polling/x?i=4")).await;
    assert_eq!(answer.text, "io.j[4](\"7:::1+0\");");
    assert_eq!(eio::get(&format!("{base}/flashsocket/x")).await.status, 400);
    assert_eq!(eio::get(&format!("{base}/a/b/c")).await.status, 404);
    // A v1+ session id is not a 0.9 session.
    let (v4_sid, _) = eio::handshake(&gateway.url("/socket.io/")).await;
    assert_eq!(
        eio::get(&format!("{base}/xhr-polling/{v4_sid}")).await.text,
        "7:::1+0"
    );

    // Malformed messages close the session (parse error).
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(client.next().await, "1::");
    let answer = client.post_payload(&["5:::not json"]).await;
    assert_eq!(answer.status, 400);
    let gone = backend.wait_for("disconnect", None, 1).await.remove(0);
    assert_eq!(gone.body["reason"], "parse error");
    let framed = format!("{SEP}9{SEP}2::");
    let other = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(other.next().await, "1::");
    assert_eq!(
        eio::post(&other.url(), framed).await.status,
        400,
        "a frame longer than the payload"
    );

    // A page being unloaded sends `?disconnect`.
    let third = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(third.next().await, "1::");
    let answer = eio::get(&format!("{}&disconnect=1", third.url())).await;
    assert_eq!(answer.status, 200);
    let hooks = backend.wait_for("disconnect", None, 3).await;
    assert!(
        hooks
            .iter()
            .any(|h| h.body["reason"] == "client namespace disconnect")
    );
    let last = third.poll().await;
    assert!(last == ["8::"] || last == ["7:::1+0"], "{last:?}");
}

#[tokio::test]
async fn pushes_from_the_api_reach_09_clients_with_acks_and_binary() {
    let backend = Backend::start(accept).await;
    let gateway = common::api::socketio_gateway(&backend.url(), &resource_only()).await;
    let api = Api::of(&gateway);
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(client.next().await, "1::");
    let connect = backend.wait_for("connect", None, 1).await.remove(0);
    let socket = connect.body["sid"].as_str().expect("socket id").to_string();

    let reached = api.emit(r#"{"event":"news","args":[{"n":1}]}"#).await;
    assert_eq!(reached, 1);
    assert_eq!(
        client.next().await,
        r#"5:::{"name":"news","args":[{"n":1}]}"#
    );

    let body = format!(
        r#"{{"event":"file","args":[{{"$binary":"AQID"}}],"to":{{"sockets":["{socket}"]}}}}"#
    );
    api.post_ok("/v1/emit", &body).await;
    assert_eq!(
        client.next().await,
        r#"5:::{"name":"file","args":["AQID"]}"#,
        "binary reaches 0.9 clients as base64"
    );

    let body = format!(
        r#"{{"event":"ask","args":["q"],"to":{{"sockets":["{socket}"]}},"ack_timeout":"5s"}}"#
    );
    let asked = tokio::spawn({
        let api = Api::of(&gateway);
        async move { api.post_ok("/v1/emit", &body).await }
    });
    let question = client.next().await;
    let id = question
        .strip_prefix("5:")
        .and_then(|rest| rest.split_once("+::"))
        .map(|(id, _)| id.to_string())
        .unwrap_or_else(|| panic!("an event asking for an ack: {question:?}"));
    assert!(
        question.ends_with(r#"{"name":"ask","args":["q"]}"#),
        "{question}"
    );
    client.send(&[&format!(r#"6:::{id}+["answer",2]"#)]).await;
    let answer = asked.await.unwrap();
    assert!(
        answer.contains(r#"["answer",2]"#),
        "the ack reached the API caller: {answer}"
    );
}

#[tokio::test]
async fn websocket_transport_frames_messages_and_heartbeats() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(
        &backend.url(),
        &config("ping_interval = \"400ms\"\nping_timeout = \"400ms\""),
    )
    .await;
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert!(
        client.handshake[3].starts_with("websocket,"),
        "{:?}",
        client.handshake
    );
    let url = gateway.ws_url(&format!("/{RESOURCE}/1/websocket/{}", client.sid));
    let mut ws = eio::ws_connect(&url).await;
    assert_eq!(eio::next_text(&mut ws).await, "1::");
    ws.send(Frame::text(r#"5:1+::{"name":"echo","args":["over ws"]}"#))
        .await
        .unwrap();
    assert_eq!(eio::next_text(&mut ws).await, r#"6:::1+["over ws"]"#);
    // Several messages in one frame, and an automatic ack.
    let framed = format!("{SEP}6{SEP}3:4::x{SEP}3{SEP}8::");
    ws.send(Frame::text(framed)).await.unwrap();
    assert_eq!(eio::next_text(&mut ws).await, "6:::4");
    assert_eq!(
        eio::next_text(&mut ws).await,
        r#"5:::{"name":"message-back","args":["x"]}"#
    );
    for _ in 0..2 {
        assert_eq!(eio::next_text(&mut ws).await, "2::", "heartbeat");
        ws.send(Frame::text("2::")).await.unwrap();
    }
    // A polling request for a session on WebSocket is refused; a second WebSocket too.
    assert_eq!(eio::get(&client.url()).await.status, 400);
    let second = tokio_tungstenite::connect_async(&url).await;
    assert!(second.is_err(), "a second WebSocket for one session");
    // Unknown sessions cannot open a WebSocket.
    let stranger = gateway.ws_url(&format!("/{RESOURCE}/1/websocket/AAAAAAAAAAAAAAAAAAAA"));
    assert!(tokio_tungstenite::connect_async(&stranger).await.is_err());
    // A binary frame is not 0.9: parse error.
    ws.send(Frame::binary(vec![1u8, 2])).await.unwrap();
    let gone = backend.wait_for("disconnect", None, 1).await.remove(0);
    assert_eq!(gone.body["reason"], "parse error");
}

#[tokio::test]
async fn a_refused_main_namespace_is_a_refused_handshake() {
    let backend = Backend::start(app).await;
    let gateway = sio::gateway(&backend.url(), &config("")).await;
    let base = gateway.url(&format!("/{RESOURCE}/1"));
    let answer = eio::get(&format!("{base}/?t=1&token=bad")).await;
    assert_eq!(
        (answer.status, answer.text.as_str()),
        (403, "handshake unauthorized")
    );
    let answer = eio::get_as_script(&format!("{base}/?t=1&token=bad&jsonp=1")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.text,
        "io.j[1](new Error(\"handshake unauthorized\"));"
    );
    let refused = backend.wait_for("connect", None, 2).await;
    assert!(refused.iter().all(|h| h.body["handshake"]["protocol"] == 1));
    eio::eventually("refused sessions closed", || gateway.sessions() == 0).await;
    assert!(
        backend.hooks_of("disconnect").is_empty(),
        "no socket was made"
    );
}

#[tokio::test]
async fn server_closes_tell_09_clients_to_reconnect_and_strays_are_dropped() {
    let backend = Backend::start(app).await;
    let gateway = common::api::socketio_gateway(&backend.url(), &resource_only()).await;
    let api = Api::of(&gateway);
    let client = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(client.next().await, "1::");

    // A message for an endpoint the client has not joined (a reconnecting client flushes its buffer before it
    // joins again) is dropped; the connection stays.
    client
        .send(&[
            r#"5:1+:/chat:{"name":"echo","args":[1]}"#,
            r#"5:2+::{"name":"echo","args":[2]}"#,
        ])
        .await;
    assert_eq!(client.next().await, "6:::2+[2]");
    assert_eq!(backend.hooks_of("event").len(), 1);

    // Engine.IO requests cannot reach a 0.9 session.
    let stray = eio::get(&gateway.url(&format!(
        "/socket.io/?EIO=4&transport=polling&sid={}",
        client.sid
    )))
    .await;
    assert_eq!(stray.status, 400);
    assert_eq!(stray.json()["code"], 1);

    // The backend ends the whole connection: the socket's `0::`, then the advice to reconnect (`7:::+0`), which 0.9
    // clients obey where a bare `0::` would leave them booted for good.
    let connect = backend.wait_for("connect", None, 1).await.remove(0);
    let sid = connect.body["sid"].as_str().unwrap().to_string();
    api.post_ok(
        "/v1/disconnect",
        &format!(r#"{{"to":{{"sockets":["{sid}"]}},"close":true}}"#),
    )
    .await;
    let mut last = Vec::new();
    while last.len() < 2 {
        last.extend(client.poll().await);
    }
    assert_eq!(last, ["0::", "7:::+0"]);

    // The unload request of 0.9 pages names no transport: /{resource}/1//{sid}/?disconnect=1.
    let other = Sio09Client::connect(&gateway, RESOURCE, "").await;
    assert_eq!(other.next().await, "1::");
    let unload = format!("{}//{}/?disconnect=1", other.base, other.sid);
    assert_eq!(eio::get(&unload).await.status, 200);
    let gone = backend.wait_for("disconnect", Some(&other.sid), 1).await;
    assert_eq!(gone[0].body["reason"], "client namespace disconnect");
    let bare = format!("{}//{}/", other.base, other.sid);
    assert_eq!(
        eio::get(&bare).await.status,
        400,
        "no transport, no disconnect"
    );
}
