//! Headless Chromium for tests: a small static site to serve pages from, and a browser process that opens one
//! and is killed when dropped. Chromium must be installed (`/usr/bin/chromium`, Debian's `chromium` package, which
//! `.ci/run` installs); a missing browser fails the test, never skips it.

use bytes::Bytes;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use tokio::net::TcpListener;

/// A static site on a loopback port: path -> (content type, body).
pub struct Site {
    /// Where it listens.
    pub address: SocketAddr,
}

impl Site {
    /// Serves `files` (path, content type, body); any other path is 404.
    pub async fn start(files: Vec<(&'static str, &'static str, Vec<u8>)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind site");
        let address = listener.local_addr().expect("site address");
        let files: Arc<HashMap<&'static str, (&'static str, Bytes)>> = Arc::new(
            files
                .into_iter()
                .map(|(path, kind, body)| (path, (kind, Bytes::from(body))))
                .collect(),
        );
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let files = files.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                        let found = files.get(req.uri().path()).cloned();
                        async move {
                            let response = match found {
                                Some((kind, body)) => Response::builder()
                                    .header("content-type", kind)
                                    .body(Full::new(body)),
                                None => Response::builder()
                                    .status(StatusCode::NOT_FOUND)
                                    .body(Full::new(Bytes::new())),
                            };
                            Ok::<_, Infallible>(response.expect("a response"))
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self { address }
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.address, path_and_query)
    }
}

/// The Chromium binary.
pub fn chromium_binary() -> PathBuf {
    let path = PathBuf::from(
        std::env::var("IOGATE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
    );
    assert!(
        path.is_file(),
        "{} is missing: install Debian's `chromium` package (the browser tests need it)",
        path.display()
    );
    path
}

/// A headless Chromium showing one page; killed when dropped.
pub struct Browser {
    child: Child,
    profile: PathBuf,
}

/// The flags every headless Chromium of the tests runs with: no sandbox (containers), no GPU, no first-run or
/// background work.
pub const HEADLESS_FLAGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
];

/// A new, unused profile directory path under the temp dir, named `prefix-<pid>-<random>`.
pub fn fresh_profile(prefix: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "{prefix}-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ))
}

impl Browser {
    /// Opens `url` in a new headless Chromium with a fresh profile.
    pub fn open(url: &str) -> Self {
        let profile = fresh_profile("iogate-chromium");
        let child = Command::new(chromium_binary())
            .args(HEADLESS_FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(url)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        Self { child, profile }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
