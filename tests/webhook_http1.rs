//! iogate's own HTTP/1.1 webhook client against a raw TCP backend that writes exactly the bytes each test gives it:
//! framings (Content-Length, chunked with extensions and trailers, read to end of stream), `Connection: close`,
//! HTTP/1.0, interim 100 Continue, keep-alive reuse and its limits, backends that close idle connections or write
//! stray bytes on them, and failures (oversized or garbage answers, slow backends) that must end in a clear error,
//! never a panic.

use crate::common;
use bytes::Bytes;
use iogate::metrics::EndpointMetrics;
use iogate::relay::{
    Delivery, HookClient, HookError, HookTarget, MAX_BODY_BYTES, MAX_IDLE_PER_BACKEND,
};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A request as the raw backend read it.
#[derive(Debug, Clone)]
struct Seen {
    /// Which accepted connection it came on (0 = first).
    conn: usize,
    /// The head, as text.
    head: String,
    /// The body.
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// What the backend does with one request.
enum Act {
    /// Writes these pieces (pausing briefly between them, so they arrive in separate reads), then waits for the
    /// next request on the connection.
    Answer(Vec<Vec<u8>>),
    /// Writes the bytes, then closes the connection.
    AnswerAndClose(Vec<u8>),
    /// Writes the bytes, then closes the connection after `Duration` as an idle keep-alive timeout does (with a
    /// reset when the flag is set).
    AnswerThenDropIdle(Vec<u8>, Duration, bool),
    /// Writes the answer, then, after `Duration` (while the connection sits idle in the client's pool), the stray
    /// bytes; then closes the connection (flag set) or goes on serving it.
    AnswerThenStray(Vec<u8>, Duration, Vec<u8>, bool),
    /// Waits this long before answering 200.
    Delay(Duration),
}

type Script = dyn Fn(&Seen, usize) -> Act + Send + Sync;

/// A backend on a raw TCP listener: reads each request by its `Content-Length` and acts as the script says (the
/// script gets the request and its number, 0 = first, over all connections).
struct RawBackend {
    address: SocketAddr,
    accepted: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl RawBackend {
    async fn start(script: impl Fn(&Seen, usize) -> Act + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let address = listener.local_addr().expect("address");
        let accepted = Arc::new(AtomicUsize::new(0));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let script: Arc<Script> = Arc::new(script);
        let backend = Self {
            address,
            accepted: accepted.clone(),
            seen: seen.clone(),
        };
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let conn = accepted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, conn, seen.clone(), script.clone()));
            }
        });
        backend
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn serve(
    mut stream: TcpStream,
    conn: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
    script: Arc<Script>,
) {
    let mut buf = Vec::new();
    loop {
        let Some(request) = read_request(&mut stream, &mut buf, conn).await else {
            return;
        };
        let number = {
            let mut seen = seen.lock().unwrap();
            seen.push(request.clone());
            seen.len() - 1
        };
        match script(&request, number) {
            Act::Answer(pieces) => {
                for piece in pieces {
                    if stream.write_all(&piece).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
            Act::AnswerAndClose(bytes) => {
                let _ = stream.write_all(&bytes).await;
                return;
            }
            Act::AnswerThenDropIdle(bytes, after, reset) => {
                let _ = stream.write_all(&bytes).await;
                tokio::time::sleep(after).await;
                if reset {
                    let _ = stream.set_zero_linger();
                }
                return;
            }
            Act::AnswerThenStray(answer, after, stray, close) => {
                if stream.write_all(&answer).await.is_err() {
                    return;
                }
                tokio::time::sleep(after).await;
                if stream.write_all(&stray).await.is_err() || close {
                    return;
                }
            }
            Act::Delay(delay) => {
                tokio::time::sleep(delay).await;
                let _ = stream.write_all(&ok("{}")).await;
            }
        }
    }
}

/// Reads one request (head, then `Content-Length` bytes of body); `None` at end of stream.
async fn read_request(stream: &mut TcpStream, buf: &mut Vec<u8>, conn: usize) -> Option<Seen> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(buf[..end].to_vec()).expect("ASCII head");
            let length: usize = head
                .split("\r\n")
                .find_map(|line| line.strip_prefix("content-length: "))
                .map_or(0, |n| n.parse().expect("numeric length"));
            let total = end + 4 + length;
            while buf.len() < total {
                let mut more = [0u8; 4096];
                let n = stream.read(&mut more).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&more[..n]);
            }
            let body = buf[end + 4..total].to_vec();
            buf.drain(..total);
            return Some(Seen { conn, head, body });
        }
        let mut more = [0u8; 4096];
        let n = stream.read(&mut more).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&more[..n]);
    }
}

/// `200 OK` with a `Content-Length` body.
fn ok(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn target(client: &HookClient, url: &str, secrets: &[&str], timeout: Duration) -> HookTarget {
    client
        .target(
            url,
            secrets.iter().map(|s| s.to_string()).collect(),
            timeout,
            EndpointMetrics::detached().hooks,
        )
        .expect("valid target")
}

fn delivery(body: &str) -> Delivery {
    Delivery::new("event", Bytes::copy_from_slice(body.as_bytes()))
}

/// Sends one delivery with a 5 s timeout and returns the outcome.
async fn send(client: &HookClient, target: &HookTarget, body: &str) -> Result<Bytes, HookError> {
    client.send(target, &delivery(body)).await
}

fn transport_error(result: Result<Bytes, HookError>) -> String {
    match result {
        Err(HookError::Transport(message)) => message.into_message(),
        other => panic!("expected a transport error, got {other:?}"),
    }
}

#[tokio::test]
async fn sequential_hooks_share_one_keep_alive_connection_with_the_documented_head() {
    let backend = RawBackend::start(|seen, _| {
        Act::Answer(vec![ok(&format!("{{\"n\":{}}}", seen.body.len()))])
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(
        &client,
        &backend.url("/hook?x=1&y=%20"),
        &["s1"],
        Duration::from_secs(5),
    );
    for i in 0..5 {
        let body = format!("{{\"i\":{i}}}");
        let answer = send(&client, &target, &body).await.expect("answered");
        assert_eq!(answer, format!("{{\"n\":{}}}", body.len()));
    }
    assert_eq!(backend.accepted(), 1, "one connection for sequential hooks");
    let host_port = format!("127.0.0.1:{}", backend.address.port());
    assert_eq!(client.idle_connections(&host_port), 1);
    let seen = backend.seen();
    assert_eq!(seen.len(), 5);
    let first = &seen[0];
    assert!(
        first.head.starts_with("POST /hook?x=1&y=%20 HTTP/1.1\r\n"),
        "{}",
        first.head
    );
    assert_eq!(first.header("host"), Some(host_port.as_str()));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("accept"), Some("*/*"));
    assert_eq!(
        first.header("user-agent"),
        Some(concat!("iogate/", env!("CARGO_PKG_VERSION")))
    );
    assert_eq!(first.header("x-iogate-event"), Some("event"));
    assert_eq!(first.header("x-iogate-delivery").map(str::len), Some(32));
    assert_eq!(first.header("content-length"), Some("7"));
    assert_eq!(first.body, b"{\"i\":0}");
    let signature = first.header("x-iogate-signature").expect("signed");
    assert!(iogate::relay::signing::verify(signature, "s1", &first.body));
    assert!(seen.iter().all(|s| s.conn == 0));
}

#[tokio::test]
async fn unsigned_targets_send_no_signature_and_port_80_is_left_out_of_host() {
    let backend = RawBackend::start(|_, _| Act::Answer(vec![ok("")])).await;
    let client = HookClient::new().unwrap();
    let plain = target(&client, &backend.url("/"), &[], Duration::from_secs(5));
    assert_eq!(send(&client, &plain, "{}").await.expect("answered"), "");
    assert_eq!(backend.seen()[0].header("x-iogate-signature"), None);
    // Port 80 is not dialled here: the head is checked through the URL the target keeps.
    let default_port = target(
        &client,
        "http://example.invalid:80/h",
        &[],
        Duration::from_secs(1),
    );
    assert_eq!(default_port.url().as_str(), "http://example.invalid/h");
}

#[tokio::test]
async fn chunked_answers_with_extensions_and_trailers_arrive_whole_and_keep_the_connection() {
    let backend = RawBackend::start(|_, _| {
        Act::Answer(vec![
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec(),
            b"6;ext=1\r\n{\"ack\"\r\n".to_vec(),
            b"7\r\n:[1,2]}".to_vec(),
            b"\r\n0\r\nX-Trailer: done\r\n".to_vec(),
            b"\r\n".to_vec(),
        ])
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    for _ in 0..3 {
        assert_eq!(
            send(&client, &target, "{}").await.expect("answered"),
            "{\"ack\":[1,2]}"
        );
    }
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test]
async fn an_answer_without_length_is_read_to_the_end_and_its_connection_not_reused() {
    let backend = RawBackend::start(|_, n| {
        Act::AnswerAndClose(
            format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{{\"n\":{n}}}")
                .into_bytes(),
        )
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    assert_eq!(
        send(&client, &target, "{}").await.expect("answered"),
        "{\"n\":0}"
    );
    assert_eq!(
        send(&client, &target, "{}").await.expect("answered"),
        "{\"n\":1}"
    );
    assert_eq!(backend.accepted(), 2);
}

#[tokio::test]
async fn connection_close_and_http10_answers_are_not_reused() {
    let backend = RawBackend::start(|_, n| match n {
        0 => Act::AnswerAndClose(
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok".to_vec(),
        ),
        1 => Act::AnswerAndClose(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nold".to_vec()),
        _ => Act::Answer(vec![
            b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nka".to_vec(),
        ]),
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    assert_eq!(send(&client, &target, "{}").await.expect("answered"), "ok");
    assert_eq!(send(&client, &target, "{}").await.expect("answered"), "old");
    assert_eq!(send(&client, &target, "{}").await.expect("answered"), "ka");
    assert_eq!(send(&client, &target, "{}").await.expect("answered"), "ka");
    assert_eq!(backend.accepted(), 3, "HTTP/1.0 with keep-alive is reused");
}

#[tokio::test]
async fn interim_100_continue_is_skipped() {
    let backend = RawBackend::start(|_, _| {
        Act::Answer(vec![
            b"HTTP/1.1 100 Continue\r\n\r\n".to_vec(),
            b"HTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n".to_vec(),
            b"done".to_vec(),
        ])
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    assert_eq!(
        send(&client, &target, "{}").await.expect("answered"),
        "done"
    );
    assert_eq!(
        send(&client, &target, "{}").await.expect("answered"),
        "done"
    );
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test]
async fn a_connection_the_backend_closed_while_idle_is_replaced_within_the_call() {
    for reset in [false, true] {
        let backend = RawBackend::start(move |_, _| {
            Act::AnswerThenDropIdle(ok("{}"), Duration::from_millis(20), reset)
        })
        .await;
        let client = HookClient::new().unwrap();
        let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
        for _ in 0..3 {
            send(&client, &target, "{}").await.expect("answered");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let seen = backend.seen();
        assert_eq!(
            seen.len(),
            3,
            "exactly one delivery per call (reset: {reset})"
        );
        assert_eq!(backend.accepted(), 3);
        let ids: std::collections::HashSet<_> =
            seen.iter().map(|s| s.header("x-iogate-delivery")).collect();
        assert_eq!(ids.len(), 3);
    }
}

#[tokio::test]
async fn non_2xx_is_a_status_error_and_a_complete_answer_keeps_its_connection() {
    let backend = RawBackend::start(|_, _| {
        Act::Answer(vec![
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy".to_vec(),
        ])
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    for _ in 0..2 {
        assert!(matches!(
            send(&client, &target, "{}").await,
            Err(HookError::Status(503))
        ));
    }
    assert_eq!(backend.accepted(), 1);
}

#[tokio::test]
async fn oversized_answers_fail_clearly() {
    let huge_length = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n",
        MAX_BODY_BYTES + 1
    )
    .into_bytes();
    let mut chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    for _ in 0..=MAX_BODY_BYTES / (1 << 20) {
        chunked.extend_from_slice(b"100000\r\n");
        chunked.extend(std::iter::repeat_n(b'a', 1 << 20));
        chunked.extend_from_slice(b"\r\n");
    }
    let mut until_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    until_close.extend(std::iter::repeat_n(b'a', MAX_BODY_BYTES + 1));
    let big_head = format!(
        "HTTP/1.1 200 OK\r\nX-Big: {}\r\nContent-Length: 0\r\n\r\n",
        "b".repeat(70 * 1024)
    )
    .into_bytes();
    let many: String = (0..150).map(|i| format!("X-{i}: 1\r\n")).collect();
    let many_headers = format!("HTTP/1.1 200 OK\r\n{many}Content-Length: 0\r\n\r\n").into_bytes();
    let cases = [
        (huge_length, "larger than the limit of 8 MiB"),
        (chunked, "larger than the limit of 8388608 bytes"),
        (until_close, "larger than the limit of 8 MiB"),
        (
            big_head,
            "response head larger than the limit of 65536 bytes",
        ),
        (many_headers, "more than the limit of 100 headers"),
    ];
    for (answer, expected) in cases {
        let answer = Arc::new(answer);
        let backend = RawBackend::start(move |_, _| Act::AnswerAndClose(answer.to_vec())).await;
        let client = HookClient::new().unwrap();
        let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(10));
        let message = transport_error(send(&client, &target, "{}").await);
        assert!(
            message.contains(expected),
            "{message:?} should say {expected:?}"
        );
        assert!(
            message.contains(&backend.url("/hook")),
            "{message:?} names the URL"
        );
    }
}

#[tokio::test]
async fn garbage_and_truncated_answers_are_transport_errors() {
    let cases: [(&[u8], &str); 5] = [
        (
            b"hello, this is not HTTP\r\n\r\n",
            "malformed HTTP response head",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
            "connection closed after 5 of the 10 bytes",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "malformed chunk size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Len",
            "in the middle of the response head",
        ),
        (b"", "connection closed before any response"),
    ];
    for (answer, expected) in cases {
        let backend = RawBackend::start(move |_, _| Act::AnswerAndClose(answer.to_vec())).await;
        let client = HookClient::new().unwrap();
        let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
        let message = transport_error(send(&client, &target, "{}").await);
        assert!(
            message.contains(expected),
            "{message:?} should say {expected:?}"
        );
    }
}

#[tokio::test]
async fn a_slow_backend_times_out_and_an_unreachable_one_fails_to_connect() {
    let backend = RawBackend::start(|_, _| Act::Delay(Duration::from_secs(3))).await;
    let client = HookClient::new().unwrap();
    let target = target(
        &client,
        &backend.url("/hook"),
        &[],
        Duration::from_millis(300),
    );
    let started = std::time::Instant::now();
    let message = transport_error(send(&client, &target, "{}").await);
    assert!(message.contains("no answer within 300ms"), "{message:?}");
    assert!(started.elapsed() < Duration::from_secs(2));

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let closed = self::target(
        &client,
        &format!("http://127.0.0.1:{port}/"),
        &[],
        Duration::from_secs(5),
    );
    let message = transport_error(send(&client, &closed, "{}").await);
    assert!(message.contains("cannot connect"), "{message:?}");
}

#[tokio::test]
async fn host_names_are_resolved() {
    let backend = RawBackend::start(|_, _| Act::Answer(vec![ok("{}")])).await;
    let client = HookClient::new().unwrap();
    let url = format!("http://localhost:{}/hook", backend.address.port());
    let target = target(&client, &url, &[], Duration::from_secs(5));
    assert_eq!(send(&client, &target, "{}").await.expect("answered"), "{}");
    assert_eq!(
        backend.seen()[0].header("host"),
        Some(format!("localhost:{}", backend.address.port()).as_str())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_burst_leaves_a_bounded_idle_pool_that_expires() {
    let burst = MAX_IDLE_PER_BACKEND + 44;
    let backend = RawBackend::start(|_, _| Act::Delay(Duration::from_millis(300))).await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(10));
    let sends: Vec<_> = (0..burst)
        .map(|_| {
            let (client, target) = (client.clone(), target.clone());
            tokio::spawn(async move { send(&client, &target, "{}").await })
        })
        .collect();
    for send in sends {
        send.await.unwrap().expect("answered");
    }
    assert_eq!(backend.accepted(), burst);
    let host_port = format!("127.0.0.1:{}", backend.address.port());
    assert_eq!(client.idle_connections(&host_port), MAX_IDLE_PER_BACKEND);
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let backend = RawBackend::start(|_, _| Act::Answer(vec![ok("{}")])).await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    send(&client, &target, "{}").await.expect("answered");
    let host_port = format!("127.0.0.1:{}", backend.address.port());
    assert_eq!(client.idle_connections(&host_port), 1);
    tokio::time::pause();
    tokio::time::advance(iogate::relay::IDLE_TIMEOUT - Duration::from_secs(1)).await;
    assert_eq!(client.idle_connections(&host_port), 1);
    tokio::time::advance(Duration::from_secs(2)).await;
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
    assert_eq!(client.idle_connections(&host_port), 0);
    tokio::time::resume();
    send(&client, &target, "{}")
        .await
        .expect("answered on a new connection");
    assert_eq!(backend.accepted(), 2);
}

#[tokio::test]
async fn credentials_in_the_url_become_basic_auth_and_stay_out_of_errors() {
    let backend = RawBackend::start(|_, n| match n {
        0 => Act::Answer(vec![ok("{}")]),
        _ => Act::AnswerAndClose(b"garbage\r\n\r\n".to_vec()),
    })
    .await;
    let client = HookClient::new().unwrap();
    let url = format!(
        "http://us%40er:p%3Ass@127.0.0.1:{}/hook",
        backend.address.port()
    );
    let target = target(&client, &url, &[], Duration::from_secs(5));
    send(&client, &target, "{}").await.expect("answered");
    // base64("us@er:p:ss")
    assert_eq!(
        backend.seen()[0].header("authorization"),
        Some("Basic dXNAZXI6cDpzcw==")
    );
    let message = transport_error(send(&client, &target, "{}").await);
    assert!(
        !message.contains("p%3Ass") && message.contains(&backend.url("/hook")),
        "{message:?}"
    );
}

/// A complete `200` answer no request asked for: what a backend's bug or a desynchronised proxy could leave on an
/// idle connection.
fn forged() -> Vec<u8> {
    ok(r#"{"ack":["forged"]}"#)
}

/// The `200` answer `{"ack":["<label>"]}`.
fn ack(label: &str) -> Vec<u8> {
    ok(&format!(r#"{{"ack":["{label}"]}}"#))
}

#[tokio::test]
async fn stray_bytes_on_an_idle_connection_are_never_taken_as_the_next_answer() {
    let strays: [(&str, &[u8], bool); 4] = [
        ("a second response", &forged(), false),
        (
            "a 408 before closing",
            b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            true,
        ),
        ("garbage", b"garbage\r\n\r\n", false),
        ("half a head", b"HTTP/1.1 200 OK\r\nContent-Le", false),
    ];
    for (what, stray, close) in strays {
        let stray = stray.to_vec();
        let backend = RawBackend::start(move |_, n| {
            let answer = ack(&format!("real-{n}"));
            match n {
                0 => Act::AnswerThenStray(answer, Duration::from_millis(10), stray.clone(), close),
                _ => Act::Answer(vec![answer]),
            }
        })
        .await;
        let client = HookClient::new().unwrap();
        let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
        let answer = send(&client, &target, "{}").await.expect("answered");
        assert_eq!(answer, r#"{"ack":["real-0"]}"#, "{what}");
        // The stray bytes arrive while the connection sits idle in the pool.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for n in 1..3 {
            let answer = send(&client, &target, "{}")
                .await
                .unwrap_or_else(|e| panic!("{what}: request {n} failed: {e}"));
            assert_eq!(answer, format!(r#"{{"ack":["real-{n}"]}}"#), "{what}");
        }
        assert_eq!(
            backend.accepted(),
            2,
            "{what}: the tainted connection is closed, the clean one reused"
        );
        let seen = backend.seen();
        assert_eq!(seen.len(), 3, "{what}: every request sent once");
        assert_eq!(
            seen.iter().map(|s| s.conn).collect::<Vec<_>>(),
            [0, 1, 1],
            "{what}"
        );
    }
}

#[tokio::test]
async fn bytes_after_an_answer_in_the_same_read_keep_its_connection_out_of_the_pool() {
    let backend = RawBackend::start(|_, n| match n {
        0 => Act::Answer(vec![[ack("real-0"), forged()].concat()]),
        _ => Act::Answer(vec![ack(&format!("real-{n}"))]),
    })
    .await;
    let client = HookClient::new().unwrap();
    let target = target(&client, &backend.url("/hook"), &[], Duration::from_secs(5));
    let host_port = format!("127.0.0.1:{}", backend.address.port());
    let answer = send(&client, &target, "{}").await.expect("answered");
    assert_eq!(answer, r#"{"ack":["real-0"]}"#);
    assert_eq!(client.idle_connections(&host_port), 0, "not pooled");
    let answer = send(&client, &target, "{}").await.expect("answered");
    assert_eq!(answer, r#"{"ack":["real-1"]}"#);
    assert_eq!(backend.accepted(), 2);
    assert_eq!(client.idle_connections(&host_port), 1);
}

#[tokio::test]
async fn a_stray_response_never_reaches_a_client_as_its_ack() {
    // Every event is acknowledged with its first argument, and 10 ms later a forged second response follows on the
    // same connection while it is idle.
    let backend = RawBackend::start(|seen, _| {
        if seen.header("x-iogate-event") != Some("event") {
            return Act::Answer(vec![ok("")]);
        }
        let body: serde_json::Value = serde_json::from_slice(&seen.body).unwrap_or_default();
        let label = body["args"][0].as_str().unwrap_or("no label").to_string();
        Act::AnswerThenStray(ack(&label), Duration::from_millis(10), forged(), false)
    })
    .await;
    let gateway = common::sio::gateway(&backend.url("/hook"), "").await;
    let (mut client, _) = common::sio::SioWs::connected(&gateway, "/", None).await;
    for i in 1..=3 {
        let answer = client.call(&format!(r#"42{i}["ask","real-{i}"]"#)).await;
        assert_eq!(answer, format!(r#"43{i}["real-{i}"]"#));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    client.assert_silent(Duration::from_millis(200)).await;
    let events = backend
        .seen()
        .iter()
        .filter(|s| s.header("x-iogate-event") == Some("event"))
        .count();
    assert_eq!(events, 3, "each event sent once");
}
