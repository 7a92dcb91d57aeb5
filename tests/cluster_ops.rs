//! Operations across the nodes of a cluster: two (or three) in-process gateways sharing a real redis-server,
//! raw Socket.IO clients on each, and the push API of either node. An API emit reaches every matching socket on
//! every node exactly once and answers with the nodes it covers; join, leave, data and disconnect act across
//! nodes before the call returns; listings merge; acks are collected from other nodes; a webhook reply's
//! broadcast reaches sockets on the other node; a registered node that does not answer makes answers partial
//! within peer_timeout; and the Node ecosystem's emitter messages, published raw on Redis, reach sockets.

use crate::common;
use common::api::{API_TABLE, Api, socketio_endpoint};
use common::cluster_gateway::cluster_table;
use common::redis::Redis;
use common::sio::SioWs;
use common::{Backend, Gateway, Hook, Reply};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// How long a node waits for the others in these tests.
const PEER_TIMEOUT: Duration = Duration::from_secs(1);

/// Joins the rooms named in the auth payload; `bcast [spec]` broadcasts `spec`; `sync` is acked with nothing.
fn backend_app(hook: &Hook) -> Reply {
    let body = &hook.body;
    match hook.event.as_str() {
        "connect" => Reply::json(json!({ "join": body["auth"]["rooms"].clone() })),
        "event" => match body["event"].as_str().unwrap_or("") {
            "bcast" => Reply::json(json!({ "broadcast": [body["args"][0].clone()] })),
            "sync" => Reply::ok(r#"{"ack":[]}"#),
            _ => Reply::ok(""),
        },
        _ => Reply::ok(""),
    }
}

/// A node named `name` of the cluster on `redis`, with the push API and one socket.io endpoint.
async fn node(redis: &Redis, backend: &Backend, name: &str) -> Gateway {
    Gateway::start(&format!(
        "{API_TABLE}\n{}peer_timeout = \"{}ms\"\n\n{}",
        cluster_table(redis, name),
        PEER_TIMEOUT.as_millis(),
        socketio_endpoint("/socket.io", &backend.url(), "")
    ))
    .await
}

/// Waits until every node's listing covers `count` nodes (each is subscribed and sees the others).
async fn ready(nodes: &[&Gateway], count: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    for node in nodes {
        let api = Api::of(node);
        loop {
            let rooms = api.get_ok("/v1/rooms").await;
            if rooms["nodes"] == json!(count) && rooms.get("partial").is_none() {
                break;
            }
            assert!(Instant::now() < deadline, "cluster not ready: {rooms}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A client of `node` connected to `/` and joined to `rooms`; with its socket id.
async fn client(node: &Gateway, rooms: &[&str]) -> (SioWs, String) {
    let auth = json!({ "rooms": rooms }).to_string();
    SioWs::connected(node, "/", Some(&auth)).await
}

/// Two nodes, A and B, each with one client in room `r`.
struct TwoNodes {
    redis: Redis,
    _backend: Backend,
    a: Gateway,
    b: Gateway,
    on_a: SioWs,
    on_b: SioWs,
    sid_a: String,
    sid_b: String,
}

impl TwoNodes {
    async fn start() -> Self {
        let redis = Redis::start();
        let backend = Backend::start(backend_app).await;
        let a = node(&redis, &backend, "a").await;
        let b = node(&redis, &backend, "b").await;
        ready(&[&a, &b], 2).await;
        let (on_a, sid_a) = client(&a, &["r"]).await;
        let (on_b, sid_b) = client(&b, &["r"]).await;
        Self {
            redis,
            _backend: backend,
            a,
            b,
            on_a,
            on_b,
            sid_a,
            sid_b,
        }
    }
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn api_calls_reach_and_count_sockets_on_every_node() {
    let mut t = TwoNodes::start().await;
    let (api_a, api_b) = (Api::of(&t.a), Api::of(&t.b));

    let answer = api_a
        .post_ok(
            "/v1/emit",
            r#"{"to":{"rooms":["r"]},"event":"hi","args":[1]}"#,
        )
        .await;
    assert_eq!(answer, r#"{"sockets":2,"nodes":2}"#);
    assert_eq!(t.on_a.recv_text().await, r#"42["hi",1]"#);
    assert_eq!(t.on_b.recv_text().await, r#"42["hi",1]"#);
    t.on_a.assert_silent(QUIET).await;
    t.on_b.assert_silent(QUIET).await;

    // Listings merge both nodes' sockets and rooms.
    let listing = api_a.get_ok("/v1/sockets").await;
    assert_eq!(listing["nodes"], json!(2), "{listing}");
    let mut sids: Vec<&str> = listing["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sid"].as_str().unwrap())
        .collect();
    sids.sort();
    let mut expected = vec![t.sid_a.as_str(), t.sid_b.as_str()];
    expected.sort();
    assert_eq!(sids, expected);
    for socket in listing["sockets"].as_array().unwrap() {
        assert!(socket["handshake"]["headers"].is_object(), "{socket}");
        assert_eq!(socket["namespace"], "/");
    }
    let rooms = api_b.get_ok("/v1/rooms").await;
    assert_eq!(rooms["nodes"], json!(2));
    let r = rooms["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|room| room["name"] == "r")
        .cloned();
    assert_eq!(r, Some(json!({"name":"r","sockets":2})), "{rooms}");

    // B puts A's socket in a room; A sees it as soon as the call returns.
    let joined = api_b
        .post_ok(
            "/v1/join",
            &json!({"to":{"sockets":[t.sid_a]},"rooms":["x"]}).to_string(),
        )
        .await;
    assert_eq!(joined, r#"{"sockets":1,"nodes":2}"#);
    assert_eq!(api_a.rooms("").await.get("x"), Some(&1));
    let left = api_a
        .post_ok("/v1/leave", r#"{"to":{"rooms":["x"]},"rooms":["x"]}"#)
        .await;
    assert_eq!(left, r#"{"sockets":1,"nodes":2}"#);
    assert_eq!(api_b.rooms("").await.get("x"), None);

    // Data set from A on B's socket.
    let put = api_a
        .put(
            "/v1/data",
            &json!({"sid": t.sid_b, "data": {"k": 1.50}}).to_string(),
        )
        .await;
    assert_eq!((put.status, put.text.as_str()), (200, "{}"));
    let listing = api_b.get_ok("/v1/sockets").await;
    let b_entry = listing["sockets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["sid"] == json!(t.sid_b))
        .cloned()
        .unwrap();
    assert_eq!(b_entry["data"], json!({"k": 1.5}));

    // Disconnect by room from A: both sockets, on both nodes.
    let gone = api_a
        .post_ok("/v1/disconnect", r#"{"to":{"rooms":["r"]}}"#)
        .await;
    assert_eq!(gone, r#"{"sockets":2,"nodes":2}"#);
    assert_eq!(t.on_a.recv_text().await, "41");
    assert_eq!(t.on_b.recv_text().await, "41");
    let listing = api_b.get_ok("/v1/sockets").await;
    assert_eq!(listing["sockets"], json!([]), "{listing}");
}

/// The ack id of an event packet `42<id>[...]`.
fn ack_id(packet: &str) -> String {
    let rest = packet
        .strip_prefix("42")
        .unwrap_or_else(|| panic!("not an event: {packet}"));
    rest.chars().take_while(char::is_ascii_digit).collect()
}

#[tokio::test]
async fn an_emit_with_ack_collects_the_other_nodes_acks() {
    let mut t = TwoNodes::start().await;
    let api_b = Api::of(&t.b);
    let call = tokio::spawn(async move {
        api_b
            .post_ok(
                "/v1/emit",
                r#"{"to":{"rooms":["r"]},"event":"q","ack_timeout":"3s"}"#,
            )
            .await
    });
    let on_a = t.on_a.recv_text().await;
    t.on_a
        .send(&format!(r#"43{}["from a"]"#, ack_id(&on_a)))
        .await;
    let on_b = t.on_b.recv_text().await;
    t.on_b
        .send(&format!(r#"43{}["from b"]"#, ack_id(&on_b)))
        .await;
    let answer: Value = serde_json::from_str(&call.await.unwrap()).unwrap();
    assert_eq!(answer["nodes"], json!(2), "{answer}");
    assert!(answer.get("partial").is_none(), "{answer}");
    let mut acks: Vec<(String, Value)> = answer["acks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|ack| {
            (
                ack["sid"].as_str().unwrap().to_string(),
                ack["args"].clone(),
            )
        })
        .collect();
    acks.sort_by(|x, y| x.0.cmp(&y.0));
    let mut expected = vec![
        (t.sid_a.clone(), json!(["from a"])),
        (t.sid_b.clone(), json!(["from b"])),
    ];
    expected.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(acks, expected);
}

#[tokio::test]
async fn a_webhook_reply_broadcast_reaches_the_other_nodes_socket_once() {
    let mut t = TwoNodes::start().await;
    t.on_a
        .send(r#"42["bcast",{"rooms":["r"],"event":"news","args":[7]}]"#)
        .await;
    assert_eq!(t.on_b.recv_text().await, r#"42["news",7]"#);
    // The sender's hooks run in order: once its sync is answered, its broadcast has gone everywhere.
    assert_eq!(t.on_a.call(r#"421["sync"]"#).await, "431[]");
    t.on_b.assert_silent(QUIET).await;
}

#[tokio::test]
async fn a_registered_node_that_does_not_answer_makes_answers_partial_in_time() {
    let t = TwoNodes::start().await;
    // A third node's record, as a node writes it, but nothing behind it.
    let record = json!({"node_id":"c","tag":"Zz9z","advertise":"127.0.0.1:9"}).to_string();
    t.redis
        .command(&[
            b"SET",
            b"socket.io-iogate#node#Zz9z",
            record.as_bytes(),
            b"PX",
            b"30000",
        ])
        .await;
    t.redis
        .command(&[b"SADD", b"socket.io-iogate#nodes", b"Zz9z"])
        .await;
    let cluster = t.a.running.app.cluster().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while cluster.membership().live_count() < 3 {
        assert!(Instant::now() < deadline, "the third node is never seen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let api_a = Api::of(&t.a);
    let started = Instant::now();
    let answer = api_a
        .post_ok("/v1/emit", r#"{"to":{"rooms":["r"]},"event":"hi"}"#)
        .await;
    let took = started.elapsed();
    assert_eq!(answer, r#"{"sockets":2,"nodes":2,"partial":true}"#);
    assert!(
        took < PEER_TIMEOUT + Duration::from_millis(700),
        "took {took:?}"
    );
    let rooms = api_a.get_ok("/v1/rooms").await;
    assert_eq!(
        (&rooms["nodes"], &rooms["partial"]),
        (&json!(2), &json!(true))
    );
    api_a
        .metrics_until("a partial request counted", |m| {
            m.value("iogate_cluster_requests_total", &[("outcome", "partial")]) >= 2.0
        })
        .await;
}

#[tokio::test]
async fn without_redis_a_node_acts_on_its_own_sockets_and_says_the_answer_is_partial() {
    let mut t = TwoNodes::start().await;
    t.redis.stop();
    let cluster = t.a.running.app.cluster().unwrap().clone();
    let deadline = Instant::now() + Duration::from_secs(10);
    while cluster.is_up() {
        assert!(Instant::now() < deadline, "Redis's death is never noticed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let started = Instant::now();
    let answer = Api::of(&t.a)
        .post_ok("/v1/emit", r#"{"to":{"rooms":["r"]},"event":"alone"}"#)
        .await;
    assert!(
        started.elapsed() < PEER_TIMEOUT,
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(answer, r#"{"sockets":1,"nodes":1,"partial":true}"#);
    assert_eq!(t.on_a.recv_text().await, r#"42["alone"]"#);
    t.on_b.assert_silent(QUIET).await;
}

/// `["emitter", {type:2, data, nsp:"/"}, {rooms, flags:{}, except:[]}]` as the Node emitter encodes it.
fn emitter_message(data: rmpv::Value, rooms: &[&str]) -> Vec<u8> {
    use rmpv::Value as V;
    let message = V::Array(vec![
        V::from("emitter"),
        V::Map(vec![
            (V::from("type"), V::from(2)),
            (V::from("data"), data),
            (V::from("nsp"), V::from("/")),
        ]),
        V::Map(vec![
            (
                V::from("rooms"),
                V::Array(rooms.iter().map(|r| V::from(*r)).collect()),
            ),
            (V::from("flags"), V::Map(Vec::new())),
            (V::from("except"), V::Array(Vec::new())),
        ]),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &message).unwrap();
    bytes
}

#[tokio::test]
async fn node_emitter_messages_published_on_redis_reach_sockets_on_every_node() {
    let mut t = TwoNodes::start().await;
    // The captured bytes of `emitter.emit("hello", "world", 1)`.
    let hello = hex::decode(
        "93a7656d697474657283a47479706502a46461746193a568656c6c6fa5776f726c6401a36e7370a12f\
         83a5726f6f6d7390a5666c61677380a6657863657074 90"
            .replace(' ', ""),
    )
    .unwrap();
    t.redis.publish("socket.io#/#", &hello).await;
    assert_eq!(t.on_a.recv_text().await, r#"42["hello","world",1]"#);
    assert_eq!(t.on_b.recv_text().await, r#"42["hello","world",1]"#);
    t.on_a.assert_silent(QUIET).await;
    t.on_b.assert_silent(QUIET).await;

    // One room, on the one-room channel, with a binary argument.
    let data = rmpv::Value::Array(vec![
        rmpv::Value::from("bin"),
        rmpv::Value::Binary(vec![1, 2, 3]),
    ]);
    t.redis
        .publish("socket.io#/#r#", &emitter_message(data, &["r"]))
        .await;
    assert_eq!(
        t.on_b.recv_text().await,
        r#"451-["bin",{"_placeholder":true,"num":0}]"#
    );
    assert_eq!(t.on_b.recv_binary().await, [1, 2, 3]);

    // socketsJoin through the request channel: every node applies it to its own sockets.
    t.redis
        .publish(
            "socket.io-request#/#",
            br#"{"type":2,"opts":{"rooms":["r"],"except":[]},"rooms":["joined"]}"#,
        )
        .await;
    let api_a = Api::of(&t.a);
    let deadline = Instant::now() + Duration::from_secs(5);
    while api_a.rooms("").await.get("joined") != Some(&2) {
        assert!(
            Instant::now() < deadline,
            "socketsJoin not applied on both nodes"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // disconnectSockets() of room `joined`.
    t.redis
        .publish(
            "socket.io-request#/#",
            br#"{"type":4,"opts":{"rooms":["joined"],"except":[]},"close":false}"#,
        )
        .await;
    // A's client got the binary broadcast before; skip it.
    let mut seen = Vec::new();
    loop {
        let packet = t.on_a.recv().await;
        if matches!(&packet, common::sio::Received::Text(text) if text == "41") {
            break;
        }
        seen.push(packet);
        assert!(seen.len() <= 2, "{seen:?}");
    }
    assert_eq!(t.on_b.recv_text().await, "41");
    api_a
        .metrics_until("Node messages counted", |m| {
            m.value("iogate_cluster_node_messages_total", &[]) >= 4.0
        })
        .await;
}
