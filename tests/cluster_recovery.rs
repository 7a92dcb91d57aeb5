//! Connection state recovery across two nodes of a cluster, with the real npm `socket.io-client` 4.x
//! (`tests/clients/socketio/cluster_recovery.js`): a client that drops from node A and reconnects through node B
//! gets its socket handed over (same id, rooms, data, every event it missed once and in order, `recovered` true,
//! no `disconnect` hook); when node A left meanwhile it gets a new socket and the old one has had its hook.

use crate::common;
use common::api::{API_TABLE, TOKEN};
use common::cluster_gateway::{cluster_table, wait_joined};
use common::node_config::{NodeOptions, PATH};
use common::nodes::Nodes;
use common::redis::Redis;
use common::sio_backend;
use common::{Backend, Gateway, Hook, node};
use serde_json::{Value, json};
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

/// Node `name` of the cluster of `redis` (with `cluster_extra` lines): short pings, recovery with a 10 s window
/// (with `recovery_extra` keys), relaying to `backend`.
async fn start_node(
    redis: &Redis,
    name: &str,
    backend: &Backend,
    [cluster_extra, recovery_extra]: [&str; 2],
) -> Gateway {
    Gateway::start(&format!(
        "{API_TABLE}\n{}{cluster_extra}\n[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\"]\n\
         ping_interval = \"300ms\"\nping_timeout = \"200ms\"\n\
         recovery = {{ max_disconnection = \"10s\"{recovery_extra} }}\n",
        cluster_table(redis, name),
        backend.url()
    ))
    .await
}

async fn pair(redis: &Redis, backend: &Backend) -> (Gateway, Gateway) {
    pair_with(redis, backend, ["", ""]).await
}

async fn pair_with(redis: &Redis, backend: &Backend, extra: [&str; 2]) -> (Gateway, Gateway) {
    let a = start_node(redis, "a", backend, extra).await;
    let b = start_node(redis, "b", backend, extra).await;
    wait_joined(&a, 2).await;
    wait_joined(&b, 2).await;
    (a, b)
}

fn script(
    a: &Gateway,
    b: &Gateway,
    mode: &str,
    scenario: &str,
) -> tokio::task::JoinHandle<node::NodeRun> {
    let urls = [a.url("/socket.io/"), b.url("/socket.io/")];
    let apis = [a.api_url(""), b.api_url("")];
    spawn_script(urls, apis, mode, scenario)
}

fn spawn_script(
    [url_a, url_b]: [String; 2],
    [api_a, api_b]: [String; 2],
    mode: &str,
    scenario: &str,
) -> tokio::task::JoinHandle<node::NodeRun> {
    let args = [
        url_a,
        url_b,
        mode.to_string(),
        scenario.to_string(),
        api_a,
        api_b,
        TOKEN.to_string(),
    ];
    tokio::spawn(async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        node::run("socketio/cluster_recovery.js", &args, LIMIT).await
    })
}

fn of_sid<'a>(hooks: &'a [Hook], event: &str, sid: &str) -> Vec<&'a Hook> {
    hooks
        .iter()
        .filter(|h| h.event == event && h.body["sid"] == sid)
        .collect()
}

fn without_offsets(events: &Value) -> Vec<Value> {
    events
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            let e = e.as_array().expect("event");
            Value::Array(e[..e.len() - 1].to_vec())
        })
        .collect()
}

async fn moved(mode: &str) {
    let redis = Redis::start();
    let backend = Backend::start(sio_backend::respond).await;
    let (a, b) = pair(&redis, &backend).await;
    let run = script(&a, &b, mode, "move").await.expect("script task");
    run.assert_success();
    let result = run.result();
    let (first, back) = (&result["first"], &result["back"]);
    let sid = first["sid"].as_str().expect("sid");
    assert!(sid.len() > 4);
    assert_eq!(back["sid"], sid, "same socket id");
    assert_eq!(back["recovered"], true);
    eprintln!(
        "recovered through node B over {mode}: {} ms from the session's open to the CONNECT reply",
        back["connectMs"]
    );
    assert_eq!(
        without_offsets(&back["events"]),
        vec![
            json!(["news", 1]),
            json!(["news", 2]),
            json!(["welcome", {"name": "rita", "namespace": "/"}]),
        ],
        "missed events once each, in order: {}",
        back["events"]
    );
    assert_eq!(
        back["whoami"],
        json!([{"name": "rita"}, [sid, "user:rita"]]),
        "data and rooms kept"
    );
    for listing in ["socketsOnA", "socketsOnB"] {
        let listed: Vec<&Value> = back[listing]
            .as_array()
            .expect("listing")
            .iter()
            .filter(|s| s["sid"] == sid)
            .collect();
        assert_eq!(listed.len(), 1, "{listing}: {}", back[listing]);
        assert_eq!(listed[0]["rooms"], json!([sid, "user:rita"]));
        assert_eq!(listed[0]["data"], json!({"name": "rita"}));
    }
    let hooks = backend.hooks();
    let connects = of_sid(&hooks, "connect", sid);
    assert_eq!(connects.len(), 2, "first connect and the recovery");
    assert_eq!(connects[1].body["recovered"], true);
    assert_eq!(connects[1].body["rooms"], json!([sid, "user:rita"]));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(of_sid(&backend.hooks(), "disconnect", sid).is_empty());
}

async fn owner_gone(mode: &str) {
    let redis = Redis::start();
    let backend = Backend::start(sio_backend::respond).await;
    let (a, b) = pair(&redis, &backend).await;
    let running = script(&a, &b, mode, "owner_gone");
    // Once A has parked her, A shuts down: it leaves the cluster, and its parked socket ends with its hook.
    let deadline = tokio::time::Instant::now() + LIMIT;
    while common::cluster_gateway::metrics_text(&a)
        .lines()
        .all(|l| l != "iogate_recovery_parked{endpoint=\"/socket.io\"} 1")
    {
        assert!(tokio::time::Instant::now() < deadline, "A never parked her");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let sid_on_a = backend.hooks()[0].body["sid"].as_str().unwrap().to_string();
    a.running.shutdown(Duration::from_secs(2)).await;
    let run = running.await.expect("script task");
    run.assert_success();
    let result = run.result();
    let (first, back) = (&result["first"], &result["back"]);
    assert_eq!(first["sid"], sid_on_a.as_str());
    assert_ne!(back["sid"], first["sid"], "a new socket");
    assert_eq!(back["recovered"], false);
    let hooks = backend.wait_for("disconnect", Some(&sid_on_a), 1).await;
    assert_eq!(hooks.len(), 1, "the old socket's hook, once");
    assert_eq!(
        hooks[0].body["reason"], "transport close",
        "the reason it was parked for"
    );
}

#[tokio::test]
async fn a_socket_parked_on_one_node_moves_to_the_node_its_client_returns_through_over_websocket() {
    moved("websocket").await;
}

#[tokio::test]
async fn a_socket_parked_on_one_node_moves_to_the_node_its_client_returns_through_over_polling() {
    moved("polling").await;
}

/// The socket moves A -> B -> A. Its client drops from B before B sent it anything (the nodes skip the connect
/// hook, whose reply would emit), so it comes back holding A's offset, which B places through the offsets it was
/// handed; and A, which minted the pid, no longer holds the socket: B, which does, hands it back.
#[tokio::test]
async fn a_socket_moved_to_another_node_moves_back_with_the_offsets_its_client_holds() {
    let redis = Redis::start();
    let backend = Backend::start(sio_backend::respond).await;
    let extra = ["peer_timeout = \"500ms\"\n", ", skip_connect_hook = true"];
    let (a, b) = pair_with(&redis, &backend, extra).await;
    let run = script(&a, &b, "websocket", "move_back")
        .await
        .expect("script task");
    run.assert_success();
    let result = run.result();
    let (first, back, again) = (&result["first"], &result["back"], &result["again"]);
    let sid = first["sid"].as_str().expect("sid");
    assert_eq!(back["sid"], sid);
    assert_eq!(back["recovered"], true);
    assert_eq!(without_offsets(&back["events"]), vec![json!(["news", 1])]);
    assert_eq!(again["sid"], sid, "the same socket after two moves");
    assert_eq!(again["recovered"], true);
    assert_eq!(
        without_offsets(&again["events"]),
        vec![json!(["news", 2]), json!(["news", 3])],
        "what it missed on B, once each, in order: {}",
        again["events"]
    );
    for listing in ["socketsOnA", "socketsOnB"] {
        let listed: Vec<&Value> = again[listing]
            .as_array()
            .expect("listing")
            .iter()
            .filter(|s| s["sid"] == sid)
            .collect();
        assert_eq!(listed.len(), 1, "{listing}: {}", again[listing]);
        assert_eq!(listed[0]["rooms"], json!([sid, "user:rita"]));
    }
    let hooks = backend.hooks();
    assert_eq!(
        of_sid(&hooks, "connect", sid).len(),
        1,
        "the first connect only"
    );
    // Past the confirmation wait of both hand-overs (4 x peer_timeout): no hook from either node.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert!(of_sid(&backend.hooks(), "disconnect", sid).is_empty());
    for node in [&a, &b] {
        let metrics = common::cluster_gateway::metrics_text(node);
        assert!(
            !metrics.contains("outcome=\"hand_over_unconfirmed\""),
            "every hand-over confirmed"
        );
    }
}

#[tokio::test]
async fn a_socket_parked_on_a_node_that_left_is_not_recovered() {
    owner_gone("websocket").await;
}

/// Node A (a process) is killed while the client is away (her connection stalled: parked for `ping timeout`):
/// B refuses the pid (A does not answer, or is gone), the client gets a new socket, and B, claiming the departed A,
/// reports the parked socket gone with the reason it was parked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_socket_parked_on_a_node_that_was_killed_is_reported_gone_by_the_survivor() {
    let redis = Redis::start();
    let backend = Backend::start(sio_backend::respond).await;
    let options = NodeOptions {
        recovery: true,
        ..NodeOptions::default()
    };
    let mut nodes = Nodes::start_with(2, &backend, Some(&redis), options).await;
    let path = format!("{PATH}/");
    let running = spawn_script(
        [nodes.url(0, &path), nodes.url(1, &path)],
        [nodes.api_url(0, ""), nodes.api_url(1, "")],
        "websocket",
        "owner_killed",
    );
    let deadline = tokio::time::Instant::now() + LIMIT;
    loop {
        let metrics = nodes.api(0).metrics().await;
        if metrics.value("iogate_recovery_parked", &[("endpoint", PATH)]) == 1.0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "A never parked her");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    nodes.kill9(0);
    let run = running.await.expect("script task");
    run.assert_success();
    let result = run.result();
    let (first, back) = (&result["first"], &result["back"]);
    let old = first["sid"].as_str().expect("sid");
    assert_ne!(back["sid"], old, "a new socket");
    assert_eq!(back["recovered"], false);
    let hooks = backend
        .wait_for_within("disconnect", Some(old), 1, Duration::from_secs(20))
        .await;
    assert_eq!(hooks.len(), 1, "reported once");
    assert_eq!(nodes.sender_of(&hooks[0]), Some(1), "by the survivor");
    assert_eq!(
        hooks[0].body["reason"], "ping timeout",
        "the reason it was parked for, kept in the registry"
    );
}
