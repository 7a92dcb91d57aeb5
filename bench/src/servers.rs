//! The processes the benchmarks run: the webhook backend, and iogate or the Node reference (a fresh one per
//! scenario, so memory and CPU readings start clean).

use crate::client::{Endpoint, HttpConn};
use crate::net::{Sources, free_port};
use crate::procfs;
use crate::{Error, Res};
use bytes::Bytes;
use http::Method;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server under test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// iogate, relaying to the webhook backend.
    Iogate,
    /// The Node socket.io reference app, relaying to the same backend.
    Node,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Iogate => "iogate",
            Kind::Node => "node",
        })
    }
}

/// Where the programs are.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The iogate binary.
    pub iogate: PathBuf,
    /// The webhook backend binary.
    pub backend: PathBuf,
    /// The `node` executable.
    pub node: PathBuf,
    /// The Node reference app's directory (holding `server.js` and its `node_modules`).
    pub node_app: PathBuf,
    /// Where configs and logs go.
    pub work_dir: PathBuf,
}

/// Heartbeat settings, the same for both servers.
#[derive(Clone, Copy, Debug)]
pub struct Heartbeat {
    /// Time between server pings.
    pub interval: Duration,
    /// Time a client has to answer.
    pub timeout: Duration,
}

/// The webhook backend, shared by every scenario of a run.
pub struct Backend {
    child: Option<Child>,
    /// Its listener.
    pub addr: SocketAddr,
    /// Its process id.
    pub pid: u32,
}

/// Hook counts the backend has answered.
#[derive(Debug, Default, Clone, Copy, serde::Deserialize)]
pub struct HookCounts {
    /// `connect` hooks.
    pub connect: u64,
    /// `event` hooks.
    pub event: u64,
    /// `disconnect` hooks.
    pub disconnect: u64,
}

impl Backend {
    /// Starts the backend on a free port.
    pub async fn start(tools: &Tools) -> Res<Self> {
        let mut command = Command::new(&tools.backend);
        command.args(["--listen", "127.0.0.1:0"]);
        let (child, pid, addr) = spawn_listening(
            command,
            &format!("backend {}", tools.backend.display()),
            Duration::from_secs(10),
        )
        .await?;
        Ok(Self {
            child: Some(child),
            addr,
            pid,
        })
    }

    /// A backend started elsewhere (for `bench-loadgen scenario`).
    pub fn attach(addr: SocketAddr, pid: u32) -> Self {
        Self {
            child: None,
            addr,
            pid,
        }
    }

    /// The URL hooks are POSTed to.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    /// The hook counts so far.
    pub async fn counts(&self) -> Res<HookCounts> {
        let mut conn = HttpConn::open(&Sources::loopback(0), self.addr).await?;
        let (_, body) = conn
            .request(Method::GET, "/stats", &[], Bytes::new())
            .await?;
        Ok(serde_json::from_slice(&body)?)
    }

    /// Stops the backend.
    pub async fn stop(mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// A running server under test.
pub struct Server {
    /// Which one.
    pub kind: Kind,
    child: Option<Child>,
    /// Its process id (the one /proc readings are taken from).
    pub pid: u32,
    /// Where clients connect.
    pub endpoint: Endpoint,
    /// iogate's push API, or the Node app's control listener.
    control: SocketAddr,
    api: tokio::sync::Mutex<Option<HttpConn>>,
}

const API_TOKEN: &str = "bench-token";

/// A server's place in a cluster sharing one Redis.
#[derive(Clone, Debug)]
pub struct Member {
    /// The Redis every node names (`redis://127.0.0.1:PORT`).
    pub redis_url: String,
    /// This node's number, from 1.
    pub node: usize,
}

impl Server {
    /// Starts a fresh server of `kind` relaying to `backend`, and waits until it answers.
    pub async fn start(
        tools: &Tools,
        kind: Kind,
        backend: &Backend,
        heartbeat: Heartbeat,
    ) -> Res<Self> {
        Self::start_member(tools, kind, backend, heartbeat, None).await
    }

    /// Starts a fresh server of `kind`, alone or as `member` of a cluster (iogate: a `[cluster]` section; Node: the
    /// Redis adapter), and waits until it answers.
    pub async fn start_member(
        tools: &Tools,
        kind: Kind,
        backend: &Backend,
        heartbeat: Heartbeat,
        member: Option<&Member>,
    ) -> Res<Self> {
        Self::launch(tools, kind, backend, heartbeat, member, None).await
    }

    /// Starts a fresh server of `kind` alone with connection state recovery on, sessions kept for `window` after
    /// their connection drops (iogate: the endpoint's `recovery` with `max_disconnection`; Node:
    /// `connectionStateRecovery` with `maxDisconnectionDuration`), and waits until it answers.
    pub async fn start_recovering(
        tools: &Tools,
        kind: Kind,
        backend: &Backend,
        heartbeat: Heartbeat,
        window: Duration,
    ) -> Res<Self> {
        Self::launch(tools, kind, backend, heartbeat, None, Some(window)).await
    }

    async fn launch(
        tools: &Tools,
        kind: Kind,
        backend: &Backend,
        heartbeat: Heartbeat,
        member: Option<&Member>,
        recovery: Option<Duration>,
    ) -> Res<Self> {
        let port = free_port()?;
        let control_port = free_port()?;
        std::fs::create_dir_all(&tools.work_dir)?;
        let name = match member {
            Some(member) => format!("{kind}-{}", member.node),
            None => kind.to_string(),
        };
        let log_path = tools.work_dir.join(format!("{name}.log"));
        let log = std::fs::File::create(&log_path)?;
        let mut command = match kind {
            Kind::Iogate => {
                let config = tools.work_dir.join(format!("{name}.toml"));
                let mut text = iogate_config(port, control_port, &backend.url(), heartbeat);
                if let Some(window) = recovery {
                    text.push_str(&recovery_config(window));
                }
                if let Some(member) = member {
                    text.push_str(&cluster_config(member));
                }
                std::fs::write(&config, text)?;
                let mut command = Command::new(&tools.iogate);
                command.arg("--config").arg(&config);
                command
            }
            Kind::Node => {
                let mut command = Command::new(&tools.node);
                command
                    .arg("--expose-gc")
                    .arg(tools.node_app.join("server.js"))
                    .env("PORT", port.to_string())
                    .env("CONTROL_PORT", control_port.to_string())
                    .env("WEBHOOK", backend.url())
                    .env("PATH_PREFIX", "/socket.io")
                    .env(
                        "PING_INTERVAL_MS",
                        heartbeat.interval.as_millis().to_string(),
                    )
                    .env("PING_TIMEOUT_MS", heartbeat.timeout.as_millis().to_string())
                    .env("NODE_ENV", "production");
                if let Some(window) = recovery {
                    command.env(
                        "RECOVERY_MAX_DISCONNECTION_MS",
                        window.as_millis().to_string(),
                    );
                }
                if let Some(member) = member {
                    command.env("REDIS_URL", &member.redis_url);
                }
                command
            }
        };
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {kind}: {e}"))?;
        let pid = child.id().ok_or("server exited at once")?;
        let server = Self {
            kind,
            child: Some(child),
            pid,
            endpoint: Endpoint {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                path: "/socket.io/".to_string(),
            },
            control: SocketAddr::from(([127, 0, 0, 1], control_port)),
            api: tokio::sync::Mutex::new(None),
        };
        server.wait_ready(&log_path, member.is_some()).await?;
        Ok(server)
    }

    /// Waits until the server answers its health check (a cluster node: its readiness, which needs Redis).
    async fn wait_ready(&self, log_path: &std::path::Path, clustered: bool) -> Res<()> {
        let (addr, path) = match (self.kind, clustered) {
            (Kind::Iogate, false) => (self.endpoint.addr, "/healthz"),
            (Kind::Iogate, true) => (self.endpoint.addr, "/readyz"),
            (Kind::Node, _) => (self.control, "/ready"),
        };
        let started = Instant::now();
        let mut last: Option<Error> = None;
        while started.elapsed() < Duration::from_secs(15) {
            match HttpConn::open(&Sources::loopback(0), addr).await {
                Ok(mut conn) => match conn.request(Method::GET, path, &[], Bytes::new()).await {
                    Ok((200, _)) => return Ok(()),
                    Ok((status, _)) => last = Some(format!("HTTP {status}").into()),
                    Err(error) => last = Some(error),
                },
                Err(error) => last = Some(error),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let log = std::fs::read_to_string(log_path).unwrap_or_default();
        Err(format!(
            "{} did not become ready in 15 s ({}); its log:\n{log}",
            self.kind,
            last.map(|e| e.to_string()).unwrap_or_default()
        )
        .into())
    }

    /// Starts the minimal relay server (`bench-loadgen minimal-server`: this executable, as many worker threads as
    /// cores) relaying to `backend` on a port of its choosing, and waits until it says it listens. Its clients take
    /// iogate's paths; it has no control listener and answers no server-side emits.
    pub async fn start_minimal(backend: &Backend) -> Res<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["minimal-server", "--listen", "127.0.0.1:0", "--backend"])
            .arg(backend.addr.to_string())
            .stdin(Stdio::null());
        let (child, pid, addr) =
            spawn_listening(command, "the minimal relay server", Duration::from_secs(15)).await?;
        Ok(Self {
            kind: Kind::Iogate,
            child: Some(child),
            pid,
            endpoint: Endpoint {
                addr,
                path: "/socket.io/".to_string(),
            },
            control: addr,
            api: tokio::sync::Mutex::new(None),
        })
    }

    /// A server started elsewhere (for `bench-loadgen scenario`): its pid, client listener, and push API (iogate)
    /// or control listener (Node).
    pub fn attach(kind: Kind, pid: u32, addr: SocketAddr, control: SocketAddr) -> Self {
        Self {
            kind,
            child: None,
            pid,
            endpoint: Endpoint {
                addr,
                path: "/socket.io/".to_string(),
            },
            control,
            api: tokio::sync::Mutex::new(None),
        }
    }

    /// One server-side emit of `event` with `args` (a JSON array's items) to every socket in `room`: iogate's
    /// `POST /v1/emit`, or the Node app's `io.to(room).emit(...)` through its control listener.
    pub async fn emit_to_room(&self, room: &str, event: &str, args: &str) -> Res<()> {
        self.emit_to_room_answer(room, event, args)
            .await
            .map(|_| ())
    }

    /// [`Server::emit_to_room`], returning the answer's body (iogate's counts, with `nodes` in a cluster).
    pub async fn emit_to_room_answer(&self, room: &str, event: &str, args: &str) -> Res<String> {
        let body = format!(
            r#"{{"to":{{"rooms":[{}]}},"event":{},"args":[{args}]}}"#,
            serde_json::to_string(room)?,
            serde_json::to_string(event)?
        );
        let (path, auth) = match self.kind {
            Kind::Iogate => ("/v1/emit", format!("Bearer {API_TOKEN}")),
            Kind::Node => ("/emit", String::new()),
        };
        let mut api = self.api.lock().await;
        if api.is_none() {
            *api = Some(HttpConn::open(&Sources::loopback(0), self.control).await?);
        }
        let conn = api.as_mut().ok_or("no api connection")?;
        let mut headers = vec![("content-type", "application/json")];
        if !auth.is_empty() {
            headers.push(("authorization", auth.as_str()));
        }
        let (status, answer) = conn
            .request(Method::POST, path, &headers, Bytes::from(body))
            .await?;
        if status != 200 {
            *api = None;
            return Err(format!(
                "emit answered HTTP {status}: {}",
                String::from_utf8_lossy(&answer)
            )
            .into());
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    /// Sessions the server keeps for connection state recovery now: iogate's `iogate_recovery_parked` gauge of
    /// the endpoint (push API `GET /metrics`), or the size of the Node adapter's session table (control listener
    /// `GET /parked`).
    pub async fn parked(&self) -> Res<usize> {
        let (path, auth) = match self.kind {
            Kind::Iogate => ("/metrics", format!("Bearer {API_TOKEN}")),
            Kind::Node => ("/parked", String::new()),
        };
        let mut conn = HttpConn::open(&Sources::loopback(0), self.control).await?;
        let mut headers = Vec::new();
        if !auth.is_empty() {
            headers.push(("authorization", auth.as_str()));
        }
        let (status, body) = conn
            .request(Method::GET, path, &headers, Bytes::new())
            .await?;
        if status != 200 {
            return Err(format!("{path} answered HTTP {status}").into());
        }
        let text = std::str::from_utf8(&body)?;
        match self.kind {
            Kind::Iogate => parked_gauge(text),
            Kind::Node => {
                let answer: serde_json::Value = serde_json::from_str(text)?;
                answer["parked"]
                    .as_u64()
                    .map(|n| n as usize)
                    .ok_or_else(|| format!("no parked count in {text:?}").into())
            }
        }
    }

    /// Asks the Node app to run a full garbage collection (before memory is read); nothing for iogate.
    pub async fn collect_garbage(&self) {
        if self.kind == Kind::Node {
            if let Ok(mut conn) = HttpConn::open(&Sources::loopback(0), self.control).await {
                let _ = conn.request(Method::POST, "/gc", &[], Bytes::new()).await;
            }
        }
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => procfs::cpu_seconds(self.pid).is_some(),
        }
    }

    /// Kills the server (it was started for one scenario; nothing needs a graceful end).
    pub async fn stop(mut self) {
        self.api.get_mut().take();
        if let Some(child) = self.child.as_mut() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
    }
}

/// Spawns `command` (killed on drop; its stderr inherited), a process that binds a listener and prints
/// `listening <addr>` on its first line of stdout, and waits up to `within` for that line; answers the child, its
/// pid and the address. The rest of its stdout is read and dropped so that it never blocks on a full pipe.
async fn spawn_listening(
    mut command: Command,
    what: &str,
    within: Duration,
) -> Res<(Child, u32, SocketAddr)> {
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {what}: {e}"))?;
    let pid = child.id().ok_or_else(|| format!("{what} exited"))?;
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| format!("no stdout from {what}"))?;
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(within, lines.next_line())
        .await
        .map_err(|_| format!("{what} did not start in {} s", within.as_secs()))??
        .ok_or_else(|| format!("{what} exited before listening"))?;
    let addr = line
        .strip_prefix("listening ")
        .ok_or_else(|| format!("unexpected output from {what}: {line:?}"))?
        .parse()?;
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, pid, addr))
}

/// The iogate config every benchmark scenario runs with: a server on `port`, the push API on `api_port` (token
/// `bench-token`), one Socket.IO endpoint at `/socket.io` whose webhook is `webhook`, both transports.
pub fn iogate_config(port: u16, api_port: u16, webhook: &str, heartbeat: Heartbeat) -> String {
    format!(
        r#"# Written by bench-loadgen for one benchmark scenario.
[server]
listen = "127.0.0.1:{port}"
shutdown_timeout = "1s"

[api]
listen = "127.0.0.1:{api_port}"
token = "{API_TOKEN}"

[log]
level = "warn"

[[endpoint]]
path = "/socket.io"
protocol = "socket.io"
webhook = "{webhook}"
namespaces = ["/"]
ping_interval = "{}ms"
ping_timeout = "{}ms"
transports = ["polling", "websocket"]
webhook_timeout = "5s"
"#,
        heartbeat.interval.as_millis(),
        heartbeat.timeout.as_millis()
    )
}

/// The endpoint's `recovery` key (appended after its other keys): offsets for clients that ask with `recovery=1`,
/// the default replay log bound.
fn recovery_config(window: Duration) -> String {
    format!(
        "recovery = {{ max_disconnection = \"{}ms\" }}\n",
        window.as_millis()
    )
}

/// The value of `iogate_recovery_parked` for the benchmark's endpoint in an OpenMetrics text.
fn parked_gauge(metrics: &str) -> Res<usize> {
    const SERIES: &str = "iogate_recovery_parked{endpoint=\"/socket.io\"}";
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(SERIES))
        .and_then(|value| value.trim().parse::<f64>().ok())
        .map(|value| value as usize)
        .ok_or_else(|| format!("no {SERIES} in the metrics").into())
}

/// The `[cluster]` section of a node: every node names the same Redis; the peer timeout is iogate's default.
fn cluster_config(member: &Member) -> String {
    format!(
        r#"
[cluster]
redis = "{}"
node_id = "bench-{}"
"#,
        member.redis_url, member.node
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parked_gauge_is_read_from_the_endpoint_series() {
        let text = "# TYPE iogate_recovery_parked gauge\n\
                    iogate_recovery_parked{endpoint=\"/other\"} 7\n\
                    iogate_recovery_parked{endpoint=\"/socket.io\"} 42\n# EOF\n";
        assert_eq!(parked_gauge(text).ok(), Some(42));
        assert!(parked_gauge("# EOF\n").is_err());
    }

    #[test]
    fn the_recovery_key_follows_the_endpoint() {
        let config = format!(
            "{}{}",
            iogate_config(
                1,
                2,
                "http://127.0.0.1:3/hook",
                Heartbeat {
                    interval: Duration::from_secs(25),
                    timeout: Duration::from_secs(20),
                }
            ),
            recovery_config(Duration::from_secs(120))
        );
        assert!(config.ends_with(
            "webhook_timeout = \"5s\"\nrecovery = { max_disconnection = \"120000ms\" }\n"
        ));
    }
}
