//! The Redis a cluster run shares: Debian's `redis-server` on a free loopback port, without persistence, started
//! and killed by the load generator.

use crate::Res;
use crate::net::free_port;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// A running `redis-server`.
pub struct Redis {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
}

/// Where `redis-server` is: on `PATH`, or where Debian installs it.
fn find_redis_server() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|dir| dir.join("redis-server"))
        .find(|candidate| candidate.is_file())
}

impl Redis {
    /// Starts a fresh `redis-server` (no snapshots, no append-only file) logging into `work_dir`, and waits until
    /// it answers PING.
    pub async fn start(work_dir: &Path) -> Res<Self> {
        let program = find_redis_server().ok_or(
            "the cluster scenarios need redis-server (Debian: apt-get install redis-server); \
             skip them with --no-cluster",
        )?;
        let port = free_port()?;
        std::fs::create_dir_all(work_dir)?;
        let log = std::fs::File::create(work_dir.join("redis.log"))?;
        let child = Command::new(&program)
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .arg("--dir")
            .arg(work_dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
        let redis = Self { child, port };
        redis.wait_ready().await?;
        Ok(redis)
    }

    /// Its process id (0 once it has exited).
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or(0)
    }

    /// The URL nodes are configured with.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn wait_ready(&self) -> Res<()> {
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if self.ping().await.unwrap_or(false) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!(
            "redis-server on port {} did not answer PING in 10 s",
            self.port
        )
        .into())
    }

    async fn ping(&self) -> Res<bool> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).await?;
        stream.write_all(b"PING\r\n").await?;
        let mut answer = [0u8; 7];
        stream.read_exact(&mut answer).await?;
        Ok(&answer == b"+PONG\r\n")
    }

    /// Kills it.
    pub async fn stop(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }
}
