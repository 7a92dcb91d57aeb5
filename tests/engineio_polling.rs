//! Engine.IO v4 over long-polling against a running gateway and a real webhook backend.

use crate::common;
use common::eio::{self, get, handshake, poll_url, post};
use common::{Backend, Gateway};
use std::time::Duration;

const TIMING: &str = "ping_interval = \"300ms\"\nping_timeout = \"200ms\"\ncors_origins = [\"*\"]";

#[tokio::test]
async fn handshake_has_exactly_the_reference_keys() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let answer = get(&gateway.url("/engine.io/?EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=UTF-8")
    );
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("x-accel-buffering"), Some("no"));
    let open: serde_json::Value =
        serde_json::from_str(answer.text.strip_prefix('0').unwrap()).unwrap();
    let keys: Vec<&str> = open
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "sid",
            "upgrades",
            "pingInterval",
            "pingTimeout",
            "maxPayload"
        ]
    );
    assert_eq!(open["upgrades"], serde_json::json!(["websocket"]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    assert_eq!(open["maxPayload"], 1_000_000);
    let hooks = backend
        .wait_for("open", Some(open["sid"].as_str().unwrap()), 1)
        .await;
    assert_eq!(hooks[0].body["handshake"]["query"]["EIO"], "4");
    assert_eq!(hooks[0].body["handshake"]["transport"], "polling");
}

#[tokio::test]
async fn text_and_binary_messages_are_echoed_through_the_backend() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let answer = post(&poll_url(&base, &sid), "4hello\u{1e}bAQIDBA==\u{1e}4€").await;
    assert_eq!((answer.status, answer.text.as_str()), (200, "ok"));
    assert_eq!(answer.header("content-type"), Some("text/html"));
    let mut received = String::new();
    while received.split('\u{1e}').count() < 3 {
        let poll = get(&poll_url(&base, &sid)).await;
        assert_eq!(poll.status, 200);
        if !received.is_empty() {
            received.push('\u{1e}');
        }
        received.push_str(&poll.text);
    }
    assert_eq!(received, "4hello\u{1e}bAQIDBA==\u{1e}4€");
    let hooks = backend.wait_for("message", Some(&sid), 3).await;
    assert_eq!(hooks[0].body["data"], "hello");
    assert_eq!(
        hooks[1].body["data"],
        serde_json::json!({"$binary": "AQIDBA=="})
    );
    assert_eq!(hooks[2].body["data"], "€");
}

#[tokio::test]
async fn paths_match_only_the_endpoint_and_its_subpaths() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    assert_eq!(
        get(&gateway.url("/engine.io?EIO=4&transport=polling"))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&gateway.url("/engine.io/?EIO=4&transport=polling"))
            .await
            .status,
        200
    );
    assert_eq!(
        get(&gateway.url("/engine.ioX?EIO=4&transport=polling"))
            .await
            .status,
        404
    );
    assert_eq!(
        get(&gateway.url("/other/?EIO=4&transport=polling"))
            .await
            .status,
        404
    );
    assert_eq!(get(&gateway.url("/healthz")).await.text, "ok");
    assert_eq!(get(&gateway.url("/readyz")).await.status, 200);
}

#[tokio::test]
async fn several_endpoints_in_one_process_reach_their_own_webhooks() {
    let first = Backend::echo().await;
    let second = Backend::echo().await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/a\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n\
         [[endpoint]]\npath = \"/a/b\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
        first.url(),
        second.url()
    ))
    .await;
    let (sid_a, _) = handshake(&gateway.url("/a/")).await;
    let (sid_b, _) = handshake(&gateway.url("/a/b/")).await;
    assert_eq!(
        first.wait_for("open", Some(&sid_a), 1).await[0].body["endpoint"],
        "/a"
    );
    assert_eq!(
        second.wait_for("open", Some(&sid_b), 1).await[0].body["endpoint"],
        "/a/b"
    );
    assert!(
        first
            .hooks_of("open")
            .iter()
            .all(|h| h.body["sid"] != sid_b.as_str())
    );
    // A session of one endpoint is unknown to the other.
    let cross = get(&poll_url(&gateway.url("/a/"), &sid_b)).await;
    assert_eq!(
        cross.json(),
        serde_json::json!({"code": 1, "message": "Session ID unknown"})
    );
}

#[tokio::test]
async fn server_pings_and_a_silent_client_times_out_with_a_close_hook() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let started = tokio::time::Instant::now();
    let ping = get(&poll_url(&base, &sid)).await;
    assert_eq!(ping.text, "2");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(250),
        "ping came after {waited:?}"
    );
    // No pong: the session closes and the pending poll gets a close packet.
    let last = get(&poll_url(&base, &sid)).await;
    assert_eq!(last.text, "1");
    let close = backend.wait_for("close", Some(&sid), 1).await;
    assert_eq!(close[0].body["reason"], "ping timeout");
    let gone = get(&poll_url(&base, &sid)).await;
    assert_eq!(gone.status, 400);
}

#[tokio::test]
async fn a_client_that_answers_pings_stays_connected() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    for _ in 0..4 {
        assert_eq!(get(&poll_url(&base, &sid)).await.text, "2");
        assert_eq!(post(&poll_url(&base, &sid), "3").await.text, "ok");
    }
    assert!(backend.hooks_of("close").is_empty());
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn client_close_packet_ends_the_session() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let pending = tokio::spawn(get(poll_url(&base, &sid).leak()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(post(&poll_url(&base, &sid), "1").await.text, "ok");
    // As the reference server does: the pending poll is released with a noop, then the sid is gone.
    assert_eq!(pending.await.unwrap().text, "6");
    assert_eq!(get(&poll_url(&base, &sid)).await.status, 400);
    assert_eq!(
        backend.wait_for("close", Some(&sid), 1).await[0].body["reason"],
        "transport close"
    );
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
}
