//! A real `redis-server` for a test: on a free loopback port, without persistence, killed when dropped; it can be
//! stopped and started again on the same port (an outage), asked things through `redis-cli`, and sent raw RESP
//! commands (a binary `PUBLISH` the way another process would).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running (or stopped) redis-server of one test.
pub struct RedisServer {
    /// The port it listens on, the same across restarts.
    pub port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts one on a free loopback port; panics when it does not answer within 10 s.
    pub fn start() -> Self {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            listener.local_addr().expect("address").port()
        };
        let mut server = Self { port, child: None };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills the server (SIGKILL: nothing is saved, as after a crash).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port, empty; panics when it does not answer within 10 s.
    pub fn restart(&mut self) {
        self.stop();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (Debian package redis-server)");
        self.child = Some(child);
        let started = Instant::now();
        while self.cli(&["PING"]).trim() != "PONG" {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not answer on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `redis-cli` with `args` against the server; its standard output (empty when it fails).
    pub fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string()])
            .args(args)
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
            .unwrap_or_default()
    }

    /// The keys matching `pattern` (SCAN, not KEYS).
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let out = self.cli(&["--scan", "--pattern", pattern]);
        out.lines().map(str::to_string).collect()
    }
}

impl RedisServer {
    /// Sends one command over a fresh connection; returns the raw reply.
    pub async fn command(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut connection = TcpStream::connect(("127.0.0.1", self.port))
            .await
            .expect("connects to redis");
        let mut request = format!("*{}\r\n", parts.len()).into_bytes();
        for part in parts {
            request.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            request.extend_from_slice(part);
            request.extend_from_slice(b"\r\n");
        }
        connection
            .write_all(&request)
            .await
            .expect("redis takes it");
        let mut reply = vec![0u8; 4096];
        let read = tokio::time::timeout(Duration::from_secs(2), connection.read(&mut reply))
            .await
            .expect("redis answers in time")
            .expect("redis answers");
        reply.truncate(read);
        reply
    }

    /// `PUBLISH channel payload`, as any client would.
    pub async fn publish(&self, channel: &str, payload: &[u8]) {
        let reply = self
            .command(&[b"PUBLISH", channel.as_bytes(), payload])
            .await;
        assert!(reply.starts_with(b":"), "PUBLISH answered {reply:?}");
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
