//! Socket.IO v5 connections on a socket.io endpoint, with raw frames against a running gateway and a real
//! webhook backend: CONNECT replies and refusals as the conformance suite checks them, the `connect` webhook
//! body and what its reply does, backend failures, namespace globs, the connect timeout, and the `disconnect`
//! webhook with its reasons and retries.

use crate::common;
use common::eio::{self, get};
use common::sio::{self, SioPolling, SioWs, accept, raw_field, reference_app};
use common::{Backend, Hook, Reply};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

const CUSTOM: &str = "namespaces = [\"/\", \"/custom\"]";
const TIMING: &str = "ping_interval = \"300ms\"\nping_timeout = \"200ms\"";
/// Pings as early as [`TIMING`], with time for a loaded machine to answer them (the pong is not what is tested).
const EARLY_PINGS: &str = "ping_interval = \"300ms\"\nping_timeout = \"2s\"";

/// A loopback port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The keys of a hook body, in the order iogate wrote them.
fn keys(hook: &Hook) -> Vec<String> {
    hook.body
        .as_object()
        .expect("hook body is an object")
        .keys()
        .cloned()
        .collect()
}

/// Acks every event with its namespace; accepts everything else.
fn ack_with_namespace(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "event" => Reply::ok(format!(r#"{{"ack":[{}]}}"#, raw_field(hook, "namespace"))),
        _ => Reply::ok(""),
    }
}

// ---- conformance behaviour -------------------------------------------------------------------------------

#[tokio::test]
async fn main_namespace_reply_holds_exactly_sid_then_the_connect_emits() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;

    let mut first = SioWs::open(&gateway).await;
    first.send("40").await;
    let sid = sio::connect_reply_sid(&first.recv_text().await, "/");
    assert_eq!(first.recv_text().await, r#"42["auth",{}]"#);
    assert_ne!(
        first.open["sid"].as_str(),
        Some(sid.as_str()),
        "the socket id is not the Engine.IO session id"
    );

    let mut second = SioWs::open(&gateway).await;
    second.send(r#"40{"token":"123"}"#).await;
    let other = sio::connect_reply_sid(&second.recv_text().await, "/");
    assert_eq!(second.recv_text().await, r#"42["auth",{"token":"123"}]"#);
    assert_ne!(sid, other, "every socket gets its own id");
}

#[tokio::test]
async fn custom_namespace_replies_carry_the_namespace() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;

    let mut client = SioWs::open(&gateway).await;
    client.send("40/custom,").await;
    sio::connect_reply_sid(&client.recv_text().await, "/custom");
    assert_eq!(client.recv_text().await, r#"42/custom,["auth",{}]"#);

    let mut client = SioWs::open(&gateway).await;
    client.send(r#"40/custom,{"token":"abc"}"#).await;
    sio::connect_reply_sid(&client.recv_text().await, "/custom");
    assert_eq!(
        client.recv_text().await,
        r#"42/custom,["auth",{"token":"abc"}]"#
    );

    // The comma may be left out when nothing follows the namespace.
    let mut client = SioWs::open(&gateway).await;
    client.send("40/custom").await;
    sio::connect_reply_sid(&client.recv_text().await, "/custom");
    assert_eq!(client.recv_text().await, r#"42/custom,["auth",{}]"#);
}

#[tokio::test]
async fn unknown_namespace_is_refused_exactly_and_the_connection_stays_open() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let mut client = SioWs::open(&gateway).await;

    client.send("40/random").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );
    client.send(r#"40/random,{"token":"x"}"#).await;
    assert_eq!(
        client.recv_text().await,
        r#"44/random,{"message":"Invalid namespace"}"#
    );

    let sid = client.connect("/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    let hooks = backend.wait_for("connect", Some(&sid), 1).await;
    assert_eq!(hooks.len(), 1);
    assert!(
        backend
            .hooks_of("connect")
            .iter()
            .all(|h| h.body["namespace"] == "/"),
        "the backend is never asked about a namespace the endpoint does not serve"
    );
}

#[tokio::test]
async fn nothing_is_sent_before_the_clients_connect() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), EARLY_PINGS).await;

    // Polling: the first poll is only released by the first ping, one interval after the handshake.
    let client = SioPolling::open(&gateway).await;
    let started = Instant::now();
    assert_eq!(client.poll_raw().await, ["2"]);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "the first poll returned early: {:?}",
        started.elapsed()
    );
    client.send(&["3"]).await;
    client.send(&["40"]).await;
    let mut packets = client.recv().await;
    while packets.len() < 2 {
        packets.extend(client.recv().await);
    }
    sio::connect_reply_sid(&packets[0], "/");
    assert_eq!(packets[1..], [r#"42["auth",{}]"#]);

    // WebSocket: the open packet and then silence (pings aside) until the client connects.
    let mut ws = SioWs::open(&gateway).await;
    ws.assert_silent(Duration::from_millis(400)).await;
    ws.connect("/", None).await;
    assert_eq!(ws.recv_text().await, r#"42["auth",{}]"#);
}

#[tokio::test]
async fn no_connect_within_the_connect_timeout_closes_the_session() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "connect_timeout = \"300ms\"").await;

    let mut ws = SioWs::open(&gateway).await;
    let started = Instant::now();
    let before = ws.closed_within(Duration::from_secs(2)).await;
    assert!(
        before.is_empty(),
        "nothing is sent before closing: {before:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "closed before the connect timeout: {:?}",
        started.elapsed()
    );

    // Over polling, the waiting poll is released with a close packet and the session is gone.
    let polling = SioPolling::open(&gateway).await;
    assert_eq!(polling.poll_raw().await, ["1"]);
    assert_eq!(get(&polling.url()).await.status, 400);

    eio::eventually("every session gone", || gateway.sessions() == 0).await;
    assert!(backend.hooks().is_empty(), "no socket, no hook");
}

#[tokio::test]
async fn only_a_successful_connect_stops_the_connect_timeout() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(
        &backend.url(),
        "connect_timeout = \"300ms\"\nnamespaces = [\"/\"]",
    )
    .await;

    let mut connected = SioWs::open(&gateway).await;
    connected.connect("/", None).await;
    assert_eq!(connected.recv_text().await, r#"42["auth",{}]"#);

    // A refused namespace does not count: that session still closes.
    let mut refused = SioWs::open(&gateway).await;
    refused.send("40/nope,").await;
    assert_eq!(
        refused.recv_text().await,
        r#"44/nope,{"message":"Invalid namespace"}"#
    );
    refused.closed_within(Duration::from_secs(2)).await;

    // The connected one outlived the timeout and still works.
    assert_eq!(
        connected
            .call(r#"421["message-with-ack","still here"]"#)
            .await,
        r#"431["still here"]"#
    );
}

#[tokio::test]
async fn client_namespace_disconnect_keeps_the_engine_connection() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), TIMING).await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);

    client.send("41").await;
    // Nothing answers the DISCONNECT: the next frame is the Engine.IO ping.
    assert_eq!(eio::next_text(&mut client.ws).await, "2");
    eio::send_text(&mut client.ws, "3").await;

    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "client namespace disconnect");
    assert_eq!(hook.body["namespace"], "/");
    assert_eq!(hook.body["rooms"], json!([sid]));
    assert_eq!(gateway.sessions(), 1, "the Engine.IO session stays open");

    // The same session can connect the namespace again, as a new socket.
    let again = client.connect("/", None).await;
    assert_ne!(again, sid);
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
}

#[tokio::test]
async fn namespaces_are_multiplexed_on_one_session() {
    let backend = Backend::start(reference_app).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, main) = SioWs::connected(&gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["auth",{}]"#);
    let custom = client.connect("/custom", None).await;
    assert_eq!(client.recv_text().await, r#"42/custom,["auth",{}]"#);
    assert_ne!(main, custom);

    client.send("41/custom").await;
    client
        .send(r#"42["message","message to main namespace"]"#)
        .await;
    assert_eq!(
        client.recv_text().await,
        r#"42["message-back","message to main namespace"]"#
    );
    let hook = &backend.wait_for("disconnect", Some(&custom), 1).await[0];
    assert_eq!(hook.body["namespace"], "/custom");
    assert_eq!(hook.body["reason"], "client namespace disconnect");

    // Leaving `/` keeps `/custom` too.
    backend.respond_with(ack_with_namespace);
    let (mut client, main) = SioWs::connected(&gateway, "/", None).await;
    client.connect("/custom", None).await;
    client.send("41").await;
    assert_eq!(
        client.call(r#"42/custom,5["x"]"#).await,
        r#"43/custom,5["/custom"]"#
    );
    let hook = &backend.wait_for("disconnect", Some(&main), 1).await[0];
    assert_eq!(hook.body["reason"], "client namespace disconnect");
}

// ---- the connect webhook ---------------------------------------------------------------------------------

#[tokio::test]
async fn connect_hook_body_has_every_documented_field() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let mut client = SioWs::open_with(&gateway, "&token=abc%20d&x=1", &[("x-test", "yes")]).await;
    let auth = r#"{"token":"t","n":1.50,"big":1e3,"o":{"z":1,"a":[true,null]}}"#;
    let sid = client.connect("/", Some(auth)).await;

    let hook = &backend.wait_for("connect", Some(&sid), 1).await[0];
    assert_eq!(hook.event, "connect");
    assert_eq!(hook.content_type, "application/json");
    assert_eq!(
        keys(hook),
        [
            "type",
            "endpoint",
            "namespace",
            "sid",
            "data",
            "rooms",
            "auth",
            "handshake"
        ]
    );
    let body = &hook.body;
    assert_eq!(body["type"], "connect");
    assert_eq!(body["endpoint"], "/socket.io");
    assert_eq!(body["namespace"], "/");
    assert_eq!(body["sid"], sid.as_str(), "the sid of the CONNECT reply");
    assert_eq!(body["data"], json!(null));
    assert_eq!(body["rooms"], json!([]));
    assert_eq!(raw_field(hook, "auth"), auth, "auth byte for byte");
    let handshake = &body["handshake"];
    assert_eq!(handshake["protocol"], 5);
    assert_eq!(handshake["transport"], "websocket");
    assert_eq!(
        handshake["query"],
        json!({"EIO": "4", "transport": "websocket", "token": "abc d", "x": "1"})
    );
    assert_eq!(handshake["headers"]["x-test"], "yes");
    assert_eq!(
        handshake["headers"]["host"],
        gateway.address.to_string().as_str()
    );
    assert_eq!(handshake["address"], "127.0.0.1");
    assert_eq!(handshake["secure"], false);
    let time = handshake["time"].as_str().expect("time is a string");
    let time = humantime::parse_rfc3339(time).expect("time is RFC 3339");
    let age = SystemTime::now()
        .duration_since(time)
        .unwrap_or(Duration::ZERO);
    assert!(age < Duration::from_secs(60), "handshake time {age:?} ago");

    // No payload: auth is `{}`; the namespace is the one asked for; the handshake is the session's.
    let custom = client.connect("/custom", None).await;
    let hook = &backend.wait_for("connect", Some(&custom), 1).await[0];
    assert_eq!(hook.body["namespace"], "/custom");
    assert_eq!(raw_field(hook, "auth"), "{}");
    assert_eq!(hook.body["handshake"], body["handshake"]);
}

#[tokio::test]
async fn connect_over_polling_reports_the_polling_transport() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let client = SioPolling::open(&gateway).await;
    let sid = client.connect("/", Some(r#"{"k":"v"}"#)).await;
    let hook = &backend.wait_for("connect", Some(&sid), 1).await[0];
    assert_eq!(raw_field(hook, "auth"), r#"{"k":"v"}"#);
    assert_eq!(hook.body["handshake"]["transport"], "polling");
    assert_eq!(hook.body["handshake"]["protocol"], 5);
    assert_eq!(
        hook.body["handshake"]["query"],
        json!({"EIO": "4", "transport": "polling"})
    );
}

#[tokio::test]
async fn accepted_connect_stores_data_joins_rooms_and_emits() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "connect" => Reply::ok(
            r#"{"data":{"user":"u1","n":1.50},"join":["r1"],"emit":[{"event":"welcome","args":[1,{"b":2,"a":1}]},{"event":"second"}]}"#,
        ),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    assert_eq!(client.recv_text().await, r#"42["welcome",1,{"b":2,"a":1}]"#);
    assert_eq!(client.recv_text().await, r#"42["second"]"#);

    client.send(r#"42["hello"]"#).await;
    let hook = &backend.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(raw_field(hook, "data"), r#"{"user":"u1","n":1.50}"#);
    assert_eq!(hook.body["rooms"], json!([sid, "r1"]));

    client.close().await;
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(raw_field(hook, "data"), r#"{"user":"u1","n":1.50}"#);
    assert_eq!(hook.body["rooms"], json!([sid, "r1"]));
}

#[tokio::test]
async fn rejected_connect_gets_connect_error_with_message_and_data() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "connect" => {
            Reply::json(json!({"reject": {"message": "Not authorized", "data": {"code": 7}}}))
        }
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let mut client = SioWs::open(&gateway).await;
    client.send(r#"40{"token":"bad"}"#).await;
    assert_eq!(
        client.recv_text().await,
        r#"44{"message":"Not authorized","data":{"code":7}}"#
    );
    client.send("40/custom,").await;
    assert_eq!(
        client.recv_text().await,
        r#"44/custom,{"message":"Not authorized","data":{"code":7}}"#
    );

    // The connection stays open: the next try can succeed.
    backend.respond_with(accept);
    let sid = client.connect("/", None).await;
    client.close().await;
    backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(
        backend.hooks_of("disconnect").len(),
        1,
        "refused sockets never get a disconnect hook"
    );
    assert_eq!(backend.hooks_of("connect").len(), 3);
}

#[tokio::test]
async fn backend_failures_refuse_with_connection_refused() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "webhook_timeout = \"300ms\"").await;
    let mut client = SioWs::open(&gateway).await;
    let failures: Vec<(&str, Reply)> = vec![
        ("HTTP 500", Reply::status(500)),
        ("HTTP 404", Reply::status(404)),
        ("not JSON", Reply::ok("not json")),
        ("a JSON array", Reply::ok("[1,2]")),
        (
            "a reject that is not an object",
            Reply::ok(r#"{"reject":"no"}"#),
        ),
        ("truncated JSON", Reply::ok(r#"{"data":{"#)),
        (
            "slower than webhook_timeout",
            Reply::ok("").after(Duration::from_secs(2)),
        ),
    ];
    for (what, reply) in failures {
        backend.respond_with(move |_| reply.clone());
        client.send("40").await;
        assert_eq!(
            client.recv_text().await,
            r#"44{"message":"Connection refused"}"#,
            "{what}"
        );
    }
    backend.respond_with(accept);
    client.connect("/", None).await;
    assert_eq!(get(&gateway.url("/healthz")).await.status, 200);
}

#[tokio::test]
async fn unreachable_backend_refuses_and_the_gateway_stays_up() {
    let gateway = sio::gateway(&format!("http://127.0.0.1:{}/hook", closed_port()), "").await;
    let mut clients = Vec::new();
    for _ in 0..2 {
        let mut client = SioWs::open(&gateway).await;
        client.send(r#"40{"token":"x"}"#).await;
        assert_eq!(
            client.recv_text().await,
            r#"44{"message":"Connection refused"}"#
        );
        clients.push(client);
    }
    assert_eq!(get(&gateway.url("/healthz")).await.status, 200);
    assert_eq!(gateway.sessions(), 2, "refused clients keep their sessions");
}

#[tokio::test]
async fn namespace_globs_admit_matching_namespaces_only() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "namespaces = [\"/\", \"/tenant-*\"]").await;
    let mut client = SioWs::open(&gateway).await;
    let sid = client.connect("/tenant-42", None).await;
    let hook = &backend.wait_for("connect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["namespace"], "/tenant-42");
    client.connect("/tenant-abc", None).await;
    client.connect("/", None).await;
    for refused in ["/tenant", "/tenan-1", "/other", "/Tenant-1"] {
        client.send(&format!("40{refused},")).await;
        assert_eq!(
            client.recv_text().await,
            format!(r#"44{refused},{{"message":"Invalid namespace"}}"#)
        );
    }
    assert_eq!(backend.hooks_of("connect").len(), 3);
}

#[tokio::test]
async fn disabled_connect_hook_accepts_without_a_call() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "hooks = { connect = false }").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", Some(r#"{"a":1}"#)).await;
    client.send(r#"42["hi"]"#).await;
    let hook = &backend.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(hook.body["data"], json!(null));
    assert_eq!(hook.body["rooms"], json!([sid]));
    assert!(backend.hooks_of("connect").is_empty());
}

#[tokio::test]
async fn every_hook_is_signed_when_a_secret_is_set() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "secret = [\"new\", \"old\"]").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", Some(r#"{"t":1}"#)).await;
    client.send(r#"42["e",1.50]"#).await;
    backend.wait_for("event", Some(&sid), 1).await;
    client.close().await;
    backend.wait_for("disconnect", Some(&sid), 1).await;
    let hooks = backend.hooks();
    let events: Vec<&str> = hooks.iter().map(|h| h.event.as_str()).collect();
    assert_eq!(events, ["connect", "event", "disconnect"]);
    for hook in &hooks {
        let header = hook.signature.as_deref().expect("signed");
        let parts: Vec<&str> = header.split(',').collect();
        let timestamp = parts[0].strip_prefix("t=").expect("t= first");
        let expected: Vec<String> = ["new", "old"]
            .iter()
            .map(|secret| format!("v1={}", hmac_hex(secret, timestamp, &hook.raw)))
            .collect();
        assert_eq!(parts[1..], expected, "{header}");
    }
}

/// HMAC-SHA256(secret, "<t>.<body>") in hex, computed here rather than by iogate.
fn hmac_hex(secret: &str, timestamp: &str, body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

// ---- the disconnect webhook ------------------------------------------------------------------------------

#[tokio::test]
async fn closing_the_websocket_is_transport_close_for_every_namespace() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "connect" => Reply::ok(r#"{"data":{"v":1.0},"join":["lobby"]}"#),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, main) = SioWs::connected(&gateway, "/", None).await;
    let custom = client.connect("/custom", None).await;
    client.close().await;

    for (sid, namespace) in [(&main, "/"), (&custom, "/custom")] {
        let hook = &backend.wait_for("disconnect", Some(sid), 1).await[0];
        assert_eq!(hook.event, "disconnect");
        assert_eq!(
            keys(hook),
            [
                "type",
                "endpoint",
                "namespace",
                "sid",
                "data",
                "rooms",
                "reason"
            ]
        );
        assert_eq!(hook.body["type"], "disconnect");
        assert_eq!(hook.body["endpoint"], "/socket.io");
        assert_eq!(hook.body["namespace"], namespace);
        assert_eq!(hook.body["reason"], "transport close");
        assert_eq!(raw_field(hook, "data"), r#"{"v":1.0}"#);
        assert_eq!(hook.body["rooms"], json!([sid, "lobby"]));
    }
    eio::eventually("the session is gone", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn disabled_disconnect_hook_sends_nothing() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "hooks = { disconnect = false }").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    client.send("41").await;
    client.connect("/", None).await;
    client.close().await;
    eio::eventually("the session is gone", || gateway.sessions() == 0).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(backend.hooks_of("disconnect").is_empty(), "{sid}");
    assert_eq!(backend.hooks_of("connect").len(), 2);
}

#[tokio::test]
async fn a_client_that_never_pongs_is_ping_timeout() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), TIMING).await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    // Read without answering the pings.
    let before = eio::frames_until_closed(&mut client.ws, Duration::from_secs(2)).await;
    assert_eq!(
        before,
        [tokio_tungstenite::tungstenite::Message::Text("2".into())]
    );
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "ping timeout");
}

#[tokio::test]
async fn disconnect_hook_is_retried_with_one_delivery_id() {
    let attempts = Arc::new(AtomicUsize::new(0));
    let backend = Backend::start({
        let attempts = attempts.clone();
        move |hook: &Hook| {
            if hook.event == "disconnect" && attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                Reply::status(503)
            } else {
                Reply::ok("")
            }
        }
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (client, sid) = SioWs::connected(&gateway, "/", None).await;
    client.close().await;
    let hooks = backend.wait_for("disconnect", Some(&sid), 3).await;
    assert_eq!(hooks.len(), 3);
    assert!(!hooks[0].delivery.is_empty());
    for hook in &hooks {
        assert_eq!(
            hook.delivery, hooks[0].delivery,
            "one delivery id across retries"
        );
        assert_eq!(hook.raw, hooks[0].raw, "the same body each time");
        assert_eq!(hook.body["reason"], "transport close");
    }
    // Delivered: no fourth attempt.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(backend.hooks_of("disconnect").len(), 3);
}

#[tokio::test]
async fn a_closed_polling_session_disconnects_every_namespace_socket() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), "namespaces = [\"/\", \"/a\", \"/b-*\"]").await;
    let client = SioPolling::open(&gateway).await;
    let mut sids = Vec::new();
    for namespace in ["/", "/a", "/b-1"] {
        sids.push((client.connect(namespace, None).await, namespace));
    }
    client.send(&["1"]).await;
    for (sid, namespace) in &sids {
        let hook = &backend.wait_for("disconnect", Some(sid), 1).await[0];
        assert_eq!(hook.body["namespace"], *namespace);
        assert_eq!(hook.body["reason"], "transport close");
    }
    assert_eq!(backend.hooks_of("disconnect").len(), 3);
}

#[tokio::test]
async fn shutdown_disconnects_every_socket_as_server_shutting_down() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, main) = SioWs::connected(&gateway, "/", None).await;
    let custom = client.connect("/custom", None).await;
    assert!(
        gateway.running.shutdown(Duration::from_secs(3)).await,
        "shutdown waits for the last hooks"
    );
    for sid in [&main, &custom] {
        let hooks = backend.hooks_of("disconnect");
        let hook = hooks
            .iter()
            .find(|h| h.body["sid"] == sid.as_str())
            .expect("a disconnect hook before shutdown returns");
        assert_eq!(hook.body["reason"], "server shutting down");
    }
    client.closed_within(Duration::from_secs(2)).await;
}

#[tokio::test]
async fn a_socket_accepted_after_its_session_ended_gets_a_disconnect_hook_with_the_real_reason() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "connect" => Reply::ok("").after(Duration::from_millis(900)),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), TIMING).await;

    // The client goes silent while its CONNECT is decided: the session ends by ping timeout first.
    let mut silent = SioWs::open(&gateway).await;
    silent.send("40").await;
    let connect = &backend.wait_for("connect", None, 1).await[0];
    let sid = connect.body["sid"].as_str().expect("sid").to_string();
    eio::frames_until_closed(&mut silent.ws, Duration::from_secs(2)).await;
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "ping timeout");

    // The client leaves while its CONNECT is decided.
    let mut leaving = SioWs::open(&gateway).await;
    leaving.send("40").await;
    let connect = &backend.wait_for("connect", None, 2).await[1];
    let sid = connect.body["sid"].as_str().expect("sid").to_string();
    leaving.close().await;
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["reason"], "transport close");
}

#[tokio::test]
async fn a_polling_session_upgraded_to_websocket_keeps_its_sockets() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args"))),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let polling = SioPolling::open(&gateway).await;
    let main = polling.connect("/", None).await;
    let custom = polling.connect("/custom", None).await;

    let url = eio::ws_upgrade_url(&gateway.ws_url(&format!("{}/", sio::PATH)), &polling.sid);
    let mut ws = eio::ws_connect(&url).await;
    eio::send_text(&mut ws, "2probe").await;
    assert_eq!(eio::next_text(&mut ws).await, "3probe");
    eio::send_text(&mut ws, "5").await;
    let mut client = SioWs {
        ws,
        open: polling.open.clone(),
    };
    assert_eq!(client.call(r#"421["a",1]"#).await, r#"431[1]"#);
    assert_eq!(
        client.call(r#"42/custom,2["b",2]"#).await,
        r#"43/custom,2[2]"#
    );
    backend.wait_for("event", Some(&main), 1).await;
    backend.wait_for("event", Some(&custom), 1).await;
    let connect = &backend.wait_for("connect", Some(&main), 1).await[0];
    assert_eq!(
        connect.body["handshake"]["transport"], "polling",
        "the handshake is the session's first request"
    );

    client.close().await;
    for sid in [&main, &custom] {
        let hook = &backend.wait_for("disconnect", Some(sid), 1).await[0];
        assert_eq!(hook.body["reason"], "transport close");
    }
}
