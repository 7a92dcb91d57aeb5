//! The push API against a running gateway with `[api] token = "t0k"` and raw Socket.IO clients over WebSocket and
//! long-polling: emits to a namespace, rooms and socket ids (with `except`), byte-for-byte arguments, binary
//! attachments, custom namespaces, per-socket acks, rooms and listings that agree with webhook replies, server
//! disconnects, stored data, and `/v1/send` on engine.io endpoints.
//!
//! A client that must not receive an emit is checked by emitting a marker to everyone right after: its next
//! message must be the marker.

use crate::common;
use common::api::{self, Api, Client, Transport, acks_by_sid, raw_fields, sockets_count};
use common::eio;
use common::sio::{accept, raw_field};
use common::{Backend, Gateway, Hook, Reply};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use Transport::{Polling, Ws};

/// Accepts connects with what the CONNECT payload asks for: `{"join":[...],"data":...}` are echoed back as the
/// connect reply (so each test client picks its rooms and data); everything else gets an empty 200.
fn join_from_auth(hook: &Hook) -> Reply {
    if hook.event != "connect" {
        return Reply::ok("");
    }
    let auth = raw_fields(&raw_field(hook, "auth"));
    let mut reply = Vec::new();
    for key in ["join", "data"] {
        if let Some(value) = auth.get(key) {
            reply.push(format!("\"{key}\":{value}"));
        }
    }
    Reply::ok(format!("{{{}}}", reply.join(",")))
}

async fn start(responder: fn(&Hook) -> Reply) -> (Backend, Gateway, Api) {
    let backend = Backend::start(responder).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    (backend, gateway, api)
}

/// Emits a marker to every socket of `/` and checks it is each client's next message.
async fn marker(api: &Api, clients: &mut [&mut Client], n: u32) {
    let body = format!(r#"{{"event":"marker","args":[{n}]}}"#);
    assert_eq!(api.emit(&body).await, clients.len() as u64, "marker {n}");
    for client in clients.iter_mut() {
        client.expect(&format!(r#"42["marker",{n}]"#)).await;
    }
}

// ---- emit -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn emit_reaches_every_socket_of_the_namespace_with_args_byte_for_byte() {
    let (_backend, gateway, api) = start(accept).await;
    let (mut a, _) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut b, _) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut c, _) = Client::connected(&gateway, Polling, "/", None).await;
    let (mut chat, _) = Client::connected(&gateway, Ws, "/chat", None).await;

    let args = r#"[1.50,{"b":1,"a":2},"h\u00e9 \"q\"",null,[true,-0.0,1e3],{}]"#;
    let body = format!(r#"{{"event":"news","args":{args}}}"#);
    assert_eq!(api.emit(&body).await, 3);
    let expected = format!(r#"42["news",{}"#, &args[1..]);
    for client in [&mut a, &mut b, &mut c] {
        client.expect(&expected).await;
    }
    // No args, and `args` left out, are an event alone.
    assert_eq!(api.emit(r#"{"event":"bare","args":[]}"#).await, 3);
    assert_eq!(api.emit(r#"{"namespace":"/","event":"bare"}"#).await, 3);
    for client in [&mut a, &mut b, &mut c] {
        client.expect(r#"42["bare"]"#).await;
        client.expect(r#"42["bare"]"#).await;
    }
    // The /chat socket got none of it.
    assert_eq!(api.emit(r#"{"namespace":"/chat","event":"only"}"#).await, 1);
    chat.expect(r#"42/chat,["only"]"#).await;
    marker(&api, &mut [&mut a, &mut b, &mut c], 1).await;
}

#[tokio::test]
async fn emit_targets_rooms_and_sockets_minus_except_and_counts_exactly() {
    let (_backend, gateway, api) = start(join_from_auth).await;
    let (mut a, sa) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["red"]}"#)).await;
    let (mut b, sb) =
        Client::connected(&gateway, Polling, "/", Some(r#"{"join":["red","blue"]}"#)).await;
    let (mut c, sc) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["blue"]}"#)).await;
    let (mut d, sd) = Client::connected(&gateway, Polling, "/", None).await;
    // A /chat socket in a room of the same name is another namespace: never reached from `/`.
    let (mut chat, _) =
        Client::connected(&gateway, Ws, "/chat", Some(r#"{"join":["red","blue"]}"#)).await;

    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#""to":{"rooms":["red"]}"#.into(), vec![&sa, &sb]),
        (
            r#""to":{"rooms":["red","blue"]}"#.into(),
            vec![&sa, &sb, &sc],
        ),
        (
            r#""to":{"rooms":["blue","red","blue"]}"#.into(),
            vec![&sa, &sb, &sc],
        ),
        (format!(r#""to":{{"sockets":["{sd}"]}}"#), vec![&sd]),
        (
            format!(r#""to":{{"sockets":["{sa}","{sa}"],"rooms":["red"]}}"#),
            vec![&sa, &sb],
        ),
        (format!(r#""to":{{"rooms":["{sc}"]}}"#), vec![&sc]),
        (r#""except":{"rooms":["red"]}"#.into(), vec![&sc, &sd]),
        (
            format!(r#""except":{{"sockets":["{sa}","{sd}"]}}"#),
            vec![&sb, &sc],
        ),
        (
            format!(r#""to":{{"rooms":["blue"]}},"except":{{"sockets":["{sc}"]}}"#),
            vec![&sb],
        ),
        (
            r#""to":{"rooms":["red","blue"]},"except":{"rooms":["blue"]}"#.into(),
            vec![&sa],
        ),
        (
            format!(r#""to":{{"sockets":["{sa}","{sd}"]}},"except":{{"rooms":["red"]}}"#),
            vec![&sd],
        ),
        (r#""to":{"rooms":["nobody"]}"#.into(), vec![]),
        (
            r#""to":{"sockets":["AAAAAAAAAAAAAAAAAAAA","not-a-sid"]}"#.into(),
            vec![],
        ),
        (
            r#""except":{"rooms":["red","blue"],"sockets":[]}"#.into(),
            vec![&sd],
        ),
        (r#""to":{"rooms":[],"sockets":[]}"#.into(), vec![]),
        (r#""to":{}"#.into(), vec![]),
        (r#""to":null"#.into(), vec![&sa, &sb, &sc, &sd]),
        (r#""except":{}"#.into(), vec![&sa, &sb, &sc, &sd]),
    ];
    for (n, (selector, reached)) in cases.iter().enumerate() {
        let body = format!(r#"{{{selector},"event":"case","args":[{n}]}}"#);
        assert_eq!(api.emit(&body).await, reached.len() as u64, "{body}");
        for (client, sid) in [(&mut a, &sa), (&mut b, &sb), (&mut c, &sc), (&mut d, &sd)] {
            if reached.contains(&sid.as_str()) {
                client.expect(&format!(r#"42["case",{n}]"#)).await;
            }
        }
        marker(&api, &mut [&mut a, &mut b, &mut c, &mut d], n as u32).await;
    }
    assert_eq!(
        api.emit(r#"{"namespace":"/chat","to":{"rooms":["red"]},"event":"c"}"#)
            .await,
        1
    );
    chat.expect(r#"42/chat,["c"]"#).await;
}

#[tokio::test]
async fn binary_args_arrive_as_a_binary_event_and_its_attachments() {
    let (_backend, gateway, api) = start(accept).await;
    let (mut ws, _) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut polling, _) = Client::connected(&gateway, Polling, "/", None).await;
    let (mut chat, _) = Client::connected(&gateway, Ws, "/chat", None).await;

    let body =
        r#"{"event":"file","args":["x",{"$binary":"AQID"},{"k":[{"$binary":"BAU="}]},1.50]}"#;
    assert_eq!(api.emit(body).await, 2);
    let header = r#"452-["file","x",{"_placeholder":true,"num":0},{"k":[{"_placeholder":true,"num":1}]},1.50]"#;
    for client in [&mut ws, &mut polling] {
        client.expect(header).await;
        client.expect("bAQID").await;
        client.expect("bBAU=").await;
    }
    // Raw bytes on the WebSocket.
    assert_eq!(
        api.emit(r#"{"event":"one","args":[{"$binary":"AQID"}]}"#)
            .await,
        2
    );
    ws.ws().recv_text().await;
    assert_eq!(ws.ws().recv_binary().await, [1, 2, 3]);
    polling
        .expect(r#"451-["one",{"_placeholder":true,"num":0}]"#)
        .await;
    polling.expect("bAQID").await;

    let body = r#"{"namespace":"/chat","event":"file","args":[{"$binary":"AQID"}]}"#;
    assert_eq!(api.emit(body).await, 1);
    chat.expect(r#"451-/chat,["file",{"_placeholder":true,"num":0}]"#)
        .await;
    chat.expect("bAQID").await;
}

#[tokio::test]
async fn a_custom_namespace_gets_its_prefix_and_multiplexed_sockets_stay_apart() {
    let (_backend, gateway, api) = start(accept).await;
    let mut client = Client::open(&gateway, Ws).await;
    let main = client.connect("/", None).await;
    let chat = client.connect("/chat", None).await;
    assert_ne!(main, chat);

    let body = format!(
        r#"{{"namespace":"/chat","to":{{"sockets":["{chat}"]}},"event":"m","args":[{{"b":1,"a":2}}]}}"#
    );
    assert_eq!(api.emit(&body).await, 1);
    client.expect(r#"42/chat,["m",{"b":1,"a":2}]"#).await;
    // The main socket's id means nothing in /chat, and the other way round.
    let body = format!(r#"{{"namespace":"/chat","to":{{"sockets":["{main}"]}},"event":"m"}}"#);
    assert_eq!(api.emit(&body).await, 0);
    let body = format!(r#"{{"to":{{"sockets":["{chat}"]}},"event":"m"}}"#);
    assert_eq!(api.emit(&body).await, 0);
    assert_eq!(api.emit(r#"{"event":"main"}"#).await, 1);
    client.expect(r#"42["main"]"#).await;
}

// ---- acks -------------------------------------------------------------------------------------------------

/// The ack id and payload of an EVENT asking for an ack, e.g. `42/chat,7["x"]` with prefix `42/chat,`.
fn ack_id(packet: &str, prefix: &str) -> (u64, String) {
    let rest = packet
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{packet:?} does not start with {prefix:?}"));
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    assert!(!digits.is_empty(), "no ack id in {packet:?}");
    (
        digits.parse().expect("ack id"),
        rest[digits.len()..].to_string(),
    )
}

#[tokio::test]
async fn acks_are_collected_per_socket_byte_for_byte_and_silent_sockets_time_out() {
    let (_backend, gateway, api) = start(accept).await;
    let (mut a, sa) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut b, sb) = Client::connected(&gateway, Polling, "/", None).await;
    let (mut silent, ss) = Client::connected(&gateway, Ws, "/", None).await;

    let started = Instant::now();
    let caller = api.clone();
    let call = tokio::spawn(async move {
        caller
            .post(
                "/v1/emit",
                r#"{"event":"ask","args":[1.50,{"b":1}],"ack_timeout":"1500ms"}"#,
            )
            .await
    });
    let (ida, payload) = ack_id(&a.next().await, "42");
    assert_eq!(payload, r#"["ask",1.50,{"b":1}]"#);
    let (idb, payload) = ack_id(&b.next().await, "42");
    assert_eq!(payload, r#"["ask",1.50,{"b":1}]"#);
    let (ids, payload) = ack_id(&silent.next().await, "42");
    assert_eq!(payload, r#"["ask",1.50,{"b":1}]"#);
    a.send(&format!(r#"43{ida}["yes",1.50,{{"b":1,"a":2}},"\u00e9"]"#))
        .await;
    b.send(&format!("43{idb}[]")).await;

    let answer = call.await.expect("API call");
    let took = started.elapsed();
    api::assert_ok(&answer, "emit with acks");
    assert!(
        took >= Duration::from_millis(1400),
        "the call waits for the silent socket's timeout: {took:?}"
    );
    assert!(took < Duration::from_secs(4), "but no longer: {took:?}");
    let acks = acks_by_sid(&answer.text);
    assert_eq!(acks.len(), 3, "{}", answer.text);
    let keys = |sid: &str| -> Vec<String> {
        let mut keys: Vec<String> = acks[sid].keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&sa), ["args", "sid"]);
    assert_eq!(acks[&sa]["args"], r#"["yes",1.50,{"b":1,"a":2},"\u00e9"]"#);
    assert_eq!(keys(&sb), ["args", "sid"]);
    assert_eq!(acks[&sb]["args"], "[]");
    assert_eq!(keys(&ss), ["error", "sid"]);
    assert_eq!(acks[&ss]["error"], r#""timeout""#);

    // A late ack is ignored, and the socket carries on.
    silent.send(&format!(r#"43{ids}["late"]"#)).await;
    marker(&api, &mut [&mut a, &mut b, &mut silent], 1).await;
}

#[tokio::test]
async fn binary_acks_and_custom_namespace_acks_come_back_as_json() {
    let (_backend, gateway, api) = start(accept).await;
    let (mut ws, sw) = Client::connected(&gateway, Ws, "/chat", None).await;
    let (mut polling, sp) = Client::connected(&gateway, Polling, "/chat", None).await;

    let caller = api.clone();
    let call = tokio::spawn(async move {
        caller
            .post(
                "/v1/emit",
                r#"{"namespace":"/chat","event":"ask","args":[{"$binary":"AQID"}],"ack_timeout":"3s"}"#,
            )
            .await
    });
    for client in [&mut ws, &mut polling] {
        let (id, payload) = ack_id(&client.next().await, "451-/chat,");
        assert_eq!(payload, r#"["ask",{"_placeholder":true,"num":0}]"#);
        client.expect("bAQID").await;
        client
            .send(&format!(
                r#"461-/chat,{id}["got",{{"_placeholder":true,"num":0}}]"#
            ))
            .await;
        client.send_binary(&[9, 8, 7]).await;
    }
    let answer = call.await.expect("API call");
    api::assert_ok(&answer, "emit with acks");
    let acks = acks_by_sid(&answer.text);
    for sid in [&sw, &sp] {
        assert_eq!(acks[sid]["args"], r#"["got",{"$binary":"CQgH"}]"#);
        assert!(!acks[sid].contains_key("error"));
    }
}

#[tokio::test]
async fn a_socket_that_disconnects_while_awaited_gets_an_entry_at_once() {
    let (_backend, gateway, api) = start(accept).await;
    let (mut leaving, sl) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut closing, sc) = Client::connected(&gateway, Polling, "/", None).await;
    let (mut kicked, sk) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut answering, sa) = Client::connected(&gateway, Ws, "/", None).await;

    let started = Instant::now();
    let caller = api.clone();
    let call = tokio::spawn(async move {
        caller
            .post("/v1/emit", r#"{"event":"ask","ack_timeout":"20s"}"#)
            .await
    });
    let mut ids = Vec::new();
    for client in [&mut leaving, &mut closing, &mut kicked, &mut answering] {
        ids.push(ack_id(&client.next().await, "42").0);
    }
    // One leaves the namespace, one ends its session, one is disconnected through the API, one answers.
    leaving.send("41").await;
    closing.send("1").await;
    let body = format!(r#"{{"to":{{"sockets":["{sk}"]}}}}"#);
    assert_eq!(
        sockets_count(&api.post_ok("/v1/disconnect", &body).await),
        1
    );
    answering.send(&format!("43{}[]", ids[3])).await;

    let answer = tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .expect("the call ends once every socket answered or left")
        .expect("API call");
    assert!(started.elapsed() < Duration::from_secs(5));
    let acks = acks_by_sid(&answer.text);
    assert_eq!(acks.len(), 4, "{}", answer.text);
    for sid in [&sl, &sc, &sk] {
        let entry = &acks[sid];
        assert!(!entry.contains_key("args"), "{entry:?}");
        assert_eq!(entry["error"], r#""disconnected""#, "{sid}: {entry:?}");
    }
    assert_eq!(acks[&sa]["args"], "[]");
}

#[tokio::test]
async fn acks_from_nobody_is_an_empty_list_and_targets_are_honoured() {
    let (_backend, gateway, api) = start(join_from_auth).await;
    assert_eq!(
        api.post_ok("/v1/emit", r#"{"event":"x","ack_timeout":"1s"}"#)
            .await,
        r#"{"acks":[]}"#
    );
    let (mut a, sa) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["r"]}"#)).await;
    let (mut b, _) = Client::connected(&gateway, Ws, "/", None).await;
    let caller = api.clone();
    let call = tokio::spawn(async move {
        caller
            .post(
                "/v1/emit",
                r#"{"to":{"rooms":["r"]},"event":"x","ack_timeout":"5s"}"#,
            )
            .await
    });
    let (id, _) = ack_id(&a.next().await, "42");
    a.send(&format!("43{id}[1]")).await;
    let answer = call.await.expect("API call");
    assert_eq!(
        answer.text,
        format!(r#"{{"acks":[{{"sid":"{sa}","args":[1]}}]}}"#)
    );
    marker(&api, &mut [&mut a, &mut b], 1).await;
}

// ---- rooms and listings -----------------------------------------------------------------------------------

/// The listed sockets by sid.
fn by_sid(sockets: &[Value]) -> BTreeMap<String, Value> {
    sockets
        .iter()
        .map(|s| (s["sid"].as_str().expect("sid").to_string(), s.clone()))
        .collect()
}

/// `rooms` of a listed socket.
fn rooms_of(socket: &Value) -> Vec<String> {
    socket["rooms"]
        .as_array()
        .expect("rooms array")
        .iter()
        .map(|r| r.as_str().expect("room name").to_string())
        .collect()
}

/// Every room of a `/v1/rooms` listing except the per-socket ones (named by a socket id).
fn named_rooms(rooms: &BTreeMap<String, u64>, sids: &[&String]) -> BTreeMap<String, u64> {
    rooms
        .iter()
        .filter(|(name, _)| !sids.contains(name))
        .map(|(name, count)| (name.clone(), *count))
        .collect()
}

#[tokio::test]
async fn listings_agree_with_rooms_joined_by_webhook_replies_and_by_the_api() {
    fn respond(hook: &Hook) -> Reply {
        if hook.event == "event" && hook.body["event"] == "enter" {
            return Reply::json(json!({"join": [hook.body["args"][0]]}));
        }
        join_from_auth(hook)
    }
    let (backend, gateway, api) = start(respond).await;
    let (mut a, sa) =
        Client::connected(&gateway, Ws, "/", Some(r#"{"join":["lobby","team:1"]}"#)).await;
    let (_b, sb) = Client::connected(&gateway, Polling, "/", Some(r#"{"join":["lobby"]}"#)).await;
    let (_c, sc) = Client::connected(&gateway, Ws, "/", None).await;
    let (_chat, _) = Client::connected(&gateway, Ws, "/chat", Some(r#"{"join":["lobby"]}"#)).await;
    let sids = [&sa, &sb, &sc];

    let rooms = api.rooms("").await;
    for sid in sids {
        assert_eq!(rooms[sid.as_str()], 1, "every socket is in its own room");
    }
    assert_eq!(
        named_rooms(&rooms, &sids),
        BTreeMap::from([("lobby".into(), 2), ("team:1".into(), 1)])
    );
    let listed = by_sid(&api.sockets("").await);
    assert_eq!(listed.len(), 3);
    assert_eq!(rooms_of(&listed[&sa]), [sa.as_str(), "lobby", "team:1"]);
    assert_eq!(rooms_of(&listed[&sb]), [sb.as_str(), "lobby"]);
    assert_eq!(rooms_of(&listed[&sc]), [sc.as_str()]);
    let in_lobby = by_sid(&api.sockets("room=lobby").await);
    assert_eq!(in_lobby.keys().collect::<Vec<_>>(), {
        let mut v = vec![&sa, &sb];
        v.sort();
        v
    });

    // The API joins and leaves.
    let body = format!(r#"{{"to":{{"sockets":["{sc}","{sb}"]}},"rooms":["vip","a b"]}}"#);
    assert_eq!(sockets_count(&api.post_ok("/v1/join", &body).await), 2);
    assert_eq!(
        sockets_count(
            &api.post_ok(
                "/v1/leave",
                r#"{"to":{"rooms":["lobby"]},"rooms":["lobby","team:1"]}"#
            )
            .await
        ),
        2
    );
    let rooms = api.rooms("endpoint=/socket.io&namespace=/").await;
    assert_eq!(
        named_rooms(&rooms, &sids),
        BTreeMap::from([("a b".into(), 2), ("vip".into(), 2)]),
        "empty rooms are gone"
    );
    let listed = by_sid(&api.sockets("").await);
    assert_eq!(rooms_of(&listed[&sa]), [sa.as_str()]);
    assert_eq!(rooms_of(&listed[&sb]), [sb.as_str(), "vip", "a b"]);
    assert_eq!(rooms_of(&listed[&sc]), [sc.as_str(), "vip", "a b"]);
    let spaced = by_sid(&api.sockets("room=a%20b").await);
    assert_eq!(spaced.len(), 2);
    assert!(api.sockets("room=lobby").await.is_empty());
    assert_eq!(api.sockets(&format!("room={sa}")).await.len(), 1);

    // A webhook reply joins too, and the next hook carries the rooms the API set.
    a.send(r#"42["enter","stage"]"#).await;
    backend.wait_for("event", Some(&sa), 1).await;
    let body = format!(
        r#"{{"to":{{"sockets":["{sa}"]}},"rooms":["vip"],"except":{{"rooms":["stage"]}}}}"#
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while !rooms_of(&by_sid(&api.sockets("").await)[&sa]).contains(&"stage".to_string()) {
        assert!(
            Instant::now() < deadline,
            "the webhook reply's join shows up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        sockets_count(&api.post_ok("/v1/join", &body).await),
        0,
        "except applies to join"
    );
    let body = format!(r#"{{"to":{{"sockets":["{sa}"]}},"rooms":["vip"]}}"#);
    assert_eq!(sockets_count(&api.post_ok("/v1/join", &body).await), 1);
    a.send(r#"42["look"]"#).await;
    let hooks = backend.wait_for("event", Some(&sa), 2).await;
    assert_eq!(
        hooks[1].body["rooms"],
        json!([sa, "stage", "vip"]),
        "the hook carries the rooms"
    );
    assert_eq!(
        rooms_of(&by_sid(&api.sockets("").await)[&sa]),
        [sa.as_str(), "stage", "vip"]
    );
    // /chat kept its own room.
    assert_eq!(
        named_rooms(&api.rooms("namespace=/chat").await, &[]).get("lobby"),
        Some(&1)
    );
}

#[tokio::test]
async fn join_and_leave_select_like_emit_and_stay_in_their_namespace() {
    let (_backend, gateway, api) = start(accept).await;
    let (_a, sa) = Client::connected(&gateway, Ws, "/", None).await;
    let (_b, sb) = Client::connected(&gateway, Ws, "/", None).await;
    let mut multi = Client::open(&gateway, Polling).await;
    let sm = multi.connect("/", None).await;
    let sm_chat = multi.connect("/chat", None).await;

    assert_eq!(
        sockets_count(&api.post_ok("/v1/join", r#"{"rooms":["all"]}"#).await),
        3
    );
    let body = format!(r#"{{"except":{{"sockets":["{sa}"]}},"rooms":["x","y"]}}"#);
    assert_eq!(sockets_count(&api.post_ok("/v1/join", &body).await), 2);
    // Joining twice changes nothing.
    assert_eq!(sockets_count(&api.post_ok("/v1/join", &body).await), 2);
    let body = r#"{"namespace":"/chat","rooms":["x"]}"#;
    assert_eq!(sockets_count(&api.post_ok("/v1/join", body).await), 1);

    let rooms = api.rooms("namespace=/").await;
    let sids = [&sa, &sb, &sm];
    assert_eq!(
        named_rooms(&rooms, &sids),
        BTreeMap::from([("all".into(), 3), ("x".into(), 2), ("y".into(), 2)])
    );
    let chat = api.rooms("namespace=/chat").await;
    assert_eq!(
        chat,
        BTreeMap::from([(sm_chat.clone(), 1), ("x".into(), 1)])
    );
    let listed = by_sid(&api.sockets("namespace=%2Fchat").await);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[&sm_chat]["namespace"], "/chat");
    assert_eq!(rooms_of(&listed[&sm_chat]), [sm_chat.as_str(), "x"]);

    let body = r#"{"to":{"rooms":["x"]},"rooms":["y","all","never"]}"#;
    assert_eq!(sockets_count(&api.post_ok("/v1/leave", body).await), 2);
    assert_eq!(
        named_rooms(&api.rooms("").await, &sids),
        BTreeMap::from([("all".into(), 1), ("x".into(), 2)])
    );
    // Selecting nobody changes nobody.
    let body = r#"{"to":{"rooms":[]},"rooms":["none"]}"#;
    assert_eq!(sockets_count(&api.post_ok("/v1/join", body).await), 0);
    assert!(!api.rooms("").await.contains_key("none"));
}

#[tokio::test]
async fn the_socket_listing_shows_data_and_the_handshake() {
    let (_backend, gateway, api) = start(join_from_auth).await;
    let ws = common::sio::SioWs::open_with(
        &gateway,
        "&token=abc",
        &[("x-test", "yes"), ("user-agent", "api-test")],
    )
    .await;
    let mut ws = ws;
    let sid = ws
        .connect(
            "/",
            Some(r#"{"data":{"name":"ann","score":1.50,"b":1,"a":2}}"#),
        )
        .await;
    let (_p, sp) = Client::connected(&gateway, Polling, "/", None).await;

    let listing = api.get("/v1/sockets").await;
    api::assert_ok(&listing, "sockets");
    let value = listing.json();
    let sockets = by_sid(value["sockets"].as_array().expect("array"));
    let entry = &sockets[&sid];
    let keys: Vec<&str> = entry
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["sid", "namespace", "rooms", "data", "handshake"]);
    assert_eq!(entry["namespace"], "/");
    assert!(
        listing
            .text
            .contains(r#""data":{"name":"ann","score":1.50,"b":1,"a":2}"#),
        "data byte for byte: {}",
        listing.text
    );
    let handshake = &entry["handshake"];
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["headers"]["x-test"], "yes");
    assert_eq!(handshake["headers"]["user-agent"], "api-test");
    assert_eq!(handshake["query"]["token"], "abc");
    assert_eq!(handshake["query"]["EIO"], "4");
    assert_eq!(handshake["transport"], "websocket");
    assert_eq!(handshake["protocol"], 5);
    assert_eq!(handshake["secure"], false);
    assert!(handshake["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    assert_eq!(sockets[&sp]["data"], Value::Null);
    assert_eq!(sockets[&sp]["handshake"]["transport"], "polling");

    // Data set through the API shows up, byte for byte.
    let body = format!(r#"{{"sid":"{sp}","data":[1.0,{{"z":null,"y":"\u00e9"}}]}}"#);
    assert_eq!(api.put("/v1/data", &body).await.text, "{}");
    let text = api.get("/v1/sockets").await.text;
    assert!(
        text.contains(r#""data":[1.0,{"z":null,"y":"\u00e9"}]"#),
        "{text}"
    );
}

#[tokio::test]
async fn sockets_that_leave_vanish_from_the_listings() {
    let (_backend, gateway, api) = start(join_from_auth).await;
    let (mut a, sa) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["r"]}"#)).await;
    let (b, sb) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["r"]}"#)).await;
    assert_eq!(api.rooms("").await.get("r"), Some(&2));
    a.send("41").await;
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = by_sid(&api.sockets("").await);
        if listed.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "still listed: {listed:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let rooms = api.rooms("").await;
    assert!(rooms.is_empty(), "{rooms:?} (was {sa}, {sb})");
}

// ---- disconnect -------------------------------------------------------------------------------------------

#[tokio::test]
async fn disconnect_sends_41_and_a_server_namespace_disconnect_hook_and_keeps_the_session() {
    let (backend, gateway, api) = start(join_from_auth).await;
    let (mut a, sa) = Client::connected(&gateway, Ws, "/", Some(r#"{"join":["bye"]}"#)).await;
    let (mut b, sb) = Client::connected(&gateway, Polling, "/", Some(r#"{"join":["bye"]}"#)).await;
    let (mut c, _sc) = Client::connected(&gateway, Ws, "/", None).await;

    let body = r#"{"to":{"rooms":["bye"]}}"#;
    assert_eq!(sockets_count(&api.post_ok("/v1/disconnect", body).await), 2);
    a.expect("41").await;
    b.expect("41").await;
    for sid in [&sa, &sb] {
        let hooks = backend.wait_for("disconnect", Some(sid), 1).await;
        assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
        assert_eq!(hooks[0].body["namespace"], "/");
    }
    // The sessions stay: the clients connect again and get new sockets.
    let again = a.connect("/", None).await;
    assert_ne!(again, sa);
    let again_b = b.connect("/", None).await;
    assert_ne!(again_b, sb);
    marker(&api, &mut [&mut a, &mut b, &mut c], 1).await;
    assert_eq!(gateway.sessions(), 3);
    // Disconnecting what is already gone reaches nobody.
    let body = format!(r#"{{"to":{{"sockets":["{sa}"]}}}}"#);
    assert_eq!(
        sockets_count(&api.post_ok("/v1/disconnect", &body).await),
        0
    );
    assert_eq!(backend.hooks_of("disconnect").len(), 2);
}

#[tokio::test]
async fn disconnect_in_a_custom_namespace_leaves_the_others() {
    let (backend, gateway, api) = start(accept).await;
    let mut client = Client::open(&gateway, Ws).await;
    let main = client.connect("/", None).await;
    let chat = client.connect("/chat", None).await;
    let body = r#"{"namespace":"/chat"}"#;
    assert_eq!(sockets_count(&api.post_ok("/v1/disconnect", body).await), 1);
    client.expect("41/chat,").await;
    let hooks = backend.wait_for("disconnect", Some(&chat), 1).await;
    assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
    assert_eq!(hooks[0].body["namespace"], "/chat");
    assert_eq!(api.emit(r#"{"event":"still"}"#).await, 1);
    client.expect(r#"42["still"]"#).await;
    assert_eq!(
        by_sid(&api.sockets("").await).keys().collect::<Vec<_>>(),
        [&main]
    );
}

#[tokio::test]
async fn disconnect_with_close_ends_the_whole_connection() {
    let (backend, gateway, api) = start(accept).await;
    let mut ws = Client::open(&gateway, Ws).await;
    let main = ws.connect("/", None).await;
    let chat = ws.connect("/chat", None).await;
    let (mut polling, sp) = Client::connected(&gateway, Polling, "/", None).await;
    let (mut other, _) = Client::connected(&gateway, Ws, "/", None).await;
    assert_eq!(gateway.sessions(), 3);

    let body = format!(r#"{{"to":{{"sockets":["{main}","{sp}"]}},"close":true}}"#);
    assert_eq!(
        sockets_count(&api.post_ok("/v1/disconnect", &body).await),
        2
    );
    let before = ws.closed_within(Duration::from_secs(5)).await;
    assert_eq!(before, ["41"], "DISCONNECT, then the connection ends");
    let before = polling.closed_within(Duration::from_secs(5)).await;
    assert_eq!(before, ["41"], "DISCONNECT, then the session ends");
    let hooks = backend.wait_for("disconnect", Some(&main), 1).await;
    assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
    let hooks = backend.wait_for("disconnect", Some(&sp), 1).await;
    assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
    // The other socket of the closed connection is gone as well.
    let hooks = backend.wait_for("disconnect", Some(&chat), 1).await;
    assert_eq!(hooks[0].body["namespace"], "/chat");
    eio::eventually("closed sessions are gone", || gateway.sessions() == 1).await;
    assert!(api.sockets("namespace=/chat").await.is_empty());
    marker(&api, &mut [&mut other], 1).await;
}

// ---- data -------------------------------------------------------------------------------------------------

#[tokio::test]
async fn put_data_replaces_what_later_hooks_carry() {
    fn respond(hook: &Hook) -> Reply {
        if hook.event == "event" && hook.body["event"] == "store" {
            return Reply::ok(r#"{"data":{"from":"hook","n":2.50}}"#);
        }
        join_from_auth(hook)
    }
    let (backend, gateway, api) = start(respond).await;
    let (mut a, sa) =
        Client::connected(&gateway, Ws, "/", Some(r#"{"data":{"name":"a","keep":1}}"#)).await;
    let mut chat = Client::open(&gateway, Polling).await;
    let sc = chat.connect("/chat", None).await;

    let hook_data = |n: usize, sid: String| {
        let backend = &backend;
        async move {
            let hooks = backend.wait_for("event", Some(&sid), n).await;
            raw_field(&hooks[n - 1], "data")
        }
    };
    a.send(r#"42["e"]"#).await;
    assert_eq!(hook_data(1, sa.clone()).await, r#"{"name":"a","keep":1}"#);

    let body = format!(r#"{{"sid":"{sa}","data":{{"other":[1.50,"x"],"b":1,"a":2}}}}"#);
    let answer = api.put("/v1/data", &body).await;
    api::assert_ok(&answer, "PUT /v1/data");
    assert_eq!(answer.text, "{}");
    a.send(r#"42["e"]"#).await;
    assert_eq!(
        hook_data(2, sa.clone()).await,
        r#"{"other":[1.50,"x"],"b":1,"a":2}"#,
        "replaced, not merged"
    );
    // A webhook reply replaces it too; the listing agrees.
    a.send(r#"42["store"]"#).await;
    hook_data(3, sa.clone()).await;
    a.send(r#"42["e"]"#).await;
    assert_eq!(
        hook_data(4, sa.clone()).await,
        r#"{"from":"hook","n":2.50}"#
    );
    let text = api.get("/v1/sockets").await.text;
    assert!(
        text.contains(r#""data":{"from":"hook","n":2.50}"#),
        "{text}"
    );
    // Scalars, and null clears.
    for (data, carried) in [("\"text\"", "\"text\""), ("0.10", "0.10"), ("null", "null")] {
        let body =
            format!(r#"{{"endpoint":"/socket.io","namespace":"/","sid":"{sa}","data":{data}}}"#);
        assert_eq!(api.put("/v1/data", &body).await.text, "{}");
        a.send(r#"42["e"]"#).await;
        let n = backend
            .hooks_of("event")
            .iter()
            .filter(|h| h.body["sid"] == sa.as_str())
            .count();
        assert_eq!(hook_data(n + 1, sa.clone()).await, carried);
    }
    // Other namespaces are addressed by `namespace`.
    let body = format!(r#"{{"namespace":"/chat","sid":"{sc}","data":{{"room":"c"}}}}"#);
    assert_eq!(api.put("/v1/data", &body).await.text, "{}");
    chat.send(r#"42/chat,["e"]"#).await;
    assert_eq!(hook_data(1, sc.clone()).await, r#"{"room":"c"}"#);
    let body = format!(r#"{{"sid":"{sc}","data":1}}"#);
    let answer = api.put("/v1/data", &body).await;
    api::assert_error(&answer, 404, "not_found");
}

// ---- engine.io send ---------------------------------------------------------------------------------------

#[tokio::test]
async fn send_delivers_text_and_binary_to_the_listed_engine_io_sessions() {
    let backend = Backend::start(accept).await;
    let gateway = api::engineio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut ws, open) = eio::ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let ws_sid = open["sid"].as_str().unwrap().to_string();
    let base = gateway.url("/engine.io/");
    let (poll_sid, _) = eio::handshake(&base).await;
    let (mut idle, idle_open) = eio::ws_handshake(&gateway.ws_url("/engine.io/")).await;
    backend.wait_for("open", None, 3).await;

    let body = format!(
        r#"{{"sids":["{ws_sid}","{poll_sid}","AAAAAAAAAAAAAAAAAAAA","bad"],"data":["hello",{{"$binary":"AQID"}},"h\u00e9 {{\"b\":1}}",""]}}"#
    );
    let answer = api.post("/v1/send", &body).await;
    api::assert_ok(&answer, "send");
    assert_eq!(answer.text, r#"{"sessions":2}"#);
    assert_eq!(eio::next_text(&mut ws).await, "4hello");
    assert_eq!(eio::next_binary(&mut ws).await, [1, 2, 3]);
    assert_eq!(eio::next_text(&mut ws).await, "4hé {\"b\":1}");
    assert_eq!(eio::next_text(&mut ws).await, "4");
    let polled = eio::get(&eio::poll_url(&base, &poll_sid)).await;
    assert_eq!(polled.text, "4hello\u{1e}bAQID\u{1e}4hé {\"b\":1}\u{1e}4");

    // A session listed twice gets each message once and counts once; the endpoint may be named.
    let body =
        format!(r#"{{"endpoint":"/engine.io","sids":["{ws_sid}","{ws_sid}"],"data":["once"]}}"#);
    assert_eq!(api.post_ok("/v1/send", &body).await, r#"{"sessions":1}"#);
    assert_eq!(eio::next_text(&mut ws).await, "4once");
    assert_eq!(
        api.post_ok(
            "/v1/send",
            &format!(r#"{{"sids":["{ws_sid}"],"data":["next"]}}"#)
        )
        .await,
        r#"{"sessions":1}"#
    );
    assert_eq!(eio::next_text(&mut ws).await, "4next");
    // An unlisted session got nothing.
    assert!(idle_open["sid"].as_str() != Some(ws_sid.as_str()));
    eio::assert_silent(&mut idle, Duration::from_millis(200)).await;
    assert_eq!(
        api.post_ok("/v1/send", r#"{"sids":[],"data":["x"]}"#).await,
        r#"{"sessions":0}"#
    );
}

#[tokio::test]
async fn send_and_emit_address_their_own_endpoint_when_both_kinds_exist() {
    let backend = Backend::start(accept).await;
    let gateway = api::gateway_with(&format!(
        "{}{}",
        api::socketio_endpoint("/socket.io", &backend.url(), ""),
        api::engineio_endpoint("/engine.io", &backend.url(), "")
    ))
    .await;
    let api = Api::of(&gateway);
    let (mut client, _) = Client::connected(&gateway, Ws, "/", None).await;
    let (mut raw, open) = eio::ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();

    let body = format!(r#"{{"endpoint":"/engine.io","sids":["{sid}"],"data":["raw"]}}"#);
    assert_eq!(api.post_ok("/v1/send", &body).await, r#"{"sessions":1}"#);
    assert_eq!(eio::next_text(&mut raw).await, "4raw");
    assert_eq!(
        api.emit(r#"{"endpoint":"/socket.io","event":"sio"}"#).await,
        1
    );
    client.expect(r#"42["sio"]"#).await;
    // Each call refuses the other kind of endpoint.
    let body = format!(r#"{{"endpoint":"/socket.io","sids":["{sid}"],"data":["raw"]}}"#);
    api::assert_error(&api.post("/v1/send", &body).await, 400, "invalid_request");
    let body = r#"{"endpoint":"/engine.io","event":"x"}"#;
    api::assert_error(&api.post("/v1/emit", body).await, 400, "invalid_request");
}
