//! A real nginx in front of iogate: a foreground single process with every file in a fresh directory, serving the
//! site a test describes (see [`round_robin_site`] for the cluster's). Its access log names the upstream of every
//! request (`upstream=ADDR`), so a test can see where the requests of a session went. Needs nginx
//! (`apt-get install -y nginx`); without it the tests that use it fail, they never skip.

use super::scratch::{find_program, free_port, fresh_dir};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long nginx may take to start listening.
const START_LIMIT: Duration = Duration::from_secs(10);

/// The nginx binary: `IOGATE_NGINX`, else `nginx` on PATH, else Debian's `/usr/sbin/nginx`; panics when none.
pub fn nginx_binary() -> PathBuf {
    find_program("IOGATE_NGINX", "nginx").unwrap_or_else(|| {
        panic!(
            "nginx is not installed: the tests behind nginx need it (`apt-get install -y nginx`, as .ci/run does), \
             or set IOGATE_NGINX to an nginx binary"
        )
    })
}

/// The whole config: the process settings and the `http` block around `site` (upstreams, maps and one `server`
/// listening on 127.0.0.1:`port`, as the test's site function wrote them).
fn config(dir: &Path, site: &str) -> String {
    let dir = dir.display();
    format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{
    worker_connections 512;
}}
http {{
    log_format with_upstream '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
                             '"$http_referer" "$http_user_agent" upstream=$upstream_addr';
    access_log {dir}/access.log with_upstream;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{site}
}}
"#
    )
}

/// A site spreading every request over `upstreams` in turn (plain round-robin: no `ip_hash`, no stickiness), as a
/// load balancer in front of a cluster does: HTTP/1.1 with keep-alive to the upstreams (an idle one dropped after
/// 20 s, before iogate's 30 s `request_head_timeout` closes it, as docs/deploy-proxies.md advises), WebSocket
/// upgrades passed on, no response buffering (long-polls are answered as they come), and a request that cannot
/// reach one node (refused, reset before its answer began, timed out) tried on the next. It listens on
/// 127.0.0.1:`port`.
pub fn round_robin_site(port: u16, upstreams: &[SocketAddr]) -> String {
    let servers: String = upstreams
        .iter()
        .map(|address| format!("        server {address};\n"))
        .collect();
    format!(
        r#"    map $http_upgrade $connection_upgrade_or_keepalive {{
        default upgrade;
        '' '';
    }}
    upstream iogate_nodes {{
{servers}        keepalive 32;
        keepalive_timeout 20s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://iogate_nodes;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade_or_keepalive;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_buffering off;
            proxy_connect_timeout 2s;
            proxy_read_timeout 60s;
            proxy_next_upstream error timeout;
        }}
    }}"#
    )
}

/// A running nginx child process, killed when dropped (also when a test panics); its directory is removed
/// unless the test failed (its logs stay there to read, and are printed).
pub struct Nginx {
    child: Child,
    /// The port it listens on at 127.0.0.1.
    pub port: u16,
    dir: PathBuf,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            eprintln!(
                "--- nginx error log ({})\n{}",
                self.dir.display(),
                self.error_log()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Nginx {
    /// Starts nginx serving `site(port)` (see [`config`]); retries on another port when the one picked was taken
    /// meanwhile.
    pub fn start(site: impl Fn(u16) -> String) -> Self {
        let binary = nginx_binary();
        let mut last_error = String::new();
        for _ in 0..3 {
            match Self::try_start(&binary, &site) {
                Ok(nginx) => return nginx,
                Err(error) => last_error = error,
            }
        }
        panic!("nginx did not start: {last_error}");
    }

    /// Starts nginx spreading requests over `upstreams` round-robin ([`round_robin_site`]).
    pub fn round_robin(upstreams: &[SocketAddr]) -> Self {
        Self::start(|port| round_robin_site(port, upstreams))
    }

    fn try_start(binary: &Path, site: &impl Fn(u16) -> String) -> Result<Self, String> {
        let dir = fresh_dir("nginx");
        let port = free_port();
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(&dir, &site(port))).expect("write nginx.conf");
        let child = Command::new(binary)
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot run {} (is nginx installed? `apt-get install -y nginx`): {e}",
                    binary.display()
                )
            })?;
        let mut nginx = Self { child, port, dir };
        nginx.wait_listening()?;
        Ok(nginx)
    }

    /// Waits until nginx accepts connections; `Err` with its error log when it exits or takes too long.
    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_LIMIT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("nginx exited with {status}:\n{}", self.error_log()));
            }
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "nginx not listening after {START_LIMIT:?}:\n{}",
                    self.error_log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `http://127.0.0.1:PORT{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.port)
    }

    /// Its error log so far.
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default()
    }

    /// Its access log so far (one line per finished request, ending in `upstream=ADDR[, ADDR...]`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// The upstream address each finished request whose log line contains `needle` went to, in order (a request
    /// nginx tried on several upstreams counts for the last one).
    pub fn upstreams_of(&self, needle: &str) -> Vec<String> {
        self.requests_of(needle)
            .into_iter()
            .filter_map(|request| request.upstreams.last().cloned())
            .collect()
    }

    /// The finished requests whose access log line contains `needle`, in the order they finished.
    pub fn requests_of(&self, needle: &str) -> Vec<LoggedRequest> {
        self.access_log()
            .lines()
            .filter(|line| line.contains(needle))
            .filter_map(LoggedRequest::parse)
            .collect()
    }
}

/// One line of the access log: a request as it finished (a WebSocket when its connection closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// The request line, e.g. `POST /socket.io/?EIO=4&transport=polling&sid=... HTTP/1.1`.
    pub request: String,
    /// The status nginx answered with (101 for a WebSocket, 502 when no upstream answered, 499 when the client
    /// gave up first).
    pub status: u16,
    /// The upstreams nginx tried, in order (`proxy_next_upstream` moves on after an error).
    pub upstreams: Vec<String>,
}

impl LoggedRequest {
    /// Reads a line of the `with_upstream` format; `None` for any other line.
    fn parse(line: &str) -> Option<Self> {
        let (_, quoted) = line.split_once('"')?;
        let (request, rest) = quoted.split_once('"')?;
        let status = rest.split_whitespace().next()?.parse().ok()?;
        let (_, tried) = line.rsplit_once("upstream=")?;
        Some(Self {
            request: request.to_string(),
            status,
            upstreams: tried.split(", ").map(str::to_string).collect(),
        })
    }
}
