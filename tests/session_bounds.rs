//! Per-session byte bounds (`max_buffer`): a client that never takes its packets (an Engine.IO v3 client posting
//! big pings without polling, a polling socket the push API keeps emitting to, a WebSocket client that stops
//! reading) is disconnected with `transport error` once the bytes queued for it would pass `max_buffer`, and the
//! bytes the process holds for it, read from `iogate_buffered_bytes`, never pass that bound; webhooks waiting for
//! a slow backend and binary attachments being reassembled are bounded in bytes too. Meanwhile another client of
//! the same gateway keeps working.

use crate::common;
use common::api::{self, Api, Metrics};
use common::eio;
use common::sio::{self, SioPolling, SioWs};
use common::{Backend, Gateway, Hook, Reply};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

const SIO: &str = "/socket.io";
const EIO: &str = "/engine.io";

/// The default `max_buffer`.
const MAX_BUFFER: f64 = 1_048_576.0;

fn buffered(metrics: &Metrics, endpoint: &str) -> f64 {
    metrics
        .get("iogate_buffered_bytes", &[("endpoint", endpoint)])
        .unwrap_or_else(|| panic!("no iogate_buffered_bytes for {endpoint}"))
}

fn outbound_overflows(metrics: &Metrics, endpoint: &str) -> f64 {
    metrics.value(
        "iogate_queue_overflows_total",
        &[("endpoint", endpoint), ("queue", "outbound")],
    )
}

/// Opens a session connected to `/`, past the `auth` event the reference app sends on connect.
async fn connected(gateway: &Gateway) -> (SioWs, String) {
    let (mut client, sid) = SioWs::connected(gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    (client, sid)
}

/// A bystander on `/`: it emits `message` and gets `message-back` (the reference app's answer).
async fn assert_bystander_works(bystander: &mut SioWs, round: u32) {
    bystander.send(&format!(r#"42["message",{round}]"#)).await;
    assert_eq!(
        bystander.recv_text().await,
        format!(r#"42["message-back",{round}]"#),
        "the other client keeps working"
    );
}

/// The Engine.IO v3 payload `<length>:<packet>` (ASCII packets: the length counts characters).
fn v3_payload(packet: &str) -> String {
    format!("{}:{packet}", packet.len())
}

/// The sid of a v3 handshake answer (`<length>:0{"sid":...}` and maybe more packets).
fn v3_sid(payload: &str) -> String {
    let open = payload
        .split_once(":0")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("not a v3 open payload: {payload:?}"));
    let end = open.find('}').expect("open packet JSON") + 1;
    let open: serde_json::Value = serde_json::from_str(&open[..end]).expect("open JSON");
    open["sid"].as_str().expect("sid").to_string()
}

/// A v3 client posting pings of 900 KB and never polling: each pong is queued, and the second would pass
/// `max_buffer`, so the session closes with `transport error` instead of growing.
#[tokio::test]
async fn an_eio3_client_posting_big_pings_without_polling_is_bounded() {
    let backend = Backend::start(sio::reference_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut bystander, _) = connected(&gateway).await;

    let base = gateway.url(&format!("{SIO}/?EIO=3&transport=polling&b64=1"));
    let open = eio::get(&base).await;
    assert_eq!(open.status, 200, "{}", open.text);
    let sid = v3_sid(&open.text);
    // Socket.IO v4 clients are connected to `/` by the server: its socket carries the engine id.
    backend.wait_for("connect", Some(&sid), 1).await;
    let url = format!("{base}&sid={sid}");
    let ping = v3_payload(&format!("2{}", "p".repeat(900_000)));
    let mut accepted = 0;
    for round in 0..5 {
        let answer = eio::post(&url, ping.clone()).await;
        let metrics = api.metrics().await;
        assert!(
            buffered(&metrics, SIO) <= MAX_BUFFER,
            "round {round}: {} bytes queued",
            buffered(&metrics, SIO)
        );
        if answer.status != 200 {
            break;
        }
        accepted += 1;
        assert_bystander_works(&mut bystander, round).await;
    }
    assert_eq!(accepted, 2, "the second ping's pong overflows");
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport error");
    assert_eq!(
        eio::get(&url).await.status,
        400,
        "the session is gone at once"
    );
    let metrics = api
        .metrics_until("the queued bytes released", |m| buffered(m, SIO) == 0.0)
        .await;
    assert_eq!(outbound_overflows(&metrics, SIO), 1.0);
    assert_bystander_works(&mut bystander, 9).await;
}

/// The push API emitting 100 KB events to a polling socket that stopped polling: the session closes when the
/// next event would pass `max_buffer`; the emit that does not fit reaches nobody.
#[tokio::test]
async fn push_emits_to_a_socket_that_never_polls_are_bounded() {
    let backend = Backend::start(sio::reference_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut bystander, _) = connected(&gateway).await;
    let idle = SioPolling::open(&gateway).await;
    let sid = idle.connect("/chat", None).await;

    let big = "e".repeat(100_000);
    let emit = format!(r#"{{"namespace":"/chat","event":"news","args":["{big}"]}}"#);
    let mut reached = Vec::new();
    for round in 0..14 {
        reached.push(api.emit(&emit).await);
        let metrics = api.metrics().await;
        assert!(
            buffered(&metrics, SIO) <= MAX_BUFFER,
            "emit {round}: {} bytes queued",
            buffered(&metrics, SIO)
        );
    }
    // Each event is `42/chat,["news","..."]`: 100,019 bytes with its Engine.IO type digit; ten fit (with the
    // small `auth` event the backend sent on connect, if the client has not taken it).
    assert_eq!(reached[..10], [1; 10], "{reached:?}");
    assert_eq!(reached[10..], [0; 4], "{reached:?}");
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport error");
    let metrics = api
        .metrics_until("the queued bytes released", |m| buffered(m, SIO) == 0.0)
        .await;
    assert_eq!(outbound_overflows(&metrics, SIO), 1.0);
    assert_bystander_works(&mut bystander, 1).await;
}

/// A client WebSocket frame (masked) carrying `text`.
fn masked_text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    assert!(payload.len() < 126, "short frames only");
    let mask = [0x11, 0x22, 0x33, 0x44];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Opens a WebSocket session with a raw TCP client that sends the upgrade and a CONNECT to `/chat`, then never
/// reads (its receive buffer is made small, so the server's writes soon block).
async fn stalled_websocket(gateway: &Gateway) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .set_recv_buffer_size(4096)
        .expect("small receive buffer");
    let mut stream = socket.connect(gateway.address).await.expect("connect");
    let request = format!(
        "GET {SIO}/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
        gateway.address
    );
    stream.write_all(request.as_bytes()).await.expect("upgrade");
    stream
        .write_all(&masked_text_frame("40/chat,"))
        .await
        .expect("CONNECT");
    stream
}

/// The server emits to a WebSocket client that stopped reading: frames the pump took stay counted until they are
/// written, so what the session holds stays within `max_buffer`, and the session closes with `transport error`.
#[tokio::test]
async fn a_websocket_client_that_stops_reading_is_bounded() {
    let backend = Backend::start(sio::reference_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut bystander, _) = connected(&gateway).await;
    let _stalled = stalled_websocket(&gateway).await;
    let connect = backend.wait_for("connect", None, 2).await;
    let sid = connect
        .iter()
        .find(|hook| hook.body["namespace"] == "/chat")
        .map(|hook| hook.body["sid"].as_str().expect("sid").to_string())
        .expect("the stalled client's connect hook");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while api.sockets("namespace=/chat").await.len() != 1 {
        assert!(tokio::time::Instant::now() < deadline, "no /chat socket");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let big = "w".repeat(64_000);
    let emit = format!(r#"{{"namespace":"/chat","event":"news","args":["{big}"]}}"#);
    let mut emitted = 0;
    while emitted < 400 {
        let reached = api.emit(&emit).await;
        let metrics = api.metrics().await;
        assert!(
            buffered(&metrics, SIO) <= MAX_BUFFER,
            "emit {emitted}: {} bytes held",
            buffered(&metrics, SIO)
        );
        if reached == 0 {
            break;
        }
        emitted += 1;
    }
    assert!(emitted < 400, "the stalled session never overflowed");
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport error");
    assert_bystander_works(&mut bystander, 1).await;
    // The pump gives a closing connection 2 s to take its last frames before the session is let go.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(8);
    loop {
        let metrics = api.metrics().await;
        if buffered(&metrics, SIO) == 0.0 {
            assert_eq!(outbound_overflows(&metrics, SIO), 1.0);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "bytes still held: {}",
            buffered(&metrics, SIO)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A slow backend: `message` hooks of one session pile up. Reading from that client pauses once the waiting
/// hooks hold `max_buffer` bytes, well before `max_pending_hooks` jobs wait, while another session is served.
#[tokio::test]
async fn webhooks_waiting_for_a_slow_backend_are_bounded_in_bytes() {
    let slow_sid: Arc<std::sync::Mutex<String>> = Arc::default();
    let stalled = slow_sid.clone();
    let backend = Backend::start(move |hook: &Hook| {
        if hook.event == "message" && hook.body["sid"] == stalled.lock().unwrap().as_str() {
            return Reply::ok("").after(Duration::from_secs(3));
        }
        common::backend::echo(hook)
    })
    .await;
    let gateway = api::engineio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let base = gateway.url(&format!("{EIO}/"));
    let (other, _) = eio::handshake(&base).await;
    let (slow, _) = eio::handshake(&base).await;
    *slow_sid.lock().unwrap() = slow.clone();

    let answered = Arc::new(AtomicUsize::new(0));
    let posting = tokio::spawn({
        let url = eio::poll_url(&base, &slow);
        let answered = answered.clone();
        async move {
            let message = format!("4{}", "m".repeat(100_000));
            for _ in 0..20 {
                let answer = eio::post(&url, message.clone()).await;
                assert_eq!(answer.status, 200, "{}", answer.text);
                answered.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    api.metrics_until("backpressure on the slow session", |m| {
        m.value(
            "iogate_queue_overflows_total",
            &[("endpoint", EIO), ("queue", "hooks")],
        ) == 1.0
    })
    .await;
    // One hook is being sent; then 100,000-byte messages wait until they hold 1 MiB: the eleventh waiting one.
    let posted = answered.load(Ordering::SeqCst);
    assert!(
        (10..=12).contains(&posted),
        "{posted} POSTs answered before reading paused"
    );
    // The other session is served meanwhile.
    let url = eio::poll_url(&base, &other);
    assert_eq!(eio::post(&url, "4hello").await.text, "ok");
    assert_eq!(eio::get(&url).await.text, "4hello");
    posting.abort();
}

/// Binary attachments of one packet are reassembled in memory until the last arrives: at most `max_buffer` bytes
/// of them; past it the session closes with `transport error`, counted as `attachments_too_large`.
#[tokio::test]
async fn attachments_being_reassembled_are_bounded_in_bytes() {
    let backend = Backend::start(sio::reference_app).await;
    let gateway = api::socketio_gateway(&backend.url(), "").await;
    let api = Api::of(&gateway);
    let (mut bystander, _) = connected(&gateway).await;
    let (mut client, sid) = connected(&gateway).await;
    let placeholders: Vec<String> = (0..10)
        .map(|num| format!(r#"{{"_placeholder":true,"num":{num}}}"#))
        .collect();
    client
        .send(&format!(r#"4510-["up",{}]"#, placeholders.join(",")))
        .await;
    let attachment = vec![7u8; 300_000];
    for _ in 0..4 {
        client.send_binary(&attachment).await;
    }
    let before = client.closed_within(Duration::from_secs(3)).await;
    assert!(before.is_empty(), "{before:?}");
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport error");
    assert!(
        backend.hooks_of("event").is_empty(),
        "nothing of the packet was relayed"
    );
    let metrics = api.metrics().await;
    assert_eq!(
        metrics.value(
            "iogate_refused_total",
            &[("reason", "attachments_too_large")]
        ),
        1.0
    );
    assert_bystander_works(&mut bystander, 1).await;
}
