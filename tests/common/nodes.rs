//! Several iogate **processes** (the built binary, as operators run it), each with its own config file, log file
//! and ports: the nodes of a cluster sharing one Redis, or independent nodes without `[cluster]`. Node `i` (from 0)
//! is `n<i+1>` and posts its webhooks to `/hook/n<i+1>` at the test backend, so a hook tells which node sent it.
//! Each node's stdout and stderr go to a file, whose tail is printed when a test fails. A test can end a node as
//! a crash does (SIGKILL), as an operator does (SIGTERM), or pause and resume it (SIGSTOP, SIGCONT).

use super::api::Api;
use super::backend::{Backend, Hook};
use super::failure::FailureEcho;
use super::node_config::{NodeConfig, NodeOptions};
use super::redis::Redis;
use super::scratch::{free_port, fresh_dir, tail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

/// How long a node may take to answer `GET /readyz` with 200 after it starts.
const READY_LIMIT: Duration = Duration::from_secs(15);

/// How long a node may take to exit after SIGTERM (it closes its sessions and sends their hooks first).
const EXIT_LIMIT: Duration = Duration::from_secs(20);

/// How many lines of a node's log a failure shows.
const TAIL_LINES: usize = 40;

/// One node process.
struct Node {
    config: NodeConfig,
    child: Option<Child>,
    log: PathBuf,
}

/// The running nodes, killed when dropped.
pub struct Nodes {
    nodes: Vec<Node>,
    dir: PathBuf,
    http: reqwest::Client,
    /// Repeats a failing test's message after the nodes' logs (dropped after [`Nodes`]' own drop prints them).
    failure_echo: FailureEcho,
}

/// The id of node `i`.
pub fn node_id(i: usize) -> String {
    format!("n{}", i + 1)
}

impl Nodes {
    /// Starts `count` nodes relaying to `backend`, sharing `redis` in `[cluster]` (none: independent nodes without
    /// `[cluster]`), and waits until each answers `GET /readyz` with 200. Panics, with the node's log, when one
    /// exits or is not ready in time.
    pub async fn start(count: usize, backend: &Backend, redis: Option<&Redis>) -> Self {
        Self::start_with(count, backend, redis, NodeOptions::default()).await
    }

    /// Like [`Nodes::start`], each node serving and pinging as `options` say.
    pub async fn start_with(
        count: usize,
        backend: &Backend,
        redis: Option<&Redis>,
        options: NodeOptions,
    ) -> Self {
        let dir = fresh_dir("nodes");
        let mut nodes = Self {
            nodes: Vec::new(),
            dir,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()
                .expect("HTTP client"),
            failure_echo: FailureEcho::armed(),
        };
        for i in 0..count {
            let node_id = node_id(i);
            let config = NodeConfig {
                webhook: format!("http://{}/hook/{node_id}", backend.address),
                node_id,
                port: free_port(),
                api_port: free_port(),
                redis: redis.map(Redis::url),
                options,
            };
            let log = nodes.dir.join(format!("{}.log", config.node_id));
            nodes.nodes.push(Node {
                config,
                child: None,
                log,
            });
        }
        for i in 0..count {
            nodes.spawn(i);
        }
        for i in 0..count {
            nodes.wait_started(i).await;
        }
        nodes
    }

    /// How many nodes there are (killed ones included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The id of node `i` (`n1`, `n2`, ...).
    pub fn id(&self, i: usize) -> &str {
        &self.nodes[i].config.node_id
    }

    /// The public listener of node `i`.
    pub fn address(&self, i: usize) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.nodes[i].config.port))
    }

    /// The public listeners of every node, in order.
    pub fn addresses(&self) -> Vec<SocketAddr> {
        (0..self.len()).map(|i| self.address(i)).collect()
    }

    /// `http://NODE{path_and_query}` on node `i`'s public listener.
    pub fn url(&self, i: usize, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.address(i))
    }

    /// `ws://NODE{path_and_query}` on node `i`'s public listener.
    pub fn ws_url(&self, i: usize, path_and_query: &str) -> String {
        format!("ws://{}{path_and_query}", self.address(i))
    }

    /// `http://API{path_and_query}` on node `i`'s push API.
    pub fn api_url(&self, i: usize, path_and_query: &str) -> String {
        format!(
            "http://127.0.0.1:{}{path_and_query}",
            self.nodes[i].config.api_port
        )
    }

    /// A push API client for node `i`.
    pub fn api(&self, i: usize) -> Api {
        Api::at(self.api_url(i, ""))
    }

    /// The webhook path node `i` posts to.
    pub fn webhook_path(&self, i: usize) -> String {
        format!("/hook/{}", self.id(i))
    }

    /// Which node sent `hook` (by its path).
    pub fn sender_of(&self, hook: &Hook) -> Option<usize> {
        (0..self.len()).find(|&i| hook.path == self.webhook_path(i))
    }

    /// Kills node `i` with SIGKILL (`Child::kill` on Unix): no shutdown, no goodbye to its peers or clients.
    pub fn kill9(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends SIGTERM to node `i`: it shuts down as an operator's stop makes it (see [`Nodes::wait_exit`]).
    pub fn terminate(&self, i: usize) {
        self.signal(i, "TERM");
    }

    /// Pauses node `i` with SIGSTOP: its process stays, its sockets stay open, and it answers nothing.
    pub fn pause(&self, i: usize) {
        self.signal(i, "STOP");
    }

    /// Resumes node `i`, paused by [`Nodes::pause`], with SIGCONT.
    pub fn resume(&self, i: usize) {
        self.signal(i, "CONT");
    }

    /// Waits until node `i`'s process has exited (after [`Nodes::terminate`]); returns how. Panics, with its log,
    /// when it is still running after a while.
    pub async fn wait_exit(&mut self, i: usize) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + EXIT_LIMIT;
        let id = self.id(i).to_string();
        loop {
            let child = self.nodes[i]
                .child
                .as_mut()
                .unwrap_or_else(|| panic!("node {id} was already ended"));
            if let Some(status) = child.try_wait().expect("wait for a node") {
                self.nodes[i].child = None;
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {id} still runs {EXIT_LIMIT:?} after SIGTERM\n{}",
                self.log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Sends `SIG<name>` to node `i`'s process; panics when it is not running.
    fn signal(&self, i: usize, name: &str) {
        let child = self.nodes[i]
            .child
            .as_ref()
            .unwrap_or_else(|| panic!("node {} is not running", self.id(i)));
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(child.id().to_string())
            .status()
            .unwrap_or_else(|e| panic!("cannot run kill: {e}"));
        assert!(status.success(), "kill -{name} node {}", self.id(i));
    }

    /// The status of `GET /readyz` on node `i`'s public listener; `None` when it does not answer.
    pub async fn readyz(&self, i: usize) -> Option<u16> {
        let response = self.http.get(self.url(i, "/readyz")).send().await.ok()?;
        Some(response.status().as_u16())
    }

    /// Waits until `GET /readyz` on node `i` answers `status`; panics after `limit`, with the node's log.
    pub async fn wait_readyz(&self, i: usize, status: u16, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let answer = self.readyz(i).await;
            if answer == Some(status) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {} answered GET /readyz with {answer:?}, not {status}, for {limit:?}\n{}",
                self.id(i),
                self.log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of node `i`'s log, headed by its id and config file.
    pub fn log_tail(&self, i: usize) -> String {
        let node = &self.nodes[i];
        format!(
            "--- node {} ({}, config {}):\n{}",
            node.config.node_id,
            node.log.display(),
            self.config_path(i).display(),
            tail(&node.log, TAIL_LINES)
        )
    }

    /// Leaves repeating a failing test's message to the deployment these nodes are part of, which drops them
    /// before other logs (Redis's) are printed.
    pub fn leave_failure_echo_to_owner(&mut self) {
        self.failure_echo.disarm();
    }

    /// Every node's [`Nodes::log_tail`].
    pub fn log_tails(&self) -> String {
        (0..self.len())
            .map(|i| self.log_tail(i))
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn config_path(&self, i: usize) -> PathBuf {
        self.dir
            .join(format!("{}.toml", self.nodes[i].config.node_id))
    }

    /// Writes node `i`'s config and starts its process, stdout and stderr appended to its log.
    fn spawn(&mut self, i: usize) {
        let config_path = self.config_path(i);
        let node = &mut self.nodes[i];
        std::fs::write(&config_path, node.config.toml())
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", config_path.display()));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", node.log.display()));
        let stderr = log.try_clone().expect("share the log file");
        let child = Command::new(env!("CARGO_BIN_EXE_iogate"))
            .arg("--config")
            .arg(&config_path)
            .env_remove("PORT")
            .env_remove("ASPNETCORE_PORT")
            .env_remove("HTTP_PLATFORM_PORT")
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start iogate: {e}"));
        node.child = Some(child);
    }

    /// Waits until node `i` is ready; a node that exits because a port it was given was taken meanwhile is
    /// started again on new ports (twice at most); any other exit fails the test with the node's log.
    async fn wait_started(&mut self, i: usize) {
        let deadline = tokio::time::Instant::now() + READY_LIMIT;
        let mut port_retries = 2;
        loop {
            if self.readyz(i).await == Some(200) {
                return;
            }
            let exited = self.nodes[i]
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.nodes[i].child = None;
                let log = tail(&self.nodes[i].log, TAIL_LINES);
                if port_retries > 0 && log.to_lowercase().contains("in use") {
                    port_retries -= 1;
                    self.nodes[i].config.port = free_port();
                    self.nodes[i].config.api_port = free_port();
                    self.spawn(i);
                    continue;
                }
                panic!(
                    "node {} exited with {status} before it was ready\n{}",
                    self.id(i),
                    self.log_tail(i)
                );
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {} did not answer GET /readyz with 200 within {READY_LIMIT:?}\n{}",
                self.id(i),
                self.log_tail(i)
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for Nodes {
    /// Kills every node (also when a test panics, then printing their logs' tails); the directory is removed
    /// unless the test failed.
    fn drop(&mut self) {
        for i in 0..self.len() {
            self.kill9(i);
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log_tails());
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
