//! Engine.IO v3 (socket.io-client 1.x/2.x, python-engineio 3.x) against a running gateway whose backend echoes
//! every message: the length-prefixed text payloads (`b64=1`), the XHR2 binary framing both ways, JSONP, client
//! pings and the v3 ping timeout, WebSocket frames with the type byte, closing, the upgrade probe, the `eio3`
//! switch, and malformed payloads. These are the checks of the official v3 conformance suite, written anew,
//! plus what the gateway adds (hooks, parse errors that leave other sessions alone).

use crate::common;
use common::eio::{self, Ws, eventually, frames_until_closed, ws_connect};
use common::{Backend, Gateway};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::time::Instant;

/// What the v3 suite's server uses: for the handshake and heartbeat tests.
const TIMING: &str = "ping_interval = \"300ms\"\nping_timeout = \"200ms\"";

/// The other tests' clients never ping: a v3 session outlives them however slow the machine.
const LONG: &str = "ping_interval = \"25s\"\nping_timeout = \"20s\"";

/// How long one request may take before the test fails.
const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// The XHR2 binary framing of `4hello` and the binary message `[1, 2, 3, 4]`.
const FRAMED: [u8; 17] = [
    0x00, 0x06, 0xFF, 0x34, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x01, 0x05, 0xFF, 0x04, 0x01, 0x02, 0x03,
    0x04,
];

/// An HTTP answer with its body as bytes.
#[derive(Debug)]
struct Raw {
    status: u16,
    content_type: String,
    body: Vec<u8>,
}

impl Raw {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone())
            .unwrap_or_else(|_| panic!("body is not UTF-8: {:02X?}", self.body))
    }

    /// The Engine.IO error code of a JSON error body.
    fn error_code(&self) -> Value {
        let body: Value = serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("error body is not JSON: {:?}", self.text()));
        body["code"].clone()
    }
}

async fn raw(request: reqwest::RequestBuilder) -> Raw {
    let response = tokio::time::timeout(REQUEST_LIMIT, request.send())
        .await
        .expect("answer within the limit")
        .expect("HTTP request");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = response.bytes().await.expect("body").to_vec();
    Raw {
        status,
        content_type,
        body,
    }
}

/// GET `url` as a browser page of the same site does (JSONP handshakes must name their page).
async fn get(url: &str) -> Raw {
    raw(eio::http()
        .get(url)
        .header("referer", eio::same_site_referer(url)))
    .await
}

async fn post(url: &str, content_type: &str, body: impl Into<Vec<u8>>) -> Raw {
    raw(eio::http()
        .post(url)
        .header("content-type", content_type)
        .body(body.into()))
    .await
}

/// POSTs a text payload and asserts `ok`.
async fn post_ok(url: &str, payload: &str) {
    let answer = post(url, "text/plain;charset=UTF-8", payload).await;
    assert_eq!(
        (answer.status, answer.text().as_str()),
        (200, "ok"),
        "POST {payload:?}"
    );
}

/// A gateway with an engine.io endpoint at `/engine.io` in front of an echo backend.
struct Fixture {
    backend: Backend,
    gateway: Gateway,
}

impl Fixture {
    async fn start(extra: &str) -> Self {
        let backend = Backend::echo().await;
        let gateway = Gateway::engine_io(&backend.url(), extra).await;
        Self { backend, gateway }
    }

    /// `http://ADDR/engine.io/?EIO=3&transport=polling<query>`.
    fn polling(&self, query: &str) -> String {
        self.gateway
            .url(&format!("/engine.io/?EIO=3&transport=polling{query}"))
    }

    /// The polling URL of session `sid`, with `query` appended (`&b64=1`, `&j=0`).
    fn session(&self, sid: &str, query: &str) -> String {
        self.polling(&format!("&sid={sid}{query}"))
    }

    /// `ws://ADDR/engine.io/?EIO=3&transport=websocket<query>`.
    fn websocket(&self, query: &str) -> String {
        self.gateway
            .ws_url(&format!("/engine.io/?EIO=3&transport=websocket{query}"))
    }

    /// Opens a polling session with `query` (`&b64=1`, `&j=N` or nothing); returns its sid and open JSON.
    async fn open(&self, query: &str) -> (String, Value) {
        let answer = get(&self.polling(query)).await;
        assert_eq!(answer.status, 200, "handshake: {}", answer.text());
        let payload = match query.strip_prefix("&j=") {
            Some(index) => unwrap_jsonp(index, &answer.text()),
            None => answer.text(),
        };
        let open = open_of_payload(&payload);
        (open["sid"].as_str().expect("sid").to_string(), open)
    }

    /// Opens a WebSocket session; returns the socket and the open JSON.
    async fn open_ws(&self) -> (Ws, Value) {
        let mut ws = ws_connect(&self.websocket("")).await;
        let first = eio::next_text(&mut ws).await;
        let open = first
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first frame is not an open packet: {first:?}"));
        (ws, serde_json::from_str(open).expect("open JSON"))
    }

    /// GETs session `sid` until the text answers, joined, are `expected` (v3 payloads concatenate).
    async fn poll_text(&self, sid: &str, query: &str, expected: &str) {
        let mut received = String::new();
        while received.len() < expected.len() {
            let answer = get(&self.session(sid, query)).await;
            assert_eq!(answer.status, 200, "poll: {}", answer.text());
            assert_eq!(answer.content_type, "text/plain; charset=UTF-8");
            received.push_str(&answer.text());
        }
        assert_eq!(received, expected);
    }

    /// The reason of the one `close` hook of `sid`.
    async fn close_reason(&self, sid: &str) -> String {
        let hooks = self.backend.wait_for("close", Some(sid), 1).await;
        assert_eq!(hooks.len(), 1, "close hooks of {sid}");
        hooks[0].body["reason"]
            .as_str()
            .expect("reason")
            .to_string()
    }

    /// The `data` of every `message` hook of `sid`, once `count` have arrived.
    async fn messages(&self, sid: &str, count: usize) -> Vec<Value> {
        self.backend
            .wait_for("message", Some(sid), count)
            .await
            .into_iter()
            .map(|hook| hook.body["data"].clone())
            .collect()
    }
}

/// The payload of a JSONP answer `___eio[N]("...");`.
fn unwrap_jsonp(index: &str, script: &str) -> String {
    let quoted = script
        .strip_prefix(&format!("___eio[{index}]("))
        .and_then(|rest| rest.strip_suffix(");"))
        .unwrap_or_else(|| panic!("not a JSONP answer for {index}: {script:?}"));
    serde_json::from_str(quoted).expect("a JSON string")
}

/// The open packet's JSON of a v3 handshake payload `N:0{...}`, checking that N is the packet's length.
fn open_of_payload(payload: &str) -> Value {
    let (length, packet) = payload
        .split_once(':')
        .unwrap_or_else(|| panic!("not a v3 payload: {payload:?}"));
    let length: usize = length
        .parse()
        .unwrap_or_else(|_| panic!("bad length in {payload:?}"));
    assert_eq!(
        length,
        packet.encode_utf16().count(),
        "length prefix of {payload:?}"
    );
    let open = packet
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {payload:?}"));
    serde_json::from_str(open).expect("open JSON")
}

/// Checks a v3 open packet: sid, `upgrades`, and the heartbeat of [`TIMING`] (`short`) or [`LONG`].
fn assert_v3_open(open: &Value, upgrades: Value, short: bool) {
    assert!(
        open["sid"].as_str().is_some_and(|sid| !sid.is_empty()),
        "sid: {open}"
    );
    assert_eq!(open["upgrades"], upgrades);
    let (interval, timeout) = if short { (300, 200) } else { (25_000, 20_000) };
    assert_eq!(open["pingInterval"], interval);
    assert_eq!(open["pingTimeout"], timeout);
    assert!(
        open.get("maxPayload").is_none() || open["maxPayload"] == 1_000_000,
        "maxPayload: {open}"
    );
}

// Handshakes.

#[tokio::test]
async fn polling_handshake_is_a_length_prefixed_open_packet() {
    let fx = Fixture::start(TIMING).await;
    for query in ["", "&b64=1"] {
        let answer = get(&fx.polling(query)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.content_type, "text/plain; charset=UTF-8");
        let open = open_of_payload(&answer.text());
        assert_v3_open(&open, json!(["websocket"]), true);
        let sid = open["sid"].as_str().unwrap();
        let hooks = fx.backend.wait_for("open", Some(sid), 1).await;
        let handshake = &hooks[0].body["handshake"];
        assert_eq!(handshake["query"]["EIO"], "3");
        assert_eq!(handshake["protocol"], 3, "the Engine.IO version");
        assert_eq!(handshake["transport"], "polling");
    }
    assert_eq!(fx.gateway.sessions(), 2);
}

#[tokio::test]
async fn bad_v3_handshakes_are_refused() {
    let fx = Fixture::start(TIMING).await;
    let no_transport = get(&fx.gateway.url("/engine.io/?EIO=3")).await;
    assert_eq!(no_transport.status, 400);
    assert_eq!(no_transport.error_code(), 0);
    let unknown = get(&fx.gateway.url("/engine.io/?EIO=3&transport=abc")).await;
    assert_eq!(unknown.status, 400);
    assert_eq!(unknown.error_code(), 0);
    let by_post = post(&fx.polling(""), "text/plain;charset=UTF-8", "1:2").await;
    assert_eq!(by_post.status, 400);
    assert_eq!(by_post.error_code(), 2);
    assert_eq!(fx.gateway.sessions(), 0);
    assert!(fx.backend.hooks_of("open").is_empty());
}

#[tokio::test]
async fn websocket_handshake_sends_the_open_packet_first() {
    let fx = Fixture::start(TIMING).await;
    let (_ws, open) = fx.open_ws().await;
    assert_v3_open(&open, json!([]), true);
    let sid = open["sid"].as_str().unwrap();
    let hooks = fx.backend.wait_for("open", Some(sid), 1).await;
    assert_eq!(hooks[0].body["handshake"]["query"]["EIO"], "3");
    assert_eq!(hooks[0].body["handshake"]["protocol"], 3);
    assert_eq!(hooks[0].body["handshake"]["transport"], "websocket");
}

#[tokio::test]
async fn eio3_false_refuses_v3_clients_with_code_5() {
    let fx = Fixture::start("eio3 = false").await;
    for query in ["", "&b64=1", "&j=0"] {
        let answer = get(&fx.polling(query)).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.content_type, "application/json");
        assert_eq!(
            answer.text(),
            r#"{"code":5,"message":"Unsupported protocol version"}"#
        );
    }
    let (status, body) = eio::ws_try_connect(&fx.websocket(""))
        .await
        .map(|_| ())
        .expect_err("a v3 WebSocket is refused");
    assert_eq!(status, 400);
    assert_eq!(
        body,
        r#"{"code":5,"message":"Unsupported protocol version"}"#
    );
    // v4 clients are still served.
    let (sid, _) = eio::handshake(&fx.gateway.url("/engine.io/")).await;
    assert!(!sid.is_empty());
    assert_eq!(fx.gateway.sessions(), 1);
    assert_eq!(fx.backend.hooks_of("open").len(), 1);
}

// Text payloads (b64=1).

#[tokio::test]
async fn text_payloads_round_trip() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("&b64=1").await;
    let url = fx.session(&sid, "&b64=1");

    post_ok(&url, "6:4hello").await;
    fx.poll_text(&sid, "&b64=1", "6:4hello").await;

    post_ok(&url, "6:4test16:4test26:4test3").await;
    fx.poll_text(&sid, "&b64=1", "6:4test16:4test26:4test3")
        .await;

    post_ok(&url, "6:4hello10:b4AQIDBA==").await;
    fx.poll_text(&sid, "&b64=1", "6:4hello10:b4AQIDBA==").await;

    let data = fx.messages(&sid, 6).await;
    assert_eq!(
        data,
        [
            json!("hello"),
            json!("test1"),
            json!("test2"),
            json!("test3"),
            json!("hello"),
            json!({"$binary": "AQIDBA=="}),
        ]
    );
}

#[tokio::test]
async fn text_lengths_count_utf16_units() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("&b64=1").await;
    // "4é😀": é is one unit, 😀 two (a surrogate pair); "4€" two.
    post_ok(&fx.session(&sid, "&b64=1"), "4:4é😀2:4€").await;
    fx.poll_text(&sid, "&b64=1", "4:4é😀2:4€").await;
    assert_eq!(fx.messages(&sid, 2).await, [json!("é😀"), json!("€")]);
}

#[tokio::test]
async fn a_session_opened_with_b64_keeps_text_framing() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("&b64=1").await;
    // Later requests without b64 still get base64 text: the handshake decided.
    post_ok(&fx.session(&sid, ""), "10:b4AQIDBA==").await;
    fx.poll_text(&sid, "", "10:b4AQIDBA==").await;
}

// The XHR2 binary framing (sessions opened without b64).

#[tokio::test]
async fn binary_capable_sessions_get_the_xhr2_framing() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("").await;
    let url = fx.session(&sid, "");

    // Only strings: still a text payload.
    post_ok(&url, "6:4hello").await;
    fx.poll_text(&sid, "", "6:4hello").await;

    post_ok(&url, "6:4hello10:b4AQIDBA==").await;
    // Both echoes are queued before the GET, so one answer carries both.
    fx.messages(&sid, 3).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let answer = get(&url).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/octet-stream");
    assert_eq!(answer.body, FRAMED, "{:02X?}", answer.body);
}

#[tokio::test]
async fn one_reply_with_text_and_binary_is_framed_exactly() {
    // The backend answers `hello` with both packets at once: the next GET must carry them in one framed body.
    let backend = Backend::start(|hook: &common::Hook| match hook.event.as_str() {
        "message" => common::Reply::json(json!({"send": ["hello", {"$binary": "AQIDBA=="}]})),
        _ => common::Reply::ok(""),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), LONG).await;
    let fx = Fixture { backend, gateway };
    let (sid, _) = fx.open("").await;
    let url = fx.session(&sid, "");
    post_ok(&url, "6:4hello").await;
    let answer = get(&url).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/octet-stream");
    assert_eq!(answer.body, FRAMED, "{:02X?}", answer.body);
}

#[tokio::test]
async fn xhr2_binary_post_bodies_are_decoded() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("&b64=1").await;
    let url = fx.session(&sid, "&b64=1");
    let answer = post(&url, "application/octet-stream", FRAMED).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));
    assert_eq!(
        fx.messages(&sid, 2).await,
        [json!("hello"), json!({"$binary": "AQIDBA=="})]
    );
    fx.poll_text(&sid, "&b64=1", "6:4hello10:b4AQIDBA==").await;

    // A ping framed the same way (python-engineio 3 frames every POST so): the pong comes back as text.
    let ping = post(&url, "application/octet-stream", [0x00, 0x01, 0xFF, b'2']).await;
    assert_eq!((ping.status, ping.text().as_str()), (200, "ok"));
    fx.poll_text(&sid, "&b64=1", "1:3").await;

    // UTF-8 text in a framed body: its length counts bytes.
    let text = "4é€";
    let mut body = vec![0x00];
    body.extend(text.len().to_string().bytes().map(|digit| digit - b'0'));
    body.push(0xFF);
    body.extend_from_slice(text.as_bytes());
    let answer = post(&url, "application/octet-stream", body).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));
    assert_eq!(fx.messages(&sid, 3).await[2], json!("é€"));
    fx.poll_text(&sid, "&b64=1", "3:4é€").await;
    assert_eq!(fx.gateway.sessions(), 1);
}

// JSONP (`j=N`).

#[tokio::test]
async fn jsonp_wraps_payloads_and_reads_form_posts() {
    let fx = Fixture::start(LONG).await;
    let answer = get(&fx.polling("&j=0")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "text/javascript; charset=UTF-8");
    let open = open_of_payload(&unwrap_jsonp("0", &answer.text()));
    assert_v3_open(&open, json!(["websocket"]), false);
    let sid = open["sid"].as_str().unwrap().to_string();
    let url = fx.session(&sid, "&j=0");

    // The JSONP client writes a newline as backslash-n (and so escapes them); the form field is `d`.
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("d", "12:4line1\\nline2")
        .finish();
    let answer = post(&url, "application/x-www-form-urlencoded", form).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));
    assert_eq!(fx.messages(&sid, 1).await, [json!("line1\nline2")]);
    let answer = get(&url).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "text/javascript; charset=UTF-8");
    assert_eq!(answer.text(), "___eio[0](\"12:4line1\\nline2\");");

    // U+2028 and U+2029 are escaped (they end a JavaScript line); binary comes as base64 text.
    let form: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("d", "4:4a\u{2028}\u{2029}10:b4AQIDBA==")
        .finish();
    let answer = post(&url, "application/x-www-form-urlencoded", form).await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));
    fx.messages(&sid, 3).await;
    let mut script = String::new();
    let expected = "___eio[0](\"4:4a\\u2028\\u2029\");___eio[0](\"10:b4AQIDBA==\");";
    let expected_once = "___eio[0](\"4:4a\\u2028\\u202910:b4AQIDBA==\");";
    while script.len() < expected_once.len() {
        let answer = get(&url).await;
        assert_eq!(answer.status, 200);
        script.push_str(&answer.text());
    }
    assert!(
        script == expected || script == expected_once,
        "JSONP answers: {script:?}"
    );
    assert_eq!(
        fx.messages(&sid, 3).await[1..],
        [json!("a\u{2028}\u{2029}"), json!({"$binary": "AQIDBA=="})]
    );
}

#[tokio::test]
async fn invalid_jsonp_indexes_are_refused() {
    let fx = Fixture::start(LONG).await;
    for query in [
        "&j=",
        "&j=abc",
        "&j=alert(1)",
        "&j=-1",
        "&j=0x1",
        "&j=1234567890",
    ] {
        let answer = get(&fx.polling(query)).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.error_code(), 3, "{query}");
    }
    assert_eq!(fx.gateway.sessions(), 0);
    assert!(fx.backend.hooks_of("open").is_empty());

    // On an open session too: refused, and the session goes on.
    let (sid, _) = fx.open("&j=7").await;
    let answer = get(&fx.session(&sid, "&j=x")).await;
    assert_eq!(answer.status, 400);
    let answer = post(
        &fx.session(&sid, "&j=x"),
        "application/x-www-form-urlencoded",
        "d=6%3A4hello",
    )
    .await;
    assert_eq!(answer.status, 400);
    let answer = post(
        &fx.session(&sid, "&j=7"),
        "application/x-www-form-urlencoded",
        "d=6%3A4hello",
    )
    .await;
    assert_eq!((answer.status, answer.text().as_str()), (200, "ok"));
    assert_eq!(
        get(&fx.session(&sid, "&j=7")).await.text(),
        "___eio[7](\"6:4hello\");"
    );
}

// Heartbeat: the client pings.

#[tokio::test]
async fn polling_pings_are_answered_with_pongs() {
    let fx = Fixture::start(TIMING).await;
    let (sid, _) = fx.open("&b64=1").await;
    for _ in 0..3 {
        post_ok(&fx.session(&sid, "&b64=1"), "1:2").await;
        // Never a server ping (`1:2`): only the pong.
        fx.poll_text(&sid, "&b64=1", "1:3").await;
    }
    assert!(fx.backend.hooks_of("message").is_empty());
    assert!(fx.backend.hooks_of("close").is_empty());
}

#[tokio::test]
async fn polling_ping_timeout_counts_from_the_last_client_ping() {
    let fx = Fixture::start(TIMING).await;
    let (sid, _) = fx.open("&b64=1").await;
    let url = fx.session(&sid, "&b64=1");
    // 300 ms apart: more than a ping interval, less than interval + timeout (500 ms). Alive 900 ms after the
    // handshake, so the deadline moves with each ping.
    let mut last_ping = Instant::now();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Taken before the ping is sent: the server's deadline counts from when it receives it, which is later
        // (measured after the pong's poll, a loaded machine made the wait look shorter than it was).
        last_ping = Instant::now();
        post_ok(&url, "1:2").await;
        fx.poll_text(&sid, "&b64=1", "1:3").await;
    }
    // A GET is pending when the deadline passes: it is released with a close packet.
    let pending = get(&url).await;
    let waited = last_ping.elapsed();
    assert_eq!(pending.status, 200);
    assert_eq!(pending.text(), "1:1");
    assert!(
        waited >= Duration::from_millis(400) && waited < Duration::from_millis(1500),
        "closed {waited:?} after the last ping (interval + timeout is 500 ms)"
    );
    assert_eq!(fx.close_reason(&sid).await, "ping timeout");
    let late = post(&url, "text/plain;charset=UTF-8", "1:2").await;
    assert_eq!(late.status, 400);
    assert_eq!(late.error_code(), 1);
    eventually("session forgotten", || fx.gateway.sessions() == 0).await;
}

#[tokio::test]
async fn polling_session_without_pings_times_out() {
    let fx = Fixture::start(TIMING).await;
    let (sid, _) = fx.open("").await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let late = post(&fx.session(&sid, ""), "text/plain;charset=UTF-8", "1:2").await;
    assert_eq!(late.status, 400);
    assert_eq!(fx.close_reason(&sid).await, "ping timeout");
}

#[tokio::test]
async fn websocket_pings_are_answered_and_the_server_never_pings() {
    let fx = Fixture::start(TIMING).await;
    let (mut ws, open) = fx.open_ws().await;
    for _ in 0..3 {
        eio::send_text(&mut ws, "2").await;
        assert_eq!(eio::next_text(&mut ws).await, "3");
        // A v4 server would ping 300 ms in; alive 400 ms after the ping (interval + timeout is 500 ms).
        eio::assert_silent(&mut ws, Duration::from_millis(400)).await;
    }
    eio::send_text(&mut ws, "2").await;
    let last_ping = Instant::now();
    assert_eq!(eio::next_text(&mut ws).await, "3");
    let before = frames_until_closed(&mut ws, Duration::from_secs(3)).await;
    let waited = last_ping.elapsed();
    assert!(before.is_empty(), "frames before the close: {before:?}");
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_millis(1500),
        "closed {waited:?} after the last ping"
    );
    let sid = open["sid"].as_str().unwrap();
    assert_eq!(fx.close_reason(sid).await, "ping timeout");
}

#[tokio::test]
async fn silent_websocket_is_closed_after_interval_plus_timeout() {
    let fx = Fixture::start(TIMING).await;
    let start = Instant::now();
    let (mut ws, open) = fx.open_ws().await;
    frames_until_closed(&mut ws, Duration::from_secs(3)).await;
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(450) && waited < Duration::from_millis(1500),
        "closed after {waited:?}"
    );
    assert_eq!(
        fx.close_reason(open["sid"].as_str().unwrap()).await,
        "ping timeout"
    );
}

// WebSocket frames.

#[tokio::test]
async fn websocket_binary_frames_carry_the_type_byte() {
    let fx = Fixture::start(LONG).await;
    let (mut ws, open) = fx.open_ws().await;
    let sid = open["sid"].as_str().unwrap();
    eio::send_binary(&mut ws, &[4, 1, 2, 3, 4]).await;
    assert_eq!(eio::next_binary(&mut ws).await, [4, 1, 2, 3, 4]);
    eio::send_text(&mut ws, "4hello").await;
    assert_eq!(eio::next_text(&mut ws).await, "4hello");
    eio::send_binary(&mut ws, &[4]).await;
    assert_eq!(eio::next_binary(&mut ws).await, [4]);
    assert_eq!(
        fx.messages(sid, 3).await,
        [
            json!({"$binary": "AQIDBA=="}),
            json!("hello"),
            json!({"$binary": ""})
        ]
    );
}

#[tokio::test]
async fn websocket_binary_frame_without_the_message_type_is_a_parse_error() {
    let fx = Fixture::start(LONG).await;
    let (mut bystander, _) = fx.open_ws().await;
    let (mut ws, open) = fx.open_ws().await;
    eio::send_binary(&mut ws, &[1, 2, 3]).await;
    frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    assert_eq!(
        fx.close_reason(open["sid"].as_str().unwrap()).await,
        "parse error"
    );
    eio::send_text(&mut bystander, "4still here").await;
    assert_eq!(eio::next_text(&mut bystander).await, "4still here");
}

#[tokio::test]
async fn websocket_garbage_closes_the_socket() {
    let fx = Fixture::start(LONG).await;
    let (mut ws, open) = fx.open_ws().await;
    eio::send_text(&mut ws, "abc").await;
    frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    assert_eq!(
        fx.close_reason(open["sid"].as_str().unwrap()).await,
        "parse error"
    );
}

// Closing.

#[tokio::test]
async fn close_packet_releases_the_pending_get_with_a_noop() {
    let fx = Fixture::start(LONG).await;
    let (sid, _) = fx.open("&b64=1").await;
    let url = fx.session(&sid, "&b64=1");
    let pending = tokio::spawn({
        let url = url.clone();
        async move { get(&url).await }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    post_ok(&url, "1:1").await;
    let pending = pending.await.unwrap();
    assert_eq!((pending.status, pending.text().as_str()), (200, "1:6"));
    let after = get(&url).await;
    assert_eq!(after.status, 400);
    assert_eq!(after.error_code(), 1);
    assert_eq!(fx.close_reason(&sid).await, "transport close");
    assert_eq!(fx.gateway.sessions(), 0);
}

#[tokio::test]
async fn websocket_close_packet_ends_the_session() {
    let fx = Fixture::start(LONG).await;
    let (mut ws, open) = fx.open_ws().await;
    eio::send_text(&mut ws, "1").await;
    frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    assert_eq!(
        fx.close_reason(open["sid"].as_str().unwrap()).await,
        "transport close"
    );
    eventually("session forgotten", || fx.gateway.sessions() == 0).await;
}

// Upgrade.

/// Opens a polling session and probes a WebSocket for it, up to the `3probe`; the pending poll gets `1:6`.
async fn probed(fx: &Fixture, query: &str) -> (String, Ws) {
    let (sid, _) = fx.open(query).await;
    let mut ws = ws_connect(&fx.websocket(&format!("&sid={sid}"))).await;
    eio::send_text(&mut ws, "2probe").await;
    assert_eq!(eio::next_text(&mut ws).await, "3probe");
    let poll = get(&fx.session(&sid, query)).await;
    assert_eq!((poll.status, poll.text().as_str()), (200, "1:6"));
    (sid, ws)
}

#[tokio::test]
async fn upgrade_moves_the_session_to_websocket() {
    let fx = Fixture::start(LONG).await;
    for query in ["&b64=1", ""] {
        let (sid, mut ws) = probed(&fx, query).await;
        eio::send_text(&mut ws, "5").await;
        eio::send_text(&mut ws, "4hello").await;
        assert_eq!(eio::next_text(&mut ws).await, "4hello");
        let after = get(&fx.session(&sid, query)).await;
        assert_eq!(after.status, 400, "polling after the upgrade");
        // Binary on the upgraded socket keeps the v3 type byte.
        eio::send_binary(&mut ws, &[4, 1, 2, 3, 4]).await;
        assert_eq!(eio::next_binary(&mut ws).await, [4, 1, 2, 3, 4]);
        // Client pings go on over the WebSocket.
        eio::send_text(&mut ws, "2").await;
        assert_eq!(eio::next_text(&mut ws).await, "3");
        let messages = fx.messages(&sid, 2).await;
        assert_eq!(messages, [json!("hello"), json!({"$binary": "AQIDBA=="})]);
    }
}

#[tokio::test]
async fn polling_after_the_upgrade_is_refused() {
    let fx = Fixture::start(LONG).await;
    let (sid, mut ws) = probed(&fx, "&b64=1").await;
    upgrade(&mut ws).await;
    let poll = get(&fx.session(&sid, "&b64=1")).await;
    assert_eq!(poll.status, 400);
    eio::send_text(&mut ws, "4hello").await;
    assert_eq!(eio::next_text(&mut ws).await, "4hello");
}

#[tokio::test]
async fn a_second_websocket_for_an_upgraded_session_is_closed() {
    let fx = Fixture::start(LONG).await;
    let (sid, mut ws) = probed(&fx, "&b64=1").await;
    upgrade(&mut ws).await;
    let mut second = ws_connect(&fx.websocket(&format!("&sid={sid}"))).await;
    let before = frames_until_closed(&mut second, Duration::from_secs(2)).await;
    assert!(before.is_empty(), "{before:?}");
    eio::send_text(&mut ws, "4hello").await;
    assert_eq!(eio::next_text(&mut ws).await, "4hello");
}

/// Completes the upgrade with `5`; a message echoed afterwards shows the gateway has handled it.
async fn upgrade(ws: &mut Ws) {
    eio::send_text(ws, "5").await;
    eio::send_text(ws, "4upgraded").await;
    assert_eq!(eio::next_text(ws).await, "4upgraded");
}

// Malformed payloads.

#[tokio::test]
async fn malformed_text_payloads_close_only_their_session() {
    // The default heartbeat: the bystander does not ping.
    let fx = Fixture::start("").await;
    let (bystander, _) = fx.open("&b64=1").await;
    for bad in [
        "abc",
        "5:4hi",
        "x:4hi",
        "2:4h3:",
        ":4hi",
        "0:",
        "6:4hello5",
        "3:b4!",
    ] {
        let (sid, _) = fx.open("&b64=1").await;
        let url = fx.session(&sid, "&b64=1");
        let answer = post(&url, "text/plain;charset=UTF-8", bad).await;
        assert_eq!(answer.status, 400, "{bad:?}");
        assert_eq!(fx.close_reason(&sid).await, "parse error", "{bad:?}");
        assert_eq!(get(&url).await.status, 400, "{bad:?}: session gone");
        // The other session is untouched.
        post_ok(&fx.session(&bystander, "&b64=1"), "6:4hello").await;
        fx.poll_text(&bystander, "&b64=1", "6:4hello").await;
    }
    assert_eq!(fx.gateway.sessions(), 1);
    assert_eq!(fx.backend.hooks_of("close").len(), 8);
    assert!(
        fx.backend
            .hooks_of("message")
            .iter()
            .all(|hook| hook.body["sid"] == bystander.as_str()),
        "a malformed payload reached the backend"
    );
}

#[tokio::test]
async fn malformed_binary_framing_closes_only_its_session() {
    // The default heartbeat: the bystander does not ping.
    let fx = Fixture::start("").await;
    let (bystander, _) = fx.open("").await;
    let cases: [&[u8]; 8] = [
        &[0x02, 0x01, 0xFF, b'2'],       // neither text (0) nor binary (1)
        &[0x00, 0x05, 0xFF, b'2'],       // longer than the body
        &[0x00, 0xFF, b'2'],             // no length digits
        &[0x00, 0x01, 0x02],             // no 0xFF after the digits
        &[0x00, 0x0A, 0xFF, b'2'],       // a "digit" above 9
        &[0x01, 0x02, 0xFF, 0x02, 0x01], // binary whose type is not a message
        &[0x00, 0x02, 0xFF, 0xC3, 0x28], // text that is not UTF-8
        &[0x00, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xFF], // an absurd length
    ];
    for bad in cases {
        let (sid, _) = fx.open("").await;
        let url = fx.session(&sid, "");
        let answer = post(&url, "application/octet-stream", bad).await;
        assert_eq!(answer.status, 400, "{bad:02X?}");
        assert_eq!(fx.close_reason(&sid).await, "parse error", "{bad:02X?}");
        assert_eq!(get(&url).await.status, 400, "{bad:02X?}: session gone");
        post_ok(&fx.session(&bystander, ""), "6:4hello").await;
        fx.poll_text(&bystander, "", "6:4hello").await;
    }
    assert_eq!(fx.gateway.sessions(), 1);
    assert!(
        fx.backend
            .hooks_of("message")
            .iter()
            .all(|hook| hook.body["sid"] == bystander.as_str()),
        "a malformed payload reached the backend"
    );
}
