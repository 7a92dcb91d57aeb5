//! The listener's own HTTP/1.1 path for bodyless requests, spoken to over raw TCP: keep-alive across GETs and
//! POSTs (a POST goes through hyper and the connection comes back), pipelining, HTTP/1.0, `Connection: close`,
//! `HEAD`, malformed and oversized heads, and the head timeout on idle and half-sent heads.

use crate::common;
use common::{Backend, Gateway};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// One response read off a raw connection.
#[derive(Debug)]
struct Raw {
    status_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Raw {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A raw connection with the bytes read past the last response.
struct RawConnection {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl RawConnection {
    async fn open(gateway: &Gateway) -> Self {
        Self {
            stream: TcpStream::connect(gateway.address).await.unwrap(),
            pending: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn fill(&mut self) -> usize {
        let mut buf = [0u8; 4096];
        let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut buf))
            .await
            .expect("the gateway answers in time")
            .unwrap_or(0);
        self.pending.extend_from_slice(&buf[..n]);
        n
    }

    /// Reads one response; `head_request` when it answers a HEAD (no body follows its length).
    async fn response(&mut self, head_request: bool) -> Raw {
        let end = loop {
            if let Some(at) = self.pending.windows(4).position(|w| w == b"\r\n\r\n") {
                break at;
            }
            assert!(self.fill().await > 0, "connection closed before a response");
        };
        let head = String::from_utf8(self.pending[..end].to_vec()).unwrap();
        self.pending.drain(..end + 4);
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap().to_string();
        let headers: Vec<(String, String)> = lines
            .map(|line| {
                let (name, value) = line.split_once(": ").unwrap();
                (name.to_string(), value.to_string())
            })
            .collect();
        let mut raw = Raw {
            status_line,
            headers,
            body: String::new(),
        };
        let length: usize = if head_request {
            0
        } else {
            raw.header("content-length")
                .map(|v| v.parse().unwrap())
                .unwrap_or(0)
        };
        while self.pending.len() < length {
            assert!(self.fill().await > 0, "connection closed inside a body");
        }
        raw.body = String::from_utf8(self.pending.drain(..length).collect()).unwrap();
        raw
    }

    /// Whether the gateway closes the connection (EOF or reset) within `limit`, with nothing more sent.
    async fn closed_within(&mut self, limit: Duration) -> bool {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(limit, self.stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => true,
            Ok(Ok(n)) => panic!("unexpected bytes: {:?}", String::from_utf8_lossy(&buf[..n])),
            Err(_) => false,
        }
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

fn post(path: &str, body: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

async fn echo_gateway(extra: &str) -> (Backend, Gateway) {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), extra).await;
    (backend, gateway)
}

fn sid_of(open: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(open.strip_prefix('0').unwrap()).unwrap();
    json["sid"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn several_gets_share_one_keep_alive_connection() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    for path in ["/healthz", "/readyz", "/healthz", "/nowhere"] {
        conn.send(get(path).as_bytes()).await;
        let answer = conn.response(false).await;
        let expected = match path {
            "/healthz" => ("HTTP/1.1 200 OK", "ok"),
            "/readyz" => ("HTTP/1.1 200 OK", "ready"),
            _ => ("HTTP/1.1 404 Not Found", "Not Found"),
        };
        assert_eq!(
            (answer.status_line.as_str(), answer.body.as_str()),
            expected
        );
        assert_eq!(
            answer.header("content-type"),
            Some("text/plain; charset=UTF-8")
        );
        assert_eq!(answer.header("cache-control"), Some("no-store"));
        assert!(answer.header("date").is_some(), "{answer:?}");
        assert_eq!(answer.header("connection"), None);
    }
    assert!(!conn.closed_within(Duration::from_millis(200)).await);
}

/// A whole polling session on one connection: GETs on the own path, POSTs through hyper, back and forth.
#[tokio::test]
async fn a_polling_session_alternates_gets_and_posts_on_one_connection() {
    let (backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(get("/engine.io/?EIO=4&transport=polling").as_bytes())
        .await;
    let open = conn.response(false).await;
    assert_eq!(open.status_line, "HTTP/1.1 200 OK", "{open:?}");
    let sid = sid_of(&open.body);
    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    for round in 0..3 {
        conn.send(post(&url, &format!("4hello {round}")).as_bytes())
            .await;
        let posted = conn.response(false).await;
        assert_eq!(
            (posted.status_line.as_str(), posted.body.as_str()),
            ("HTTP/1.1 200 OK", "ok")
        );
        conn.send(get(&url).as_bytes()).await;
        let polled = conn.response(false).await;
        assert_eq!(polled.body, format!("4hello {round}"), "{polled:?}");
    }
    assert_eq!(backend.hooks_of("message").len(), 3);
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn a_pipelined_get_then_post_are_answered_in_order() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(get("/engine.io/?EIO=4&transport=polling").as_bytes())
        .await;
    let sid = sid_of(&conn.response(false).await.body);
    let url = format!("/engine.io/?EIO=4&transport=polling&sid={sid}");
    // A health check and a POST in one write: the own path hands both to hyper.
    let both = format!("{}{}", get("/healthz"), post(&url, "4pipelined"));
    conn.send(both.as_bytes()).await;
    let first = conn.response(false).await;
    assert_eq!(first.body, "ok");
    let second = conn.response(false).await;
    assert_eq!(
        (second.status_line.as_str(), second.body.as_str()),
        ("HTTP/1.1 200 OK", "ok")
    );
    // The connection is still usable (hyper keeps it now).
    conn.send(get(&url).as_bytes()).await;
    assert_eq!(conn.response(false).await.body, "4pipelined");
}

#[tokio::test]
async fn http10_gets_http10_answers_and_keep_alive_only_when_asked() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(b"GET /healthz HTTP/1.0\r\n\r\n").await;
    let answer = conn.response(false).await;
    assert_eq!(answer.status_line, "HTTP/1.0 200 OK");
    assert_eq!(answer.body, "ok");
    assert_eq!(answer.header("connection"), None);
    assert!(conn.closed_within(Duration::from_secs(2)).await);

    let mut conn = RawConnection::open(&gateway).await;
    for _ in 0..2 {
        conn.send(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .await;
        let answer = conn.response(false).await;
        assert_eq!(answer.status_line, "HTTP/1.0 200 OK");
        assert_eq!(answer.header("connection"), Some("keep-alive"));
    }
    assert!(!conn.closed_within(Duration::from_millis(200)).await);
}

#[tokio::test]
async fn connection_close_is_honoured_and_announced() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await;
    let answer = conn.response(false).await;
    assert_eq!(answer.body, "ok");
    assert_eq!(answer.header("connection"), Some("close"));
    assert!(conn.closed_within(Duration::from_secs(2)).await);
}

#[tokio::test]
async fn head_describes_the_body_without_sending_it() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(b"HEAD /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = conn.response(true).await;
    assert_eq!(answer.status_line, "HTTP/1.1 200 OK");
    assert_eq!(answer.header("content-length"), Some("2"));
    // Nothing but the next answer follows.
    conn.send(get("/readyz").as_bytes()).await;
    assert_eq!(conn.response(false).await.body, "ready");
}

#[tokio::test]
async fn malformed_and_oversized_heads_are_refused_and_closed() {
    let (_backend, gateway) = echo_gateway("").await;
    let mut many = String::from("GET /healthz HTTP/1.1\r\n");
    for i in 0..101 {
        many.push_str(&format!("x-{i}: y\r\n"));
    }
    many.push_str("\r\n");
    let mut huge = String::from("GET /healthz HTTP/1.1\r\nx-big: ");
    huge.push_str(&"a".repeat(500 * 1024));
    huge.push_str("\r\n\r\n");
    let cases: [(&str, &[u8]); 4] = [
        ("400", b"GET /healthz HTTP/1.1\r\nbad header\r\n\r\n"),
        (
            "400",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
        ),
        ("431", many.as_bytes()),
        ("431", huge.as_bytes()),
    ];
    for (status, bytes) in cases {
        let mut conn = RawConnection::open(&gateway).await;
        // The gateway may answer and close before it has read everything: a reset on writing is fine.
        let _ = conn.stream.write_all(bytes).await;
        let answer = conn.response(false).await;
        assert!(
            answer
                .status_line
                .starts_with(&format!("HTTP/1.1 {status} ")),
            "{answer:?}"
        );
        assert_eq!(answer.header("connection"), Some("close"));
        assert!(conn.closed_within(Duration::from_secs(2)).await);
    }
    // The gateway is unharmed.
    assert_eq!(common::eio::get(&gateway.url("/healthz")).await.text, "ok");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_head_timeout() {
    let backend = Backend::echo().await;
    let gateway = Gateway::start(&format!(
        "[server]\nrequest_head_timeout = \"300ms\"\n[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
        backend.url()
    ))
    .await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(get("/healthz").as_bytes()).await;
    assert_eq!(conn.response(false).await.body, "ok");
    let idle = Instant::now();
    assert!(conn.closed_within(Duration::from_secs(3)).await);
    assert!(
        idle.elapsed() >= Duration::from_millis(250),
        "{:?}",
        idle.elapsed()
    );

    // A head sent a byte at a time, too slowly, is cut off as a whole (not per byte).
    let mut conn = RawConnection::open(&gateway).await;
    let started = Instant::now();
    let mut cut_off = false;
    for byte in get("/healthz").as_bytes() {
        if conn.stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
        if started.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    assert!(cut_off || conn.closed_within(Duration::from_secs(1)).await);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_client_that_leaves_a_parked_poll_closes_its_session() {
    let (backend, gateway) = echo_gateway("").await;
    let mut conn = RawConnection::open(&gateway).await;
    conn.send(get("/engine.io/?EIO=4&transport=polling").as_bytes())
        .await;
    let sid = sid_of(&conn.response(false).await.body);
    conn.send(get(&format!("/engine.io/?EIO=4&transport=polling&sid={sid}")).as_bytes())
        .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(gateway.sessions(), 1);
    drop(conn);
    common::eio::eventually("the session closes", || gateway.sessions() == 0).await;
    common::eio::eventually("the close hook", || !backend.hooks_of("close").is_empty()).await;
}
