//! A whole deployment for the multi-node tests: the test backend ([`super::sio_backend::respond`]), one Redis,
//! iogate node processes, and nginx in front of them doing plain round-robin.

use super::backend::Backend;
use super::failure::FailureEcho;
use super::nginx::Nginx;
use super::node;
use super::node_config::PATH;
use super::nodes::Nodes;
use super::redis::Redis;
use super::sio_backend;
use serde_json::Value;
use std::time::Duration;

/// The running deployment; everything stops when it is dropped.
pub struct Cluster {
    /// nginx, spreading every request over the nodes in turn.
    pub nginx: Nginx,
    /// The iogate processes.
    pub nodes: Nodes,
    /// The shared Redis (`None` for independent nodes).
    pub redis: Option<Redis>,
    /// The webhook backend all nodes post to.
    pub backend: Backend,
    /// Repeats a failing test's message after every log above has been printed (dropped last).
    failure_echo: FailureEcho,
}

impl Cluster {
    /// `count` nodes sharing one Redis through `[cluster]`, behind round-robin nginx.
    pub async fn start(count: usize) -> Self {
        Self::launch(count, true).await
    }

    /// `count` independent nodes (no `[cluster]`, no Redis) behind round-robin nginx: only clients that need no
    /// sticky sessions (WebSocket-only) work across them.
    pub async fn independent(count: usize) -> Self {
        Self::launch(count, false).await
    }

    async fn launch(count: usize, clustered: bool) -> Self {
        let backend = Backend::start(sio_backend::respond).await;
        let redis = clustered.then(Redis::start);
        let mut nodes = Nodes::start(count, &backend, redis.as_ref()).await;
        nodes.leave_failure_echo_to_owner();
        let nginx = Nginx::round_robin(&nodes.addresses());
        Self {
            nginx,
            nodes,
            redis,
            backend,
            failure_echo: FailureEcho::armed(),
        }
    }

    /// The Redis; panics for independent nodes.
    pub fn redis(&mut self) -> &mut Redis {
        self.redis
            .as_mut()
            .expect("a clustered deployment has Redis")
    }

    /// The URL clients are given: the socket.io endpoint through nginx.
    pub fn client_url(&self) -> String {
        self.nginx.url(&format!("{PATH}/"))
    }

    /// The socket.io endpoint of node `i` itself, bypassing nginx (to place a client on a known node).
    pub fn node_client_url(&self, i: usize) -> String {
        self.nodes.url(i, &format!("{PATH}/"))
    }

    /// The node that made session `sid`: the sender of its one `connect` hook (waited for).
    pub async fn home_of(&self, sid: &str) -> usize {
        let connects = self.backend.wait_for("connect", Some(sid), 1).await;
        assert_eq!(connects.len(), 1, "one connect hook for {sid}");
        self.nodes
            .sender_of(&connects[0])
            .unwrap_or_else(|| panic!("a connect hook from an unknown path {}", connects[0].path))
    }
}

/// Runs the Node ecosystem's `@socket.io/redis-emitter` (`tests/clients/redis_emitter.js`) with `command`; returns
/// its RESULT (checked to have exited 0).
pub async fn redis_emitter(command: &Value) -> Value {
    let run = node::run(
        "redis_emitter.js",
        &[&command.to_string()],
        Duration::from_secs(10),
    )
    .await;
    run.assert_success();
    run.result()
}
