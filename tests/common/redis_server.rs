//! A real `redis-server` for a test: started on a free loopback port without persistence, killed when dropped;
//! plus a raw RESP connection to publish and set keys the way another process would.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A running redis-server.
pub struct RedisServer {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
}

impl RedisServer {
    /// Starts one and waits until it answers PING.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(binary())
            .args(["--port", &port.to_string()])
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (Debian package redis-server)");
        let server = Self {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        for _ in 0..100 {
            if let Ok(mut connection) = server.connect().await {
                if command(&mut connection, &[b"PING"]).await.is_ok() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("redis-server on port {port} does not answer");
    }

    /// `redis://ADDR`.
    pub fn url(&self) -> String {
        format!("redis://{}", self.address)
    }

    async fn connect(&self) -> std::io::Result<TcpStream> {
        TcpStream::connect(self.address).await
    }

    /// Sends one command over a fresh connection; returns the raw reply.
    pub async fn command(&self, parts: &[&[u8]]) -> Vec<u8> {
        let mut connection = self.connect().await.expect("connects to redis");
        command(&mut connection, parts)
            .await
            .expect("redis answers")
    }

    /// `PUBLISH channel payload`, as any client would.
    pub async fn publish(&self, channel: &str, payload: &[u8]) {
        let reply = self
            .command(&[b"PUBLISH", channel.as_bytes(), payload])
            .await;
        assert!(reply.starts_with(b":"), "PUBLISH answered {reply:?}");
    }
}

impl RedisServer {
    /// Kills the server now (as `kill -9` would).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// redis-server, from PATH or where Debian installs it.
fn binary() -> &'static str {
    if std::path::Path::new("/usr/bin/redis-server").exists() {
        "/usr/bin/redis-server"
    } else {
        "redis-server"
    }
}

/// Writes `parts` as a RESP array and reads one reply line (with a bulk's body when it is one).
async fn command(connection: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<Vec<u8>> {
    let mut request = format!("*{}\r\n", parts.len()).into_bytes();
    for part in parts {
        request.extend_from_slice(format!("${}\r\n", part.len()).as_bytes());
        request.extend_from_slice(part);
        request.extend_from_slice(b"\r\n");
    }
    connection.write_all(&request).await?;
    let mut reply = vec![0u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(2), connection.read(&mut reply))
        .await
        .map_err(|_| std::io::Error::other("redis timed out"))??;
    reply.truncate(read);
    Ok(reply)
}
