//! A real Redis for the cluster tests: Debian's `redis-server` on a free loopback port, without persistence, killed
//! when dropped; it can be stopped (its port then refuses connections, as in an outage) and restarted on the same
//! port. Readiness is a raw RESP `PING` over TCP, so the tests need no Redis client of their own.

use super::scratch::{find_program, free_port, fresh_dir, tail};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long `redis-server` may take to answer PING after it starts.
const START_LIMIT: Duration = Duration::from_secs(10);

/// How Redis is installed where it is missing.
const INSTALL: &str = "apt-get install -y redis-server";

/// The `redis-server` binary: `IOGATE_REDIS_SERVER`, else `redis-server` on PATH or in Debian's place; panics with
/// the install command when none exists (the tests that need Redis fail without it, they never skip).
pub fn redis_server_binary() -> PathBuf {
    find_program("IOGATE_REDIS_SERVER", "redis-server").unwrap_or_else(|| {
        panic!(
            "redis-server is not installed: the cluster tests need it (`{INSTALL}`, as .ci/run does), or set \
             IOGATE_REDIS_SERVER to a redis-server binary"
        )
    })
}

/// A running (or stopped) `redis-server` child process.
pub struct Redis {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Redis {
    /// Starts Redis on a free loopback port and waits until it answers PING; retries on another port when the
    /// one picked was taken meanwhile.
    pub fn start() -> Self {
        let binary = redis_server_binary();
        let dir = fresh_dir("redis");
        let mut last_error = String::new();
        for _ in 0..3 {
            let mut redis = Self {
                child: None,
                port: free_port(),
                dir: dir.clone(),
                binary: binary.clone(),
            };
            match redis.launch() {
                Ok(()) => return redis,
                Err(error) => last_error = error,
            }
        }
        panic!("redis-server did not start: {last_error}");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Whether it answers PING with PONG right now.
    pub fn answers_ping(&self) -> bool {
        ping(self.port).is_ok()
    }

    /// Kills it (SIGKILL: an outage, not a shutdown) and waits until it is gone; its port then refuses
    /// connections. Does nothing when already stopped.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port (retrying for a few seconds while the port is not free yet), empty, and
    /// waits until it answers PING.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + START_LIMIT;
        loop {
            match self.launch() {
                Ok(()) => return,
                Err(error) if Instant::now() < deadline => {
                    eprintln!("redis on {}: start again: {error}; retrying", self.port);
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(error) => panic!("redis-server did not restart on {}: {error}", self.port),
            }
        }
    }

    /// The last lines of its log.
    pub fn log_tail(&self) -> String {
        tail(&self.log_path(), 30)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("redis.log")
    }

    /// Spawns `redis-server` on `self.port` and waits for PONG; `Err` with its log when it exits or takes too long.
    fn launch(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .map_err(|e| format!("cannot open {}: {e}", self.log_path().display()))?;
        let stderr = log
            .try_clone()
            .map_err(|e| format!("cannot share the log file: {e}"))?;
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string()])
            .args(["--bind", "127.0.0.1"])
            .args(["--save", ""])
            .args(["--appendonly", "no"])
            .args(["--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| format!("cannot run {} (`{INSTALL}`): {e}", self.binary.display()))?;
        self.child = Some(child);
        self.wait_answering()
    }

    fn wait_answering(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!(
                    "redis-server exited with {status}:\n{}",
                    self.log_tail()
                ));
            }
            let answer = ping(self.port);
            if answer.is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.stop();
                return Err(format!(
                    "no PONG after {START_LIMIT:?} ({answer:?}):\n{}",
                    self.log_tail()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The directory holding its log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Redis {
    /// Kills Redis (also when a test panics); its directory is removed unless the test failed.
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "--- redis log ({})\n{}",
                self.dir.display(),
                self.log_tail()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Sends the inline command `PING` to 127.0.0.1:`port` and expects `+PONG`.
fn ping(port: u16) -> Result<(), String> {
    let limit = Duration::from_millis(500);
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream =
        TcpStream::connect_timeout(&address, limit).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(limit))
        .map_err(|e| format!("timeout: {e}"))?;
    stream
        .write_all(b"PING\r\n")
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = [0u8; 7];
    stream
        .read_exact(&mut answer)
        .map_err(|e| format!("read: {e}"))?;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(format!("answered {:?}", String::from_utf8_lossy(&answer)))
    }
}

/// Asking a test's Redis things the way another process would: `redis-cli`, and raw RESP commands (a binary
/// `PUBLISH`).
impl Redis {
    /// Runs `redis-cli` with `args` against the server; its standard output (empty when it fails).
    pub fn cli(&self, args: &[&str]) -> String {
        Command::new("redis-cli")
            .args(["-h", "127.0.0.1", "-p", &self.port().to_string()])
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

    /// Sends one command over a fresh connection; returns the raw reply.
    pub async fn command(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut connection = tokio::net::TcpStream::connect(("127.0.0.1", self.port()))
            .await
            .expect("connects to redis");
        let mut request = format!("*{}\r\n", parts.len()).into_bytes();
        for part in parts {
            request.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
            request.extend_from_slice(part);
            request.extend_from_slice(b"\r\n");
        }
        tokio::io::AsyncWriteExt::write_all(&mut connection, &request)
            .await
            .expect("redis takes it");
        let mut reply = vec![0u8; 4096];
        let read = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::io::AsyncReadExt::read(&mut connection, &mut reply),
        )
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
