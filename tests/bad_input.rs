//! Bad requests from clients: each gets the right Engine.IO error code or HTTP status, and a bystander session on
//! the same endpoint keeps working afterwards.

use crate::common;
use common::eio::{self, Answer, get, handshake, http, poll_url, post};
use common::{Backend, Gateway};
use serde_json::json;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A gateway with an echo backend and one open session that must survive whatever the test does.
struct Fixture {
    backend: Backend,
    gateway: Gateway,
    base: String,
    bystander: String,
    checks: usize,
}

impl Fixture {
    async fn start(extra: &str) -> Self {
        let backend = Backend::echo().await;
        let gateway = Gateway::engine_io(&backend.url(), extra).await;
        let base = gateway.url("/engine.io/");
        let (bystander, _) = handshake(&base).await;
        Self {
            backend,
            gateway,
            base,
            bystander,
            checks: 0,
        }
    }

    /// `base` followed by `query`.
    fn url(&self, query: &str) -> String {
        format!("{}{query}", self.base)
    }

    /// The bystander still echoes and has not been closed.
    async fn assert_bystander_untouched(&mut self, after: &str) {
        self.checks += 1;
        let text = format!("alive-{}", self.checks);
        let url = poll_url(&self.base, &self.bystander);
        let sent = post(&url, format!("4{text}")).await;
        assert_eq!(
            (sent.status, sent.text.as_str()),
            (200, "ok"),
            "bystander POST after {after}"
        );
        let echoed = tokio::time::timeout(Duration::from_secs(5), get(&url))
            .await
            .unwrap_or_else(|_| panic!("bystander poll after {after} timed out"));
        assert_eq!(echoed.text, format!("4{text}"), "bystander after {after}");
        assert!(
            self.backend
                .hooks_of("close")
                .iter()
                .all(|h| h.body["sid"] != self.bystander.as_str()),
            "bystander closed after {after}"
        );
    }

    /// Waits for the close hook of `sid` and returns its reason.
    async fn close_reason(&self, sid: &str) -> String {
        let hooks = self.backend.wait_for("close", Some(sid), 1).await;
        hooks[0].body["reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }
}

/// Sends `method` to `url` with `body` and an optional content type.
async fn send(method: &str, url: &str, content_type: Option<&str>, body: Vec<u8>) -> Answer {
    let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let mut request = http().request(method, url).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    eio::answer(request.send().await.expect("request answered")).await
}

/// Checks an Engine.IO error answer.
fn assert_error(answer: &Answer, status: u16, code: u8, message: &str, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.text);
    assert_eq!(
        answer.json(),
        json!({"code": code, "message": message}),
        "{what}"
    );
}

/// Whether a poll shows the session is over: a close packet, or the sid no longer known.
async fn assert_session_over(base: &str, sid: &str) {
    let poll = tokio::time::timeout(Duration::from_secs(5), get(&poll_url(base, sid)))
        .await
        .expect("poll of a closed session answers at once");
    let over = poll.text == "1"
        || (poll.status == 400
            && poll.json() == json!({"code": 1, "message": "Session ID unknown"}));
    assert!(
        over,
        "session {sid} still open: {} {:?}",
        poll.status, poll.text
    );
}

#[tokio::test]
async fn missing_or_unknown_transport_is_code_0() {
    let mut fx = Fixture::start("").await;
    let sid = fx.bystander.clone();
    for query in [
        "?EIO=4".to_string(),
        "?EIO=4&transport=carrier-pigeon".to_string(),
        "?EIO=4&transport=".to_string(),
        "?EIO=4&transport=POLLING".to_string(),
        format!("?EIO=4&sid={sid}"),
        format!("?EIO=4&transport=flash&sid={sid}"),
    ] {
        let answer = get(&fx.url(&query)).await;
        assert_error(&answer, 400, 0, "Transport unknown", &query);
        fx.assert_bystander_untouched(&query).await;
    }
}

#[tokio::test]
async fn disabled_transport_is_code_0() {
    let mut fx = Fixture::start("transports = [\"polling\"]").await;
    let answer = get(&fx.url("?EIO=4&transport=websocket")).await;
    assert_error(&answer, 400, 0, "Transport unknown", "websocket disabled");
    fx.assert_bystander_untouched("websocket disabled").await;
}

#[tokio::test]
async fn unknown_or_malformed_sid_is_code_1() {
    let mut fx = Fixture::start("").await;
    for sid in [
        "AAAAAAAAAAAAAAAAAAAA",
        "x",
        "%FF",
        "",
        "%00%00",
        "aaaaaaaaaaaaaaaaaaa%C3%A9",
    ] {
        let url = fx.url(&format!("?EIO=4&transport=polling&sid={sid}"));
        assert_error(
            &get(&url).await,
            400,
            1,
            "Session ID unknown",
            &format!("GET sid={sid}"),
        );
        assert_error(
            &post(&url, "4hello").await,
            400,
            1,
            "Session ID unknown",
            &format!("POST sid={sid}"),
        );
        fx.assert_bystander_untouched(&format!("sid={sid}")).await;
    }
}

#[tokio::test]
async fn post_handshake_is_code_2() {
    let mut fx = Fixture::start("").await;
    let answer = post(&fx.url("?EIO=4&transport=polling"), "4hello").await;
    assert_error(&answer, 400, 2, "Bad handshake method", "POST handshake");
    assert_eq!(fx.gateway.sessions(), 1);
    fx.assert_bystander_untouched("POST handshake").await;
}

#[tokio::test]
async fn unsupported_protocol_versions_are_code_5() {
    // EIO=3 is served by default; this endpoint turns it off.
    let mut fx = Fixture::start("eio3 = false").await;
    for query in [
        "?EIO=3&transport=polling",
        "?EIO=5&transport=polling",
        "?transport=polling",
        "?EIO=&transport=polling",
        "?EIO=four&transport=polling",
    ] {
        let answer = get(&fx.url(query)).await;
        assert_error(&answer, 400, 5, "Unsupported protocol version", query);
        fx.assert_bystander_untouched(query).await;
    }
    assert_eq!(fx.gateway.sessions(), 1);
    assert_eq!(fx.backend.hooks_of("open").len(), 1, "only the bystander");
}

#[tokio::test]
async fn v4_octet_stream_post_is_400() {
    let mut fx = Fixture::start("").await;
    let (sid, _) = handshake(&fx.base).await;
    let answer = send(
        "POST",
        &poll_url(&fx.base, &sid),
        Some("application/octet-stream"),
        b"4hello".to_vec(),
    )
    .await;
    assert_error(&answer, 400, 3, "Bad request", "octet-stream POST");
    assert!(fx.backend.hooks_of("message").is_empty());
    fx.assert_bystander_untouched("octet-stream POST").await;
}

#[tokio::test]
async fn malformed_payloads_are_400_and_close_the_session_as_parse_error() {
    let mut fx = Fixture::start("").await;
    let bodies: [(&str, &[u8]); 6] = [
        ("unknown packet type", b"9x"),
        ("empty body", b""),
        ("bad base64", b"b!!"),
        ("invalid UTF-8", b"4\xff\xfe"),
        ("empty packet after a good one", b"4ok\x1e"),
        ("non-digit type", b"hello"),
    ];
    let mut closed = Vec::new();
    for (what, body) in bodies {
        let (sid, _) = handshake(&fx.base).await;
        closed.push(sid.clone());
        let answer = send(
            "POST",
            &poll_url(&fx.base, &sid),
            Some("text/plain;charset=UTF-8"),
            body.to_vec(),
        )
        .await;
        assert_error(&answer, 400, 3, "Bad request", what);
        assert_eq!(fx.close_reason(&sid).await, "parse error", "{what}");
        assert_session_over(&fx.base, &sid).await;
        fx.assert_bystander_untouched(what).await;
    }
    let relayed: Vec<_> = fx
        .backend
        .hooks_of("message")
        .into_iter()
        .filter(|h| closed.iter().any(|sid| h.body["sid"] == sid.as_str()))
        .collect();
    assert!(
        relayed.is_empty(),
        "packets of a bad payload were relayed: {relayed:?}"
    );
}

#[tokio::test]
async fn post_over_max_payload_is_413() {
    let mut fx = Fixture::start("max_payload = 1000").await;
    let (sid, open) = handshake(&fx.base).await;
    assert_eq!(open["maxPayload"], 1000);
    let url = poll_url(&fx.base, &sid);
    let fits = format!("4{}", "x".repeat(999));
    assert_eq!(post(&url, fits).await.text, "ok");
    let too_big = format!("4{}", "x".repeat(1000));
    let answer = post(&url, too_big).await;
    assert_eq!(answer.status, 413, "{}", answer.text);
    fx.assert_bystander_untouched("oversized POST").await;
    assert_eq!(fx.backend.hooks_of("message").len(), 1 + fx.checks);
}

#[tokio::test]
async fn second_concurrent_get_is_400_and_closes_the_session() {
    let mut fx = Fixture::start("").await;
    let (sid, _) = handshake(&fx.base).await;
    let url = poll_url(&fx.base, &sid);
    let first = tokio::spawn({
        let url = url.clone();
        async move { get(&url).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = get(&url).await;
    assert_error(&second, 400, 3, "Bad request", "second GET");
    let first = tokio::time::timeout(Duration::from_secs(5), first)
        .await
        .expect("first GET answered")
        .expect("poll task");
    assert_eq!((first.status, first.text.as_str()), (200, "1"));
    assert_eq!(fx.close_reason(&sid).await, "transport error");
    assert_session_over(&fx.base, &sid).await;
    fx.assert_bystander_untouched("overlapping GET").await;
}

#[tokio::test]
async fn aborted_pending_get_closes_the_session() {
    let mut fx = Fixture::start("").await;
    let (sid, _) = handshake(&fx.base).await;
    let mut stream = TcpStream::connect(fx.gateway.address)
        .await
        .expect("connect");
    let request = format!(
        "GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\r\n",
        fx.gateway.address
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut nothing = [0u8; 1];
    let read = tokio::time::timeout(Duration::from_millis(50), stream.read(&mut nothing)).await;
    assert!(read.is_err(), "the GET is pending, not answered");
    assert!(fx.backend.hooks_of("close").is_empty());
    drop(stream);
    assert_eq!(fx.close_reason(&sid).await, "transport close");
    assert_session_over(&fx.base, &sid).await;
    fx.assert_bystander_untouched("aborted GET").await;
}

#[tokio::test]
async fn garbage_query_strings_do_not_break_anything() {
    let mut fx = Fixture::start("").await;
    let answer = get(&fx.url("?%zz&&==&EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.text.starts_with("0{"), "{}", answer.text);
    for query in [
        "?&&&",
        "?=",
        "?==&&==",
        "?%",
        "?%zz=%zz",
        "?EIO=4&transport=polling&transport=%FF",
        "?EIO=%FF&transport=polling",
        "?transport=polling&EIO=4&sid&sid=1",
        "?EIO=4&transport=polling%00",
        "?EIO=4&transport=polling&t=%E2%82",
    ] {
        let answer = get(&fx.url(query)).await;
        assert!(
            (200..500).contains(&answer.status),
            "{query}: {} {}",
            answer.status,
            answer.text
        );
        fx.assert_bystander_untouched(query).await;
    }
    let long = format!("?EIO=4&transport=polling&x={}", "%zz".repeat(2000));
    let answer = get(&fx.url(&long)).await;
    assert!(
        (200..500).contains(&answer.status),
        "long query: {}",
        answer.status
    );
    fx.assert_bystander_untouched("long query").await;
    assert_eq!(get(&fx.gateway.url("/healthz")).await.text, "ok");
}

#[tokio::test]
async fn client_ping_over_v4_polling_closes_with_transport_error() {
    let mut fx = Fixture::start("").await;
    let (sid, _) = handshake(&fx.base).await;
    post(&poll_url(&fx.base, &sid), "2").await;
    assert_eq!(fx.close_reason(&sid).await, "transport error");
    assert_session_over(&fx.base, &sid).await;
    fx.assert_bystander_untouched("client ping").await;
}

#[tokio::test]
async fn unknown_methods_are_400_and_leave_the_session_alone() {
    let mut fx = Fixture::start("").await;
    let bystander = fx.bystander.clone();
    for method in ["PUT", "DELETE", "PATCH"] {
        let with_sid = send(
            method,
            &poll_url(&fx.base, &bystander),
            None,
            b"4x".to_vec(),
        )
        .await;
        assert_eq!(with_sid.status, 400, "{method} with sid: {}", with_sid.text);
        assert!(
            with_sid.json()["code"].is_u64(),
            "{method}: {}",
            with_sid.text
        );
        let handshake = send(
            method,
            &fx.url("?EIO=4&transport=polling"),
            None,
            Vec::new(),
        )
        .await;
        assert_eq!(
            handshake.status, 400,
            "{method} handshake: {}",
            handshake.text
        );
        assert!(
            handshake.json()["code"].is_u64(),
            "{method}: {}",
            handshake.text
        );
        fx.assert_bystander_untouched(method).await;
    }
    assert_eq!(fx.gateway.sessions(), 1);
}

/// Reads from `stream` until the end of an HTTP response head; returns the status line.
async fn status_line(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut byte))
            .await
            .expect("response within 5 s")
            .expect("read");
        assert_eq!(read, 1, "connection closed before a response: {head:?}");
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    head.lines().next().unwrap_or_default().to_string()
}

#[tokio::test]
async fn chunked_post_over_max_payload_is_413() {
    let mut fx = Fixture::start("max_payload = 1000").await;
    let (sid, _) = handshake(&fx.base).await;
    let mut stream = TcpStream::connect(fx.gateway.address)
        .await
        .expect("connect");
    let chunk = format!("258\r\n4{}\r\n", "x".repeat(599));
    let request = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}{chunk}0\r\n\r\n",
        fx.gateway.address
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    assert_eq!(
        status_line(&mut stream).await,
        "HTTP/1.1 413 Payload Too Large"
    );
    fx.assert_bystander_untouched("chunked oversized POST")
        .await;
}

#[tokio::test]
async fn overlapping_post_is_400_closes_the_session_and_nothing_is_relayed_after_close() {
    let mut fx = Fixture::start("").await;
    let (sid, _) = handshake(&fx.base).await;
    let mut stream = TcpStream::connect(fx.gateway.address)
        .await
        .expect("connect");
    let head = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: {}\r\n\
         Content-Type: text/plain;charset=UTF-8\r\nContent-Length: 6\r\n\r\n4la",
        fx.gateway.address
    );
    stream.write_all(head.as_bytes()).await.expect("write");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = post(&poll_url(&fx.base, &sid), "4second").await;
    assert_error(&second, 400, 3, "Bad request", "overlapping POST");
    assert_eq!(fx.close_reason(&sid).await, "transport error");
    // The first POST completes after the session closed: its packets are not relayed.
    stream.write_all(b"ter").await.expect("write rest");
    let status = status_line(&mut stream).await;
    assert!(status.starts_with("HTTP/1.1 "), "{status}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events: Vec<String> = fx
        .backend
        .hooks()
        .into_iter()
        .filter(|h| h.body["sid"] == sid.as_str())
        .map(|h| h.event)
        .collect();
    assert_eq!(events, ["open", "close"]);
    assert_session_over(&fx.base, &sid).await;
    fx.assert_bystander_untouched("overlapping POST").await;
}
