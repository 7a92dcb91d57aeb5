//! Engine.IO v4 over WebSocket (new sessions and upgrades from polling) against a running gateway and a real
//! webhook backend.

use crate::common;
use common::eio::{
    self, Ws, assert_silent, frames_until_closed, get, handshake, next_binary, next_text, poll_url,
    post, send_binary, send_text, ws_connect, ws_handshake, ws_handshake_url, ws_try_connect,
    ws_upgrade_url,
};
use common::{Backend, Gateway};
use futures_util::SinkExt;
use serde_json::json;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;

const TIMING: &str = "ping_interval = \"300ms\"\nping_timeout = \"200ms\"";

/// The Engine.IO error body for `code`.
fn error_body(code: u8, message: &str) -> serde_json::Value {
    json!({ "code": code, "message": message })
}

/// Runs the probe on `ws` (`2probe` -> `3probe`).
async fn probe(ws: &mut Ws) {
    send_text(ws, "2probe").await;
    assert_eq!(next_text(ws).await, "3probe");
}

/// Asserts that an upgrade attempt at `url` is refused: an HTTP 400 `{"code":3,...}`, or (as the reference server
/// does) a WebSocket closed at once that never answers a probe.
async fn assert_upgrade_refused(url: &str) {
    match ws_try_connect(url).await {
        Err((status, body)) => {
            assert_eq!(status, 400, "refused with {body}");
            assert_eq!(
                serde_json::from_str::<serde_json::Value>(&body).unwrap(),
                error_body(3, "Bad request")
            );
        }
        Ok(mut ws) => {
            // The server may already have closed it: a failed send is fine, an answer is not.
            let _ = ws.send(Frame::Text("2probe".into())).await;
            let before = frames_until_closed(&mut ws, Duration::from_secs(1)).await;
            assert!(before.is_empty(), "a refused upgrade answered: {before:?}");
        }
    }
}

/// Sends a message over `ws` and expects the echo backend's copy back.
async fn assert_echo(ws: &mut Ws, text: &str) {
    send_text(ws, &format!("4{text}")).await;
    assert_eq!(next_text(ws).await, format!("4{text}"));
}

#[tokio::test]
async fn websocket_only_handshake_opens_with_no_upgrades() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let (_ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
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
    assert_eq!(open["upgrades"], json!([]));
    assert_eq!(open["pingInterval"], 300);
    assert_eq!(open["pingTimeout"], 200);
    let sid = open["sid"].as_str().unwrap();
    let hooks = backend.wait_for("open", Some(sid), 1).await;
    assert_eq!(hooks[0].body["handshake"]["transport"], "websocket");
    assert_eq!(
        hooks[0].body["handshake"]["query"]["transport"],
        "websocket"
    );
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn text_and_binary_messages_are_echoed_over_websocket() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();
    send_text(&mut ws, "4hello").await;
    send_binary(&mut ws, &[1, 2, 3, 0, 255]).await;
    send_text(&mut ws, "4€uro").await;
    assert_eq!(next_text(&mut ws).await, "4hello");
    assert_eq!(next_binary(&mut ws).await, [1, 2, 3, 0, 255]);
    assert_eq!(next_text(&mut ws).await, "4€uro");
    let hooks = backend.wait_for("message", Some(sid), 3).await;
    assert_eq!(hooks[0].body["data"], "hello");
    assert_eq!(hooks[1].body["data"], json!({"$binary": "AQIDAP8="}));
    assert_eq!(hooks[2].body["data"], "€uro");
}

#[tokio::test]
async fn server_pings_over_websocket_and_pongs_keep_the_session() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let started = tokio::time::Instant::now();
    for round in 0..4 {
        assert_eq!(next_text(&mut ws).await, "2", "ping {round}");
        if round == 0 {
            let waited = started.elapsed();
            assert!(
                waited >= Duration::from_millis(250),
                "ping came after {waited:?}"
            );
        }
        send_text(&mut ws, "3").await;
    }
    // The session still carries messages after several heartbeats.
    assert_echo(&mut ws, "still here").await;
    assert!(backend.hooks_of("close").is_empty());
    assert_eq!(gateway.sessions(), 1);
    let sid = open["sid"].as_str().unwrap();
    assert_eq!(backend.hooks_of("open")[0].body["sid"], sid);
}

#[tokio::test]
async fn a_silent_websocket_client_times_out() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();
    assert_eq!(next_text(&mut ws).await, "2");
    let unanswered = tokio::time::Instant::now();
    let before = frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    let waited = unanswered.elapsed();
    assert!(
        waited >= Duration::from_millis(150),
        "closed {waited:?} after the ping"
    );
    assert!(
        before
            .iter()
            .all(|f| f.to_text().is_ok_and(|t| t == "1" || t == "2")),
        "unexpected frames before close: {before:?}"
    );
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "ping timeout");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn close_packet_over_websocket_ends_the_session() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();
    send_text(&mut ws, "1").await;
    frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport close");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn close_frame_ends_the_session_with_transport_close() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let sid = open["sid"].as_str().unwrap();
    ws.close(None).await.expect("close frame sent");
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport close");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("close").len(), 1);
}

#[tokio::test]
async fn polling_session_upgrades_and_queued_messages_follow_over_websocket() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, open) = handshake(&base).await;
    assert_eq!(open["upgrades"], json!(["websocket"]));
    let pending = tokio::spawn(get(poll_url(&base, &sid).leak()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut ws = ws_connect(&ws_upgrade_url(&gateway.ws_url("/engine.io/"), &sid)).await;
    probe(&mut ws).await;
    // The poll that was waiting is released with a noop.
    assert_eq!(pending.await.unwrap().text, "6");
    // A message echoed while the upgrade is in progress waits for the new transport.
    assert_eq!(post(&poll_url(&base, &sid), "4queued").await.text, "ok");
    backend.wait_for("message", Some(&sid), 1).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    send_text(&mut ws, "5").await;
    assert_eq!(next_text(&mut ws).await, "4queued");
    assert_echo(&mut ws, "after upgrade").await;
    send_binary(&mut ws, &[9, 8, 7]).await;
    assert_eq!(next_binary(&mut ws).await, [9, 8, 7]);
    // Polling is over for this session.
    let late = get(&poll_url(&base, &sid)).await;
    assert_eq!(
        (late.status, late.json()),
        (400, error_body(3, "Bad request"))
    );
    assert!(backend.hooks_of("close").is_empty());
    assert_eq!(gateway.sessions(), 1);
    let hooks = backend.wait_for("message", Some(&sid), 3).await;
    assert_eq!(hooks[1].body["data"], "after upgrade");
    assert_eq!(hooks[2].body["data"], json!({"$binary": "CQgH"}));
    // Closing the upgraded transport ends the session.
    ws.close(None).await.expect("close frame sent");
    let close = backend.wait_for("close", Some(&sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport close");
}

#[tokio::test]
async fn an_abandoned_upgrade_does_not_leak() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "upgrade_timeout = \"300ms\"").await;
    let base = gateway.url("/engine.io/");
    let ws_base = gateway.ws_url("/engine.io/");
    let (sid, _) = handshake(&base).await;

    // A WebSocket that never probes is dropped after the upgrade timeout.
    let mut silent = ws_connect(&ws_upgrade_url(&ws_base, &sid)).await;
    let started = tokio::time::Instant::now();
    assert!(
        frames_until_closed(&mut silent, Duration::from_secs(2))
            .await
            .is_empty()
    );
    assert!(started.elapsed() >= Duration::from_millis(250));

    // One that probes but never sends `5` is dropped too, and the session goes on over polling.
    let pending = tokio::spawn(get(poll_url(&base, &sid).leak()));
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut half = ws_connect(&ws_upgrade_url(&ws_base, &sid)).await;
    probe(&mut half).await;
    assert_eq!(pending.await.unwrap().text, "6");
    assert!(
        frames_until_closed(&mut half, Duration::from_secs(2))
            .await
            .is_empty()
    );
    assert_eq!(
        post(&poll_url(&base, &sid), "4still polling").await.text,
        "ok"
    );
    let poll = get(&poll_url(&base, &sid)).await;
    assert_eq!((poll.status, poll.text.as_str()), (200, "4still polling"));
    // An idle poll waits again instead of being answered with noops.
    let idle = tokio::spawn(get(poll_url(&base, &sid).leak()));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!idle.is_finished(), "an idle poll was answered");
    assert_eq!(post(&poll_url(&base, &sid), "4again").await.text, "ok");
    assert_eq!(idle.await.unwrap().text, "4again");
    assert!(backend.hooks_of("close").is_empty());

    // A later upgrade succeeds.
    let (sid2, _) = handshake(&base).await;
    let mut ws = ws_connect(&ws_upgrade_url(&ws_base, &sid2)).await;
    probe(&mut ws).await;
    send_text(&mut ws, "5").await;
    assert_echo(&mut ws, "upgraded").await;
    let mut again = ws_connect(&ws_upgrade_url(&ws_base, &sid)).await;
    probe(&mut again).await;
    send_text(&mut again, "5").await;
    assert_echo(&mut again, "upgraded at last").await;
    assert_eq!(gateway.sessions(), 2);
}

#[tokio::test]
async fn a_second_concurrent_upgrade_is_refused() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let ws_base = gateway.ws_url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let url = ws_upgrade_url(&ws_base, &sid);
    let mut first = ws_connect(&url).await;
    // Refused while the first has not probed yet, while it probes, and after it upgraded.
    assert_upgrade_refused(&url).await;
    probe(&mut first).await;
    assert_upgrade_refused(&url).await;
    send_text(&mut first, "5").await;
    assert_upgrade_refused(&url).await;
    assert_echo(&mut first, "first wins").await;
    assert!(backend.hooks_of("close").is_empty());
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn a_refused_upgrade_leaves_the_session_on_polling() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = handshake(&base).await;
    let url = ws_upgrade_url(&gateway.ws_url("/engine.io/"), &sid);
    let mut first = ws_connect(&url).await;
    assert_upgrade_refused(&url).await;
    // The first attempt gives up (closes): the session is still a polling session that can upgrade.
    first.close(None).await.expect("close frame sent");
    drop(first);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(post(&poll_url(&base, &sid), "4x").await.text, "ok");
    assert_eq!(get(&poll_url(&base, &sid)).await.text, "4x");
    let mut second = ws_connect(&url).await;
    probe(&mut second).await;
    send_text(&mut second, "5").await;
    assert_echo(&mut second, "y").await;
    assert!(backend.hooks_of("close").is_empty());
}

#[tokio::test]
async fn max_payload_is_enforced_over_websocket() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "max_payload = 1000").await;
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    assert_eq!(open["maxPayload"], 1000);
    let sid = open["sid"].as_str().unwrap();
    let small = "a".repeat(900);
    assert_echo(&mut ws, &small).await;
    send_text(&mut ws, &format!("4{}", "b".repeat(2000))).await;
    let before = frames_until_closed(&mut ws, Duration::from_secs(2)).await;
    assert!(before.is_empty(), "frames before close: {before:?}");
    let close = backend.wait_for("close", Some(sid), 1).await;
    assert_eq!(close[0].body["reason"], "transport error");
    eio::eventually("session forgotten", || gateway.sessions() == 0).await;
    assert_eq!(backend.hooks_of("message").len(), 1);
}

#[tokio::test]
async fn websocket_transport_without_upgrade_headers_is_a_bad_request() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let base = gateway.url("/engine.io/");
    let plain = get(&format!("{base}?EIO=4&transport=websocket")).await;
    assert_eq!(
        (plain.status, plain.json()),
        (400, error_body(3, "Bad request"))
    );
    assert!(backend.hooks_of("open").is_empty());
    // The same for an existing session, which is not harmed by it.
    let (sid, _) = handshake(&base).await;
    let plain = get(&format!("{base}?EIO=4&transport=websocket&sid={sid}")).await;
    assert_eq!(
        (plain.status, plain.json()),
        (400, error_body(3, "Bad request"))
    );
    assert_eq!(post(&poll_url(&base, &sid), "4ok").await.text, "ok");
    assert_eq!(get(&poll_url(&base, &sid)).await.text, "4ok");
}

#[tokio::test]
async fn polling_only_endpoint_refuses_websocket() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "transports = [\"polling\"]").await;
    let ws_base = gateway.ws_url("/engine.io/");
    let Err((status, body)) = ws_try_connect(&ws_handshake_url(&ws_base)).await else {
        panic!("a websocket session opened on a polling-only endpoint");
    };
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        error_body(0, "Transport unknown")
    );
    // Polling sessions are not offered an upgrade, and asking anyway is refused the same way.
    let (sid, open) = handshake(&gateway.url("/engine.io/")).await;
    assert_eq!(open["upgrades"], json!([]));
    let Err((status, body)) = ws_try_connect(&ws_upgrade_url(&ws_base, &sid)).await else {
        panic!("an upgrade succeeded on a polling-only endpoint");
    };
    assert_eq!(status, 400);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        error_body(0, "Transport unknown")
    );
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn websocket_only_endpoint_refuses_polling() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "transports = [\"websocket\"]").await;
    let answer = get(&gateway.url("/engine.io/?EIO=4&transport=polling")).await;
    assert_eq!(
        (answer.status, answer.json()),
        (400, error_body(0, "Transport unknown"))
    );
    assert!(backend.hooks_of("open").is_empty());
    let (mut ws, open) = ws_handshake(&gateway.ws_url("/engine.io/")).await;
    assert_eq!(open["upgrades"], json!([]));
    let sid = open["sid"].as_str().unwrap();
    let poll = get(&poll_url(&gateway.url("/engine.io/"), sid)).await;
    assert_eq!(
        (poll.status, poll.json()),
        (400, error_body(0, "Transport unknown"))
    );
    assert_echo(&mut ws, "ws only").await;
    assert_silent(&mut ws, Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_session_closed_during_its_upgrade_drops_the_probing_websocket() {
    let backend = Backend::echo().await;
    // The default upgrade timeout (10 s) must not keep the WebSocket of a dead session open. A session its client
    // closed over polling lingers up to ping_timeout for a racing GET, so that is kept short here.
    let gateway = Gateway::engine_io(&backend.url(), TIMING).await;
    let base = gateway.url("/engine.io/");
    let ws_base = gateway.ws_url("/engine.io/");
    for probed in [false, true] {
        let (sid, _) = handshake(&base).await;
        let mut ws = ws_connect(&ws_upgrade_url(&ws_base, &sid)).await;
        if probed {
            probe(&mut ws).await;
        }
        assert_eq!(post(&poll_url(&base, &sid), "1").await.text, "ok");
        let started = tokio::time::Instant::now();
        frames_until_closed(&mut ws, Duration::from_secs(2)).await;
        assert!(started.elapsed() < Duration::from_secs(1));
        let close = backend.wait_for("close", Some(&sid), 1).await;
        assert_eq!(close[0].body["reason"], "transport close");
    }
    eio::eventually("sessions forgotten", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn a_refused_open_over_websocket_is_forbidden() {
    let backend = Backend::start(|hook| match hook.event.as_str() {
        "open" => common::Reply::json(json!({"reject": {"message": "no"}})),
        _ => common::Reply::ok(""),
    })
    .await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let Err((status, body)) =
        ws_try_connect(&ws_handshake_url(&gateway.ws_url("/engine.io/"))).await
    else {
        panic!("a rejected session opened");
    };
    assert_eq!(status, 403);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        json!({"code": 4, "message": "Forbidden", "context": {"message": "no"}})
    );
    assert_eq!(gateway.sessions(), 0);
}

#[tokio::test]
async fn undecodable_or_out_of_sequence_frames_close_the_session() {
    let backend = Backend::echo().await;
    let gateway = Gateway::engine_io(&backend.url(), "").await;
    let ws_base = gateway.ws_url("/engine.io/");
    for (frame, reason) in [("hello", "parse error"), ("2", "transport error")] {
        let (mut ws, open) = ws_handshake(&ws_base).await;
        let sid = open["sid"].as_str().unwrap();
        send_text(&mut ws, frame).await;
        frames_until_closed(&mut ws, Duration::from_secs(2)).await;
        let close = backend.wait_for("close", Some(sid), 1).await;
        assert_eq!(close[0].body["reason"], reason, "after {frame:?}");
    }
    assert!(backend.hooks_of("message").is_empty());
    eio::eventually("sessions forgotten", || gateway.sessions() == 0).await;
}
