//! Webhooks of engine.io endpoints against a real backend: headers, signatures, body fields, replies acted on,
//! backend failures, per-session ordering, close retries, disabled hooks and graceful shutdown.

use crate::common;
use iogate::server::HttpHandler;

use common::eio::{self, get, handshake, http, poll_url, post};
use common::{Backend, Gateway, Hook, Reply};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Polls session `sid` until at least `count` packets have arrived; returns them in order.
async fn receive(base: &str, sid: &str, count: usize) -> Vec<String> {
    let mut packets = Vec::new();
    while packets.len() < count {
        let poll = tokio::time::timeout(Duration::from_secs(5), get(&poll_url(base, sid)))
            .await
            .expect("poll answered within 5 s");
        assert_eq!(poll.status, 200, "poll failed: {}", poll.text);
        packets.extend(poll.text.split('\u{1e}').map(str::to_string));
    }
    packets
}

/// A GET on session `sid` left pending in the background.
fn pending_poll(base: &str, sid: &str) -> tokio::task::JoinHandle<eio::Answer> {
    let url = poll_url(base, sid);
    tokio::spawn(async move { get(&url).await })
}

/// Sends `text` as a message and checks the echo backend sends it back.
async fn assert_echoes(base: &str, sid: &str, text: &str) {
    let answer = post(&poll_url(base, sid), format!("4{text}")).await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "ok"));
    assert_eq!(receive(base, sid, 1).await, [format!("4{text}")]);
}

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// HMAC-SHA256(secret, "<t>.<body>") in hex, computed here rather than by iogate.
fn independent_hmac(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Splits `t=<t>,v1=<a>[,v1=<b>]` into the timestamp and the signatures, rejecting anything else.
fn parse_signature(header: &str) -> (String, Vec<String>) {
    let mut parts = header.split(',');
    let timestamp = parts
        .next()
        .and_then(|first| first.strip_prefix("t="))
        .unwrap_or_else(|| panic!("signature must start with t=: {header:?}"))
        .to_string();
    let signatures = parts
        .map(|part| {
            part.strip_prefix("v1=")
                .unwrap_or_else(|| panic!("unexpected signature part {part:?} in {header:?}"))
                .to_string()
        })
        .collect();
    (timestamp, signatures)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Drives one session through open, message and close; returns its hooks in arrival order.
async fn open_message_close(backend: &Backend, gateway: &Gateway) -> (String, Vec<Hook>) {
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    assert_echoes(&base, &sid, "hello").await;
    let pending = pending_poll(&base, &sid);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(post(&poll_url(&base, &sid), "1").await.text, "ok");
    // The client closed the session itself: its pending poll is only released, as the reference server does.
    assert_eq!(pending.await.expect("poll task").text, "6");
    backend.wait_for("close", Some(&sid), 1).await;
    let hooks = backend
        .hooks()
        .into_iter()
        .filter(|h| h.body["sid"] == sid.as_str())
        .collect();
    (sid, hooks)
}

#[tokio::test]
async fn every_hook_names_its_event_has_a_unique_delivery_and_is_json() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (_, first) = open_message_close(&backend, &gateway).await;
    let (_, second) = open_message_close(&backend, &gateway).await;
    for hooks in [&first, &second] {
        let events: Vec<&str> = hooks.iter().map(|h| h.event.as_str()).collect();
        assert_eq!(events, ["open", "message", "close"]);
        for hook in hooks {
            assert_eq!(hook.content_type, "application/json");
            assert_eq!(hook.path, "/hook");
            assert_eq!(hook.body["type"], hook.event.as_str());
            assert!(hook.signature.is_none(), "no secret, no signature");
        }
    }
    let deliveries: HashSet<&str> = first
        .iter()
        .chain(&second)
        .map(|h| h.delivery.as_str())
        .collect();
    assert_eq!(deliveries.len(), 6, "delivery ids repeat: {deliveries:?}");
    assert!(deliveries.iter().all(|d| d.len() >= 16), "{deliveries:?}");
}

#[tokio::test]
async fn bodies_carry_the_documented_fields() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let answer = eio::answer(
        http()
            .get(format!("{base}?EIO=4&transport=polling&token=abc%20d"))
            .header("x-test", "yes")
            .send()
            .await
            .expect("handshake"),
    )
    .await;
    assert_eq!(answer.status, 200);
    let open: Value = serde_json::from_str(answer.text.strip_prefix('0').expect("open packet"))
        .expect("open JSON");
    let sid = open["sid"].as_str().expect("sid").to_string();
    let open_hook = &backend.wait_for("open", Some(&sid), 1).await[0];
    let body = &open_hook.body;
    assert_eq!(body["type"], "open");
    assert_eq!(body["endpoint"], "/engine.io");
    assert_eq!(body["sid"], sid.as_str());
    let handshake = &body["handshake"];
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["headers"]["x-test"], "yes");
    assert_eq!(
        handshake["headers"]["host"],
        gateway.address.to_string().as_str()
    );
    assert_eq!(
        handshake["query"],
        json!({"EIO": "4", "transport": "polling", "token": "abc d"})
    );
    assert_eq!(handshake["transport"], "polling");
    assert_eq!(handshake["protocol"], 4);
    assert_eq!(handshake["secure"], false);
    let time = handshake["time"].as_str().expect("time is a string");
    let time = humantime::parse_rfc3339(time).expect("time is RFC 3339");
    let age = SystemTime::now()
        .duration_since(time)
        .unwrap_or(Duration::ZERO);
    assert!(age < Duration::from_secs(60), "handshake time {age:?} ago");

    let sent = post(&poll_url(&base, &sid), "4hi\u{1e}bAQID").await;
    assert_eq!(sent.status, 200);
    let messages = backend.wait_for("message", Some(&sid), 2).await;
    for message in &messages {
        assert_eq!(message.body["type"], "message");
        assert_eq!(message.body["endpoint"], "/engine.io");
        assert_eq!(message.body["sid"], sid.as_str());
    }
    assert_eq!(messages[0].body["data"], "hi");
    assert_eq!(messages[1].body["data"], json!({"$binary": "AQID"}));

    let pending = pending_poll(&base, &sid);
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(&poll_url(&base, &sid), "1").await;
    pending.await.expect("poll task");
    let close = &backend.wait_for("close", Some(&sid), 1).await[0];
    assert_eq!(close.body["type"], "close");
    assert_eq!(close.body["endpoint"], "/engine.io");
    assert_eq!(close.body["sid"], sid.as_str());
    assert_eq!(close.body["reason"], "transport close");
}

#[tokio::test]
async fn one_secret_signs_every_hook_verifiably() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "secret = \"s1\"").await;
    let (_, hooks) = open_message_close(&backend, &gateway).await;
    assert_eq!(hooks.len(), 3);
    for hook in &hooks {
        let header = hook.signature.as_deref().expect("signed");
        let (timestamp, signatures) = parse_signature(header);
        let t: u64 = timestamp.parse().expect("t is unix seconds");
        assert!(t.abs_diff(now_secs()) < 60, "t={t} is not now");
        assert_eq!(
            signatures,
            [independent_hmac("s1", &timestamp, &hook.raw)],
            "{}",
            hook.event
        );
        assert!(iogate::relay::signing::verify(header, "s1", &hook.raw));
        assert!(!iogate::relay::signing::verify(header, "s2", &hook.raw));
        let mut tampered = hook.raw.to_vec();
        tampered.push(b' ');
        assert!(!iogate::relay::signing::verify(header, "s1", &tampered));
        assert_ne!(signatures[0], independent_hmac("s1", &timestamp, &tampered));
    }
}

#[tokio::test]
async fn rotating_secrets_add_one_verifiable_signature_each() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "secret = [\"old\", \"new\"]").await;
    let (_, hooks) = open_message_close(&backend, &gateway).await;
    assert_eq!(hooks.len(), 3);
    for hook in &hooks {
        let header = hook.signature.as_deref().expect("signed");
        let (timestamp, signatures) = parse_signature(header);
        assert_eq!(
            signatures,
            [
                independent_hmac("old", &timestamp, &hook.raw),
                independent_hmac("new", &timestamp, &hook.raw)
            ]
        );
        assert!(iogate::relay::signing::verify(header, "old", &hook.raw));
        assert!(iogate::relay::signing::verify(header, "new", &hook.raw));
        assert!(!iogate::relay::signing::verify(header, "older", &hook.raw));
    }
}

#[tokio::test]
async fn open_reject_answers_403_with_the_backend_context_and_keeps_no_session() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "open" => Reply::json(json!({"reject": {"message": "no"}})),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let answer = get(&format!("{base}?EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    assert_eq!(
        answer.text,
        r#"{"code":4,"message":"Forbidden","context":{"message":"no"}}"#
    );
    let refused = &backend.wait_for("open", None, 1).await[0];
    let sid = refused.body["sid"].as_str().expect("sid");
    assert_eq!(gateway.sessions(), 0);
    assert_eq!(
        get(&poll_url(&base, sid)).await.json(),
        json!({"code": 1, "message": "Session ID unknown"})
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        backend.hooks_of("close").is_empty(),
        "a refused session never opened"
    );
}

#[tokio::test]
async fn failed_open_hooks_answer_502_and_nothing_else_is_affected() {
    let backend = Backend::start(|hook: &Hook| {
        let mode = hook.body["handshake"]["query"]["mode"].as_str();
        match (hook.event.as_str(), mode) {
            ("open", Some("fail")) => Reply::status(500),
            ("open", Some("slow")) => Reply::ok("").after(Duration::from_secs(1)),
            ("open", Some("garbage")) => Reply::ok("<html>"),
            _ => common::backend::echo(hook),
        }
    })
    .await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\nwebhook_timeout = \"200ms\"\n\
         [[endpoint]]\npath = \"/dead\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:{}/hook\"\n",
        backend.url(),
        closed_port()
    ))
    .await;
    let base = gateway.url("/engine.io/");
    let (bystander, _) = handshake(&base).await;
    let attempts = [
        format!("{base}?EIO=4&transport=polling&mode=fail"),
        format!("{base}?EIO=4&transport=polling&mode=slow"),
        format!("{base}?EIO=4&transport=polling&mode=garbage"),
        gateway.url("/dead/?EIO=4&transport=polling"),
    ];
    for (index, url) in attempts.iter().enumerate() {
        let started = tokio::time::Instant::now();
        let answer = get(url).await;
        assert_eq!(answer.status, 502, "{url}: {}", answer.text);
        assert_eq!(
            answer.json(),
            json!({"code": 4, "message": "Forbidden"}),
            "{url}"
        );
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "{url} took {:?}",
            started.elapsed()
        );
        assert_eq!(gateway.sessions(), 1, "{url} left a session behind");
        assert_echoes(&base, &bystander, &format!("still-here-{index}")).await;
    }
    assert_eq!(get(&gateway.url("/healthz")).await.text, "ok");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(backend.hooks_of("close").is_empty());
}

#[tokio::test]
async fn open_reply_send_reaches_the_first_poll() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "open" => Reply::json(json!({"send": ["hi"]})),
        _ => common::backend::echo(hook),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    assert_eq!(get(&poll_url(&base, &sid)).await.text, "4hi");
}

#[tokio::test]
async fn message_reply_send_delivers_text_and_binary() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "message" => Reply::json(json!({"send": ["a", {"$binary": "AQI="}]})),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    assert_eq!(post(&poll_url(&base, &sid), "4go").await.text, "ok");
    assert_eq!(receive(&base, &sid, 2).await, ["4a", "bAQI="]);
}

#[tokio::test]
async fn message_reply_close_ends_the_session_as_forced_close() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "message" => Reply::json(json!({"close": true})),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let pending = pending_poll(&base, &sid);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(post(&poll_url(&base, &sid), "4bye").await.text, "ok");
    assert_eq!(pending.await.expect("poll task").text, "1");
    let close = backend.wait_for("close", Some(&sid), 1).await;
    assert_eq!(close[0].body["reason"], "forced close");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn garbage_message_reply_is_ignored_and_the_session_stays_up() {
    let backend = Backend::start(|hook: &Hook| match hook.body["data"].as_str() {
        Some("garbage") => Reply::ok("<html>"),
        Some("bad-binary") => Reply::json(json!({"send": [{"$binary": "!!"}], "close": true})),
        _ => common::backend::echo(hook),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    post(&poll_url(&base, &sid), "4garbage\u{1e}4bad-binary").await;
    backend.wait_for("message", Some(&sid), 2).await;
    assert_echoes(&base, &sid, "after").await;
    assert!(backend.hooks_of("close").is_empty());
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn message_hooks_of_a_session_arrive_in_the_order_sent() {
    let backend = Backend::start(|_: &Hook| {
        let delay = Duration::from_millis(rand::random_range(0..=20));
        Reply::ok("").after(delay)
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (first, _) = handshake(&base).await;
    let (second, _) = handshake(&base).await;
    let send_fifty = |sid: String| {
        let base = base.clone();
        async move {
            for batch in 0..5 {
                let payload: Vec<String> = (0..10)
                    .map(|i| format!("4{sid}-{}", batch * 10 + i))
                    .collect();
                let answer = post(&poll_url(&base, &sid), payload.join("\u{1e}")).await;
                assert_eq!(answer.text, "ok");
            }
        }
    };
    tokio::join!(send_fifty(first.clone()), send_fifty(second.clone()));
    for sid in [&first, &second] {
        let hooks = backend.wait_for("message", Some(sid), 50).await;
        let data: Vec<&str> = hooks
            .iter()
            .map(|h| h.body["data"].as_str().unwrap())
            .collect();
        let expected: Vec<String> = (0..50).map(|i| format!("{sid}-{i}")).collect();
        assert_eq!(data, expected);
    }
}

#[tokio::test]
async fn close_hook_is_retried_with_the_same_delivery_id() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let counter = attempts.clone();
    let backend = Backend::start(move |hook: &Hook| {
        if hook.event == "close" && counter.fetch_add(1, Ordering::SeqCst) < 2 {
            return Reply::status(503);
        }
        common::backend::echo(hook)
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "secret = \"s1\"").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    post(&poll_url(&base, &sid), "1").await;
    let closes = backend.wait_for("close", Some(&sid), 3).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        backend.hooks_of("close").len(),
        3,
        "no delivery after a 200"
    );
    assert_eq!(attempts.load(Ordering::SeqCst), 3);
    for close in &closes {
        assert_eq!(close.delivery, closes[0].delivery);
        assert_eq!(close.raw, closes[0].raw);
        assert!(iogate::relay::signing::verify(
            close.signature.as_deref().expect("signed"),
            "s1",
            &close.raw
        ));
    }
    assert_eq!(closes[0].body["reason"], "transport close");
}

#[tokio::test]
async fn disabled_lifecycle_hooks_are_not_sent_and_sessions_are_accepted() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(
        &backend.url(),
        "hooks = { connect = false, disconnect = false }",
    )
    .await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    assert_echoes(&base, &sid, "hello").await;
    let pending = pending_poll(&base, &sid);
    tokio::time::sleep(Duration::from_millis(50)).await;
    post(&poll_url(&base, &sid), "1").await;
    assert_eq!(pending.await.expect("poll task").text, "6");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let events: Vec<String> = backend.hooks().into_iter().map(|h| h.event).collect();
    assert_eq!(events, ["message"]);
}

#[tokio::test]
async fn graceful_shutdown_closes_sessions_and_delivers_close_hooks_before_returning() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (idle, _) = handshake(&base).await;
    let (waiting, _) = handshake(&base).await;
    // The poll's connection must be accepted before the listener stops (a loaded machine may take longer than a
    // fixed pause). The handshakes' connections go first, so that the one connection counted next is the poll's
    // (a handshake's connection still closing could otherwise stand in for a poll not yet accepted).
    eio::eventually("the handshakes' connections to be gone", || {
        gateway.running.app.gate().open_connections() == 0
    })
    .await;
    let pending = pending_poll(&base, &waiting);
    eio::eventually("the poll's connection to be the only one", || {
        gateway.running.app.gate().open_connections() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let delivered = gateway.running.shutdown(Duration::from_secs(5)).await;
    assert!(delivered, "shutdown reported webhooks still pending");
    // Shutdown waits for the last webhooks: they have arrived by the time it returns.
    let closes = backend.hooks_of("close");
    let mut closed: Vec<&str> = closes
        .iter()
        .map(|h| h.body["sid"].as_str().unwrap())
        .collect();
    closed.sort_unstable();
    let mut expected = [idle.as_str(), waiting.as_str()];
    expected.sort_unstable();
    assert_eq!(closed, expected);
    assert!(
        closes
            .iter()
            .all(|h| h.body["reason"] == "server shutting down"),
        "{closes:?}"
    );
    assert_eq!(pending.await.expect("poll task").text, "1");
}
