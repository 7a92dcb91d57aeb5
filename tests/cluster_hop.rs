//! No sticky sessions: two in-process nodes sharing a real Redis; a session opened on node A is used through node
//! B (long polls, POSTs, WebSocket upgrades, Socket.IO 0.9 xhr-polling), B passing each request to A over the
//! authenticated hop. A hop proof a client makes up is not believed, and a session id of no live node is unknown.

use crate::common;
use common::cluster_gateway::{cluster_table, metrics_text, wait_joined};
use common::eio::{self, get, handshake, poll_url, post};
use common::sio::{self, raw_field};
use common::sio09::Sio09Client;
use common::{Backend, Gateway, Hook, Reply};
use iogate::server::hop::{Hopped, proof};
use std::time::Duration;

use common::redis::Redis;

const TIMING: &str = "ping_interval = \"2s\"\nping_timeout = \"2s\"";

/// Two engine.io nodes of one cluster, each relaying to its own backend.
async fn engine_io_pair(redis: &Redis, a: &Backend, b: &Backend) -> (Gateway, Gateway) {
    let node = |name: &str, backend: &Backend| {
        format!(
            "{}[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n{TIMING}\n",
            cluster_table(redis, name),
            backend.url()
        )
    };
    let first = Gateway::start(&node("a", a)).await;
    let second = Gateway::start(&node("b", b)).await;
    joined(&first, &second).await;
    (first, second)
}

/// Waits until both nodes see each other and know the hop secret.
async fn joined(first: &Gateway, second: &Gateway) {
    for node in [first, second] {
        wait_joined(node, 2).await;
    }
}

fn metric_line(gateway: &Gateway, prefix: &str) -> Option<String> {
    metrics_text(gateway)
        .lines()
        .find(|line| line.starts_with(prefix))
        .map(str::to_string)
}

#[tokio::test]
async fn polls_and_posts_on_one_node_reach_the_session_on_the_other() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (a, b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let (sid, _) = handshake(&a.url("/engine.io/")).await;
    let on_b = b.url("/engine.io/");

    let answer = post(&poll_url(&on_b, &sid), "4hello\u{1e}4world").await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "ok"));
    let mut received = String::new();
    while received.split('\u{1e}').count() < 2 {
        let poll = get(&poll_url(&on_b, &sid)).await;
        assert_eq!(poll.status, 200, "{}", poll.text);
        if !received.is_empty() {
            received.push('\u{1e}');
        }
        received.push_str(&poll.text);
    }
    assert_eq!(received, "4hello\u{1e}4world", "echoed by A's backend");
    let hooks = backend_a.wait_for("message", Some(&sid), 2).await;
    assert_eq!(hooks[0].body["data"], "hello");
    assert!(backend_b.hooks().is_empty(), "node B sends no webhook");
    assert_eq!((a.sessions(), b.sessions()), (1, 0));

    // A parked poll on B is answered when A has something for it.
    let parked = tokio::spawn({
        let url = poll_url(&on_b, &sid);
        async move { get(&url).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let answer = post(&poll_url(&a.url("/engine.io/"), &sid), "4late").await;
    assert_eq!(answer.status, 200);
    let parked = parked.await.unwrap();
    assert_eq!((parked.status, parked.text.as_str()), (200, "4late"));

    assert!(
        metric_line(&b, "iogate_hop_requests_total{kind=\"post\"}").is_some(),
        "{}",
        b.running.app.metrics().encode()
    );
    assert!(metric_line(&b, "iogate_hop_requests_total{kind=\"polling_get\"}").is_some());
    assert!(metric_line(&b, "iogate_hop_duration_seconds_count{kind=\"post\"}").is_some());
}

#[tokio::test]
async fn an_upgrade_on_one_node_carries_the_session_of_the_other_both_ways() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (a, b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let (sid, _) = handshake(&a.url("/engine.io/")).await;

    let mut ws = eio::ws_connect(&eio::ws_upgrade_url(&b.ws_url("/engine.io/"), &sid)).await;
    eio::send_text(&mut ws, "2probe").await;
    assert_eq!(eio::next_text(&mut ws).await, "3probe");
    eio::send_text(&mut ws, "5").await;
    eio::send_text(&mut ws, "4over the hop").await;
    assert_eq!(eio::next_text(&mut ws).await, "4over the hop");
    let hooks = backend_a.wait_for("message", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["data"], "over the hop");
    assert!(backend_b.hooks().is_empty());
    assert!(metric_line(&b, "iogate_hop_requests_total{kind=\"websocket\"}").is_some());

    // Closing the client's side ends the session on A.
    drop(ws);
    backend_a.wait_for("close", Some(&sid), 1).await;
}

#[tokio::test]
async fn a_session_of_no_live_node_is_unknown() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (_a, b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let stale = "ZZZZabcdefghijklmnop";
    let on_b = b.url("/engine.io/");
    for answer in [
        get(&poll_url(&on_b, stale)).await,
        post(&poll_url(&on_b, stale), "4x").await,
    ] {
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.json(),
            serde_json::json!({"code": 1, "message": "Session ID unknown"})
        );
    }
    assert!(metric_line(&b, "iogate_hop_failures_total{reason=\"no_live_node\"}").is_some());
}

#[tokio::test]
async fn only_a_valid_proof_names_the_client() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (a, _b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let target = "/engine.io/?EIO=4&transport=polling";
    let client = eio::http();

    // Made up by a client: not believed, served as an ordinary request.
    let forged = format!("{} 203.0.113.9 https {}", proof::now(), "ab".repeat(32));
    let answer = eio::answer(
        client
            .get(a.url(target))
            .header(proof::HEADER, forged)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let open = backend_a.wait_for("open", None, 1).await.remove(0);
    assert_eq!(open.body["handshake"]["address"], "127.0.0.1");
    assert_eq!(open.body["handshake"]["secure"], false);

    // Made with the cluster's secret, for this request: the client it names is the client.
    let secret = redis.cli(&["GET", "socket.io-iogate#hop-secret"]);
    let secret = secret.trim();
    let hopped = Hopped {
        client: "203.0.113.9".parse().unwrap(),
        secure: true,
    };
    let valid = proof::make(secret.as_bytes(), proof::now(), hopped, "GET", target);
    let answer = eio::answer(
        client
            .get(a.url(target))
            .header(proof::HEADER, valid)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let opens = backend_a.wait_for("open", None, 2).await;
    assert_eq!(opens[1].body["handshake"]["address"], "203.0.113.9");
    assert!(metric_line(&a, "iogate_hop_failures_total{reason=\"bad_proof\"}").is_some());
}

/// Acks `echo` events with their arguments; accepts everything else.
fn app(hook: &Hook) -> Reply {
    if hook.event == "event" && hook.body["event"] == "echo" {
        return Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args")));
    }
    Reply::ok("")
}

#[tokio::test]
async fn socketio09_xhr_polling_on_one_node_reaches_the_session_on_the_other() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::start(app).await, Backend::start(app).await);
    let node = |name: &str, backend: &Backend| {
        format!(
            "{}[[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\n\
             resource = \"myApp/server.js\"\nping_interval = \"20s\"\nping_timeout = \"5s\"\n",
            cluster_table(&redis, name),
            backend.url()
        )
    };
    let a = Gateway::start(&node("a", &backend_a)).await;
    let b = Gateway::start(&node("b", &backend_b)).await;
    joined(&a, &b).await;

    let on_a = Sio09Client::connect(&a, "myApp/server.js", "").await;
    let on_b = Sio09Client {
        base: b.url("/myApp/server.js/1"),
        sid: on_a.sid.clone(),
        handshake: on_a.handshake.clone(),
        jsonp: None,
        pending: Default::default(),
    };
    assert_eq!(on_b.next().await, "1::", "the main endpoint is connected");
    on_b.send(&[r#"5:1+::{"name":"echo","args":["hi"]}"#]).await;
    assert_eq!(on_b.next().await, r#"6:::1+["hi"]"#);
    backend_a.wait_for("event", None, 1).await;
    assert!(backend_b.hooks().is_empty());
    let _ = sio::accept;
}

#[tokio::test]
async fn a_client_that_leaves_mid_poll_releases_the_poll_on_the_owner() {
    use tokio::io::AsyncWriteExt;
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (a, b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let (sid, _) = handshake(&a.url("/engine.io/")).await;

    // A long poll parked through B, whose client then goes away.
    let mut client = tokio::net::TcpStream::connect(b.address).await.unwrap();
    let request = format!(
        "GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nhost: {}\r\n\r\n",
        b.address
    );
    client.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(a.sessions(), 1);
    drop(client);

    // The owner learns it as it would from its own client: the poll's connection closed, and with it the
    // session (well before the ping timeout would end it).
    let closed = backend_a.wait_for("close", Some(&sid), 1).await;
    assert_eq!(closed[0].body["reason"], "transport close");
    eio::eventually("the session gone from A", || a.sessions() == 0).await;
}

#[tokio::test]
async fn a_live_node_that_refuses_connections_leaves_its_sessions_unknown() {
    let redis = Redis::start();
    let (backend_a, backend_b) = (Backend::echo().await, Backend::echo().await);
    let (a, b) = engine_io_pair(&redis, &backend_a, &backend_b).await;
    let (sid, _) = handshake(&a.url("/engine.io/")).await;
    // A stops listening while its membership record is still fresh.
    let Gateway { running, .. } = a;
    running.shutdown(Duration::from_millis(100)).await;

    let on_b = b.url("/engine.io/");
    for answer in [
        get(&poll_url(&on_b, &sid)).await,
        post(&poll_url(&on_b, &sid), "4x").await,
    ] {
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.json(),
            serde_json::json!({"code": 1, "message": "Session ID unknown"})
        );
    }
    assert!(metric_line(&b, "iogate_hop_failures_total{reason=\"connect\"}").is_some());
}
