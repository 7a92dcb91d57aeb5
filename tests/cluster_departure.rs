//! A node that dies: iogate nodes as processes sharing a real redis-server. When one is killed (SIGKILL), exactly
//! one survivor sends each of its sessions' disconnect (Socket.IO) or close (Engine.IO) hook, reason
//! `transport close`, and nothing for the survivors' own sessions. A node paused past its record's lifetime finds it
//! was declared departed and closes those sessions without hooks; a node shut down cleanly sends its own hooks and
//! leaves nothing for survivors. When Redis stops, nodes keep serving their own sessions, `/readyz` answers 503 and
//! the metrics say so; when it is back, they are ready again and rewrite their session registries.

use crate::common;
use common::api::Metrics;
use common::eio::{self, Ws};
use common::node_config::{ENGINE_IO_PATH, Heartbeat, NodeOptions, PATH};
use common::nodes::Nodes;
use common::redis::Redis;
use common::sio::SioWs;
use common::{Backend, Hook, Reply};
use serde_json::json;
use std::time::{Duration, Instant};

/// The nodes here serve an engine.io endpoint beside the socket.io one, with iogate's default heartbeat: the raw
/// clients of these tests never answer a ping, and their sessions must last until the test ends them.
const OPTIONS: NodeOptions = NodeOptions {
    engine_io: true,
    heartbeat: Heartbeat::Default,
    recovery: false,
};

/// Starts `count` nodes of the cluster of `redis`, relaying to `backend`.
async fn start(count: usize, redis: &Redis, backend: &Backend) -> Nodes {
    Nodes::start_with(count, backend, Some(redis), OPTIONS).await
}

/// A Socket.IO v5 client over WebSocket on node `i`, connected to `namespace`; answers the socket id.
async fn socket(nodes: &Nodes, i: usize, namespace: &str) -> (Ws, String) {
    let url = nodes.ws_url(i, &format!("{PATH}/?EIO=4&transport=websocket"));
    let mut client = SioWs::open_at(&url).await;
    let sid = client.connect(namespace, None).await;
    (client.ws, sid)
}

/// An Engine.IO client over WebSocket at node `i`'s engine.io endpoint; answers the session id.
async fn engine_session(nodes: &Nodes, i: usize) -> (Ws, String) {
    let (ws, open) = eio::ws_handshake(&nodes.ws_url(i, &format!("{ENGINE_IO_PATH}/"))).await;
    let sid = open["sid"].as_str().expect("sid").to_string();
    (ws, sid)
}

/// Accepts everything; a connect stores `{"user": <namespace>}` as the socket's data.
fn backend_reply(hook: &Hook) -> Reply {
    if hook.event == "connect" {
        Reply::json(json!({ "data": { "user": hook.body["namespace"] } }))
    } else {
        Reply::ok("")
    }
}

/// Waits until node `i`'s metric `name` is `value`; panics after 5 s.
async fn metric_becomes(nodes: &Nodes, i: usize, name: &str, value: f64) {
    let what = format!("{name} on node {i} to become {value}");
    nodes
        .api(i)
        .metrics_until(&what, |metrics| metrics.value(name, &[]) == value)
        .await;
}

/// How many hooks a node has sent for the sessions of departed nodes.
fn departed_hooks(metrics: &Metrics) -> f64 {
    metrics.value("iogate_cluster_departed_hooks_total", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_sessions_are_reported_gone_once_by_one_survivor() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let mut nodes = start(3, &redis, &backend).await;
    let (a, b, c) = (0, 1, 2);

    let (_a_ws, a_sid) = socket(&nodes, a, "/").await;
    let (_b_ws1, b_sid1) = socket(&nodes, b, "/").await;
    let (_b_ws2, b_sid2) = socket(&nodes, b, "/chat").await;
    let (_b_eio, b_engine_sid) = engine_session(&nodes, b).await;
    let (_c_eio, _) = engine_session(&nodes, c).await;
    backend.wait_for("connect", None, 3).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.keys("socket.io-iogate#sockets#*").len() < 3 {
        assert!(Instant::now() < deadline, "one registry per node");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    nodes.kill9(b);
    let killed = Instant::now();
    let socket_hooks = backend
        .wait_for_within("disconnect", None, 2, Duration::from_secs(15))
        .await;
    let close_hooks = backend
        .wait_for_within("close", Some(&b_engine_sid), 1, Duration::from_secs(15))
        .await;
    assert!(
        killed.elapsed() < Duration::from_secs(12),
        "hooks took {:?}",
        killed.elapsed()
    );

    for (sid, namespace) in [(&b_sid1, "/"), (&b_sid2, "/chat")] {
        let hook = socket_hooks
            .iter()
            .find(|h| h.body["sid"] == sid.as_str())
            .unwrap_or_else(|| panic!("no disconnect hook for {sid}: {socket_hooks:?}"));
        assert_eq!(hook.body["type"], "disconnect");
        assert_eq!(hook.body["endpoint"], "/socket.io");
        assert_eq!(hook.body["namespace"], namespace);
        assert_eq!(hook.body["reason"], "transport close");
        assert_eq!(hook.body["rooms"], json!([]));
        assert_eq!(hook.body["data"], json!({ "user": namespace }));
    }
    assert_eq!(close_hooks[0].body["reason"], "transport close");
    assert_eq!(close_hooks[0].body["endpoint"], "/engine.io");

    // Long enough for a second survivor to have sent them again, had it claimed the departed node too.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let disconnects = backend.hooks_of("disconnect");
    assert_eq!(
        disconnects.len(),
        2,
        "exactly one disconnect hook per socket of the dead node, none for a live node's: {disconnects:?}"
    );
    assert!(disconnects.iter().all(|h| h.body["sid"] != a_sid.as_str()));
    assert_eq!(
        backend.hooks_of("close").len(),
        1,
        "only the dead node's session closed"
    );

    let (a_sent, c_sent) = (
        departed_hooks(&nodes.api(a).metrics().await),
        departed_hooks(&nodes.api(c).metrics().await),
    );
    assert!(
        (a_sent, c_sent) == (3.0, 0.0) || (a_sent, c_sent) == (0.0, 3.0),
        "one survivor sent all three hooks: a {a_sent}, c {c_sent}"
    );
    let departures = nodes
        .api(a)
        .metrics()
        .await
        .value("iogate_cluster_departures_total", &[])
        + nodes
            .api(c)
            .metrics()
            .await
            .value("iogate_cluster_departures_total", &[]);
    assert_eq!(departures, 1.0);
    assert_eq!(
        redis.keys("socket.io-iogate#sockets#*").len(),
        2,
        "the dead node's registry is deleted"
    );
    for node in [a, c] {
        metric_becomes(&nodes, node, "iogate_cluster_nodes", 2.0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_node_serves_its_own_sessions_and_is_not_ready() {
    let mut redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let node = start(1, &redis, &backend).await;
    let (mut ws, sid) = socket(&node, 0, "/").await;
    let registry = || redis.keys("socket.io-iogate#sockets#*");
    let deadline = Instant::now() + Duration::from_secs(5);
    while registry().is_empty() {
        assert!(Instant::now() < deadline, "the registry is written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.readyz(0).await, Some(200));
    metric_becomes(&node, 0, "iogate_cluster_redis_up", 1.0).await;

    redis.stop();
    // /readyz turns 503 without Redis.
    node.wait_readyz(0, 503, Duration::from_secs(8)).await;
    metric_becomes(&node, 0, "iogate_cluster_redis_up", 0.0).await;
    // The node's own sessions keep working, old and new.
    eio::send_text(&mut ws, r#"42["still here"]"#).await;
    let event = backend.wait_for("event", Some(&sid), 1).await;
    assert_eq!(event[0].body["event"], "still here");
    let (_second, second_sid) = socket(&node, 0, "/chat").await;
    backend.wait_for("connect", Some(&second_sid), 1).await;

    redis.restart();
    // /readyz is 200 again within a few seconds of Redis' return.
    node.wait_readyz(0, 200, Duration::from_secs(6)).await;
    // The restarted Redis is empty: the registry is rewritten whole from the live sockets.
    let deadline = Instant::now() + Duration::from_secs(6);
    loop {
        let keys = redis.keys("socket.io-iogate#sockets#*");
        if let Some(key) = keys.first() {
            let fields = redis.cli(&["HKEYS", key]);
            if fields.contains(&sid) && fields.contains(&second_sid) {
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the registry is rewritten after Redis returns"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    metric_becomes(&node, 0, "iogate_cluster_redis_up", 1.0).await;
    let metrics = node.api(0).metrics().await;
    assert!(metrics.value("iogate_cluster_registry_rewrites_total", &[]) >= 2.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_declared_departed_while_paused_closes_its_sessions_without_hooks() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let nodes = start(2, &redis, &backend).await;
    let started = Instant::now();
    let (a, b) = (0, 1);
    let (mut ws, sid) = socket(&nodes, b, "/").await;
    let (mut engine_ws, engine_sid) = engine_session(&nodes, b).await;
    backend.wait_for("connect", Some(&sid), 1).await;
    backend.wait_for("open", Some(&engine_sid), 1).await;
    // A survivor declares others departed only once Redis has answered it for 8 s.
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    nodes.pause(b);
    backend
        .wait_for_within("disconnect", Some(&sid), 1, Duration::from_secs(15))
        .await;
    backend
        .wait_for_within("close", Some(&engine_sid), 1, Duration::from_secs(15))
        .await;
    nodes.resume(b);

    // Back, the node finds it was declared departed: it closes what was reported gone, without hooks.
    eio::frames_until_closed(&mut ws, Duration::from_secs(5)).await;
    eio::frames_until_closed(&mut engine_ws, Duration::from_secs(5)).await;
    metric_becomes(&nodes, b, "iogate_cluster_declared_departed_total", 1.0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        backend.hooks_of("disconnect").len(),
        1,
        "one disconnect hook"
    );
    assert_eq!(backend.hooks_of("close").len(), 1, "one close hook");
    assert_eq!(departed_hooks(&nodes.api(a).metrics().await), 2.0);

    // It goes on serving: a new socket connects and is registered.
    let (_again, again_sid) = socket(&nodes, b, "/").await;
    backend.wait_for("connect", Some(&again_sid), 1).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !redis
        .keys("socket.io-iogate#sockets#*")
        .iter()
        .any(|key| redis.cli(&["HKEYS", key]).contains(&again_sid))
    {
        assert!(Instant::now() < deadline, "the new socket is registered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(nodes.readyz(b).await, Some(200));
}

/// Waits until `check` holds for `redis`, at most 10 s; panics naming `what`.
async fn redis_until(redis: &Redis, what: &str, check: impl Fn(&Redis) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check(redis) {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_declared_departed_rejoins_under_a_new_tag_and_a_later_death_reports_only_what_it_held_since()
 {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let mut nodes = start(2, &redis, &backend).await;
    let started = Instant::now();
    let (a, b) = (0, 1);
    let (_ws, old_sid) = socket(&nodes, b, "/").await;
    let (_engine_ws, old_engine_sid) = engine_session(&nodes, b).await;
    backend.wait_for("connect", Some(&old_sid), 1).await;
    let old_tag = old_engine_sid[..4].to_string();
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    nodes.pause(b);
    backend
        .wait_for_within("close", Some(&old_engine_sid), 1, Duration::from_secs(15))
        .await;
    nodes.resume(b);
    metric_becomes(&nodes, b, "iogate_cluster_declared_departed_total", 1.0).await;

    // Back, it mints ids under a new tag, registered in place of the old one.
    let (_new_ws, new_sid) = socket(&nodes, b, "/").await;
    let (_new_engine_ws, new_engine_sid) = engine_session(&nodes, b).await;
    backend.wait_for("connect", Some(&new_sid), 1).await;
    let new_tag = new_engine_sid[..4].to_string();
    assert_ne!(new_tag, old_tag, "the node rejoined under a new tag");
    redis_until(&redis, "the new tag is a live node", |redis| {
        redis
            .keys(&format!("socket.io-iogate#node#{new_tag}"))
            .len()
            == 1
    })
    .await;
    redis_until(
        &redis,
        "the old tag left the node set and its record went",
        |redis| {
            !redis
                .cli(&["SMEMBERS", "socket.io-iogate#nodes"])
                .contains(&old_tag)
                && redis
                    .keys(&format!("socket.io-iogate#node#{old_tag}"))
                    .is_empty()
        },
    )
    .await;
    redis_until(
        &redis,
        "the new sessions are registered under the new tag only",
        |redis| {
            let fields = redis.cli(&["HKEYS", &format!("socket.io-iogate#sockets#{new_tag}")]);
            fields.contains(&new_sid)
                && fields.contains(&new_engine_sid)
                && redis
                    .keys(&format!("socket.io-iogate#sockets#{old_tag}"))
                    .is_empty()
        },
    )
    .await;

    // The other node knows the new tag and no longer the old one: a request of an old session is refused with
    // the protocol's "Session ID unknown", one of a new session is passed to the node.
    let old = reqwest::get(nodes.url(
        a,
        &format!("{ENGINE_IO_PATH}/?EIO=4&transport=polling&sid={old_engine_sid}"),
    ))
    .await
    .expect("answer");
    assert_eq!(old.status(), 400);
    assert!(
        old.text()
            .await
            .expect("body")
            .contains("Session ID unknown")
    );

    // When it dies for good, the survivor reports exactly the sessions opened since the rejoin, once.
    nodes.kill9(b);
    backend
        .wait_for_within("disconnect", Some(&new_sid), 1, Duration::from_secs(15))
        .await;
    backend
        .wait_for_within("close", Some(&new_engine_sid), 1, Duration::from_secs(15))
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let disconnects: Vec<String> = backend
        .hooks_of("disconnect")
        .iter()
        .map(|hook| hook.body["sid"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        disconnects,
        [old_sid.clone(), new_sid.clone()],
        "one disconnect hook per socket"
    );
    let closes: Vec<String> = backend
        .hooks_of("close")
        .iter()
        .map(|hook| hook.body["sid"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(
        closes,
        [old_engine_sid, new_engine_sid],
        "one close hook per session"
    );
    assert_eq!(departed_hooks(&nodes.api(a).metrics().await), 4.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_shuts_down_cleanly_sends_its_own_hooks_and_leaves_nothing_to_survivors() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let mut nodes = start(2, &redis, &backend).await;
    let started = Instant::now();
    let (a, b) = (0, 1);
    let (_ws, sid) = socket(&nodes, b, "/").await;
    backend.wait_for("connect", Some(&sid), 1).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.keys("socket.io-iogate#sockets#*").is_empty() {
        assert!(Instant::now() < deadline, "the registry is written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    nodes.terminate(b);
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "server shutting down");
    nodes.wait_exit(b).await;
    assert!(
        redis.keys("socket.io-iogate#sockets#*").is_empty(),
        "the node deleted its registry"
    );
    assert_eq!(
        redis.keys("socket.io-iogate#node#*").len(),
        1,
        "and its record"
    );
    // Longer than a record lives and a survivor takes to claim a departed node: nobody reports it again.
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(backend.hooks_of("disconnect").len(), 1);
    assert_eq!(departed_hooks(&nodes.api(a).metrics().await), 0.0);
    assert_eq!(
        nodes
            .api(a)
            .metrics()
            .await
            .value("iogate_cluster_departures_total", &[]),
        0.0
    );
    metric_becomes(&nodes, a, "iogate_cluster_nodes", 1.0).await;
}

/// A raw Socket.IO v5 client on node `i` asking for offsets (`recovery=1`), connected to `/` with `auth`: the
/// client and the CONNECT reply's `sid` and `pid`.
async fn recoverable_socket(
    nodes: &Nodes,
    i: usize,
    auth: Option<&str>,
) -> (SioWs, String, String) {
    let url = nodes.ws_url(i, &format!("{PATH}/?EIO=4&transport=websocket&recovery=1"));
    let mut client = SioWs::open_at(&url).await;
    client.send(&common::sio::connect_packet("/", auth)).await;
    let reply = client.recv_text().await;
    let reply: serde_json::Value = serde_json::from_str(
        reply
            .strip_prefix("40")
            .unwrap_or_else(|| panic!("not a CONNECT reply: {reply}")),
    )
    .expect("CONNECT reply JSON");
    let field = |key: &str| reply[key].as_str().expect("sid and pid").to_string();
    (client, field("sid"), field("pid"))
}

/// A node paused past its record's lifetime while it holds a socket parked for recovery: the survivor reports the
/// parked socket gone (the registry lists it), so the node, back, ends it without a hook; a client that then comes
/// back for it gets a new socket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_declared_departed_ends_its_parked_sockets_without_hooks() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let options = NodeOptions {
        recovery: true,
        ..OPTIONS
    };
    let nodes = Nodes::start_with(2, &backend, Some(&redis), options).await;
    let started = Instant::now();
    let (a, b) = (0, 1);
    let (client, sid, pid) = recoverable_socket(&nodes, b, None).await;
    backend.wait_for("connect", Some(&sid), 1).await;
    drop(client);
    let parked = |metrics: &Metrics| metrics.value("iogate_recovery_parked", &[("endpoint", PATH)]);
    nodes
        .api(b)
        .metrics_until("the socket parked on B", |m| parked(m) == 1.0)
        .await;
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    nodes.pause(b);
    let reported = backend
        .wait_for_within("disconnect", Some(&sid), 1, Duration::from_secs(15))
        .await;
    assert_eq!(
        reported[0].body["reason"], "transport close",
        "the reason it was parked for"
    );
    nodes.resume(b);
    metric_becomes(&nodes, b, "iogate_cluster_declared_departed_total", 1.0).await;
    nodes
        .api(b)
        .metrics_until("no socket parked on B", |m| parked(m) == 0.0)
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        backend.hooks_of("disconnect").len(),
        1,
        "the survivor's report only"
    );
    assert_eq!(departed_hooks(&nodes.api(a).metrics().await), 1.0);

    let auth = format!("{{\"pid\":\"{pid}\"}}");
    let (_again, again_sid, _) = recoverable_socket(&nodes, b, Some(&auth)).await;
    assert_ne!(again_sid, sid, "a new socket: the parked one is gone");
}
