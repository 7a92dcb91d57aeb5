//! A node that dies: iogate nodes as processes sharing a real redis-server. When one is killed (SIGKILL), exactly
//! one survivor sends each of its sessions' disconnect (Socket.IO) or close (Engine.IO) hook, reason
//! `transport close`, and nothing for the survivors' own sessions. A node paused past its record's lifetime finds it
//! was declared departed and closes those sessions without hooks; a node shut down cleanly sends its own hooks and
//! leaves nothing for survivors. When Redis stops, nodes keep serving their own sessions, `/readyz` answers 503 and
//! the metrics say so; when it is back, they are ready again and rewrite their session registries.

use crate::common;
use common::api::Metrics;
use common::eio::{self, Ws};
use common::redis::Redis;
use common::{Backend, Hook, Reply};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOKEN: &str = "t0k";

/// One iogate process of the cluster, killed when dropped.
struct Node {
    child: Child,
    port: u16,
    api_port: u16,
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

impl Node {
    /// Starts node `name` with a socket.io endpoint at `/socket.io` and an engine.io one at `/engine.io`, both
    /// relaying to `backend`, in the cluster of `redis`.
    async fn start(name: &str, redis: &Redis, backend: &Backend) -> Self {
        let (port, api_port) = (free_port(), free_port());
        let config = format!(
            "[server]\nlisten = \"127.0.0.1:{port}\"\n\
             [api]\nlisten = \"127.0.0.1:{api_port}\"\ntoken = \"{TOKEN}\"\n\
             [cluster]\nredis = \"{redis}\"\nnode_id = \"{name}\"\n\
             [[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{backend}\"\n\
             namespaces = [\"/\", \"/chat\"]\n\
             [[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{backend}\"\n",
            redis = redis.url(),
            backend = backend.url(),
        );
        let file = std::env::temp_dir().join(format!(
            "iogate-cluster-departure-{}-{port}.toml",
            std::process::id()
        ));
        std::fs::write(&file, config).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_iogate"))
            .args(["--config", file.to_str().unwrap()])
            .env("RUST_LOG", "iogate=info")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("iogate starts");
        let node = Self {
            child,
            port,
            api_port,
        };
        let started = Instant::now();
        while node.status("/healthz").await != 200 {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "node {name} did not start"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let _ = std::fs::remove_file(file);
        node
    }

    /// The status of `GET path` on the public listener (0 when it does not answer).
    async fn status(&self, path: &str) -> u16 {
        reqwest::get(format!("http://127.0.0.1:{}{path}", self.port))
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    }

    /// `GET /metrics` on the push API, parsed.
    async fn metrics(&self) -> Metrics {
        let text = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/metrics", self.api_port))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics body");
        Metrics::parse(&text)
    }

    /// A Socket.IO v5 client over WebSocket connected to `namespace`; answers the socket id.
    async fn socket(&self, namespace: &str) -> (Ws, String) {
        let mut ws = eio::ws_connect(&format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
            self.port
        ))
        .await;
        let open = eio::next_text(&mut ws).await;
        assert!(open.starts_with('0'), "open packet: {open}");
        let connect = if namespace == "/" {
            "40".to_string()
        } else {
            format!("40{namespace},")
        };
        eio::send_text(&mut ws, &connect).await;
        let reply = eio::next_text(&mut ws).await;
        (ws, common::sio::connect_reply_sid(&reply, namespace))
    }

    /// An Engine.IO client over WebSocket at the engine.io endpoint; answers the session id.
    async fn engine_session(&self) -> (Ws, String) {
        let mut ws = eio::ws_connect(&format!(
            "ws://127.0.0.1:{}/engine.io/?EIO=4&transport=websocket",
            self.port
        ))
        .await;
        let open = eio::next_text(&mut ws).await;
        let open: Value = serde_json::from_str(open.strip_prefix('0').expect("open packet"))
            .expect("open packet JSON");
        let sid = open["sid"].as_str().expect("sid").to_string();
        (ws, sid)
    }

    /// Kills the process at once (SIGKILL): no hook, no goodbye.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Accepts everything; a connect stores `{"user": <namespace>}` as the socket's data.
fn backend_reply(hook: &Hook) -> Reply {
    if hook.event == "connect" {
        Reply::json(json!({ "data": { "user": hook.body["namespace"] } }))
    } else {
        Reply::ok("")
    }
}

/// Waits until `node`'s metric `name` is `value`; panics after 5 s.
async fn metric_becomes(node: &Node, name: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = node.metrics().await.value(name, &[]);
        if now == value {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stays {now}, not {value}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn departed_hooks(metrics: &Metrics) -> f64 {
    metrics.value("iogate_cluster_departed_hooks_total", &[])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_nodes_sessions_are_reported_gone_once_by_one_survivor() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let a = Node::start("a", &redis, &backend).await;
    let mut b = Node::start("b", &redis, &backend).await;
    let c = Node::start("c", &redis, &backend).await;

    let (_a_ws, a_sid) = a.socket("/").await;
    let (_b_ws1, b_sid1) = b.socket("/").await;
    let (_b_ws2, b_sid2) = b.socket("/chat").await;
    let (_b_eio, b_engine_sid) = b.engine_session().await;
    let (_c_eio, _) = c.engine_session().await;
    backend.wait_for("connect", None, 3).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.keys("socket.io-iogate#sockets#*").len() < 3 {
        assert!(Instant::now() < deadline, "one registry per node");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    b.kill();
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
        departed_hooks(&a.metrics().await),
        departed_hooks(&c.metrics().await),
    );
    assert!(
        (a_sent, c_sent) == (3.0, 0.0) || (a_sent, c_sent) == (0.0, 3.0),
        "one survivor sent all three hooks: a {a_sent}, c {c_sent}"
    );
    let departures = a
        .metrics()
        .await
        .value("iogate_cluster_departures_total", &[])
        + c.metrics()
            .await
            .value("iogate_cluster_departures_total", &[]);
    assert_eq!(departures, 1.0);
    assert_eq!(
        redis.keys("socket.io-iogate#sockets#*").len(),
        2,
        "the dead node's registry is deleted"
    );
    for node in [&a, &c] {
        metric_becomes(node, "iogate_cluster_nodes", 2.0).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_a_node_serves_its_own_sessions_and_is_not_ready() {
    let mut redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let node = Node::start("solo", &redis, &backend).await;
    let (mut ws, sid) = node.socket("/").await;
    let registry = || redis.keys("socket.io-iogate#sockets#*");
    let deadline = Instant::now() + Duration::from_secs(5);
    while registry().is_empty() {
        assert!(Instant::now() < deadline, "the registry is written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(node.status("/readyz").await, 200);
    metric_becomes(&node, "iogate_cluster_redis_up", 1.0).await;

    redis.stop();
    let deadline = Instant::now() + Duration::from_secs(8);
    while node.status("/readyz").await != 503 {
        assert!(Instant::now() < deadline, "/readyz turns 503 without Redis");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    metric_becomes(&node, "iogate_cluster_redis_up", 0.0).await;
    // The node's own sessions keep working, old and new.
    eio::send_text(&mut ws, r#"42["still here"]"#).await;
    let event = backend.wait_for("event", Some(&sid), 1).await;
    assert_eq!(event[0].body["event"], "still here");
    let (_second, second_sid) = node.socket("/chat").await;
    backend.wait_for("connect", Some(&second_sid), 1).await;

    redis.restart();
    let back = Instant::now();
    while node.status("/readyz").await != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(6),
            "/readyz is 200 again within a few seconds of Redis' return"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
    metric_becomes(&node, "iogate_cluster_redis_up", 1.0).await;
    let metrics = node.metrics().await;
    assert!(metrics.value("iogate_cluster_registry_rewrites_total", &[]) >= 2.0);
}

/// Sends `signal` (`STOP`, `CONT`) to `node`'s process.
fn signal(node: &Node, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(node.child.id().to_string())
        .status()
        .expect("kill runs");
    assert!(status.success(), "kill -{signal}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_declared_departed_while_paused_closes_its_sessions_without_hooks() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let a = Node::start("a", &redis, &backend).await;
    let started = Instant::now();
    let b = Node::start("b", &redis, &backend).await;
    let (mut ws, sid) = b.socket("/").await;
    let (mut engine_ws, engine_sid) = b.engine_session().await;
    backend.wait_for("connect", Some(&sid), 1).await;
    backend.wait_for("open", Some(&engine_sid), 1).await;
    // A survivor declares others departed only once Redis has answered it for 8 s.
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    signal(&b, "STOP");
    backend
        .wait_for_within("disconnect", Some(&sid), 1, Duration::from_secs(15))
        .await;
    backend
        .wait_for_within("close", Some(&engine_sid), 1, Duration::from_secs(15))
        .await;
    signal(&b, "CONT");

    // Back, the node finds it was declared departed: it closes what was reported gone, without hooks.
    eio::frames_until_closed(&mut ws, Duration::from_secs(5)).await;
    eio::frames_until_closed(&mut engine_ws, Duration::from_secs(5)).await;
    metric_becomes(&b, "iogate_cluster_declared_departed_total", 1.0).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        backend.hooks_of("disconnect").len(),
        1,
        "one disconnect hook"
    );
    assert_eq!(backend.hooks_of("close").len(), 1, "one close hook");
    assert_eq!(departed_hooks(&a.metrics().await), 2.0);

    // It goes on serving: a new socket connects and is registered.
    let (_again, again_sid) = b.socket("/").await;
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
    assert_eq!(b.status("/readyz").await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_shuts_down_cleanly_sends_its_own_hooks_and_leaves_nothing_to_survivors() {
    let redis = Redis::start();
    let backend = Backend::start(backend_reply).await;
    let a = Node::start("a", &redis, &backend).await;
    let started = Instant::now();
    let mut b = Node::start("b", &redis, &backend).await;
    let (_ws, sid) = b.socket("/").await;
    backend.wait_for("connect", Some(&sid), 1).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while redis.keys("socket.io-iogate#sockets#*").is_empty() {
        assert!(Instant::now() < deadline, "the registry is written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(9).saturating_sub(started.elapsed())).await;

    signal(&b, "TERM");
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "server shutting down");
    let _ = b.child.wait();
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
    assert_eq!(departed_hooks(&a.metrics().await), 0.0);
    assert_eq!(
        a.metrics()
            .await
            .value("iogate_cluster_departures_total", &[]),
        0.0
    );
    metric_becomes(&a, "iogate_cluster_nodes", 1.0).await;
}
