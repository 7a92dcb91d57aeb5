//! Socket.IO events on a socket.io endpoint, with raw frames against a running gateway and real webhook
//! backends: the `event` webhook body (arguments byte for byte, binary as `{"$binary":...}`), what a sync reply
//! does (ack, emit, join, leave, data, disconnect), per-socket ordering, and routes (async, other webhooks,
//! by namespace).

use crate::common;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::sio::{self, SioPolling, SioWs, accept, raw_field, reference_app};
use common::{Backend, Hook, Reply};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

const CUSTOM: &str = "namespaces = [\"/\", \"/custom\"]";

/// The first argument of an event hook, as text (events in these tests name what the backend should do).
fn first_arg(hook: &Hook) -> &str {
    hook.body["args"][0].as_str().unwrap_or("")
}

/// The event name of a hook, as text.
fn event_name(hook: &Hook) -> &str {
    hook.body["event"].as_str().unwrap_or("")
}

/// A placeholder for attachment `num`, as the protocol writes it.
fn placeholder(num: usize) -> String {
    format!(r#"{{"_placeholder":true,"num":{num}}}"#)
}

// ---- the event webhook -----------------------------------------------------------------------------------

#[tokio::test]
async fn event_hook_body_keeps_the_arguments_byte_for_byte() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    let args = r#"[1.50,1e3,-0.0,{"b":1,"a":[true,null,{}]},"é\u00e9\"q",[]]"#;
    client
        .send(&format!(r#"42["chat message",{}"#, &args[1..]))
        .await;
    let hook = &backend.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(hook.event, "event");
    assert_eq!(hook.content_type, "application/json");
    let keys: Vec<&str> = hook
        .body
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "type",
            "endpoint",
            "namespace",
            "sid",
            "data",
            "rooms",
            "event",
            "args",
            "ack"
        ]
    );
    assert_eq!(hook.body["type"], "event");
    assert_eq!(hook.body["endpoint"], "/socket.io");
    assert_eq!(hook.body["namespace"], "/");
    assert_eq!(hook.body["sid"], sid.as_str());
    assert_eq!(hook.body["data"], json!(null));
    assert_eq!(hook.body["rooms"], json!([sid]));
    assert_eq!(raw_field(hook, "event"), r#""chat message""#);
    assert_eq!(raw_field(hook, "args"), args);
    assert_eq!(hook.body["ack"], false);

    // With an ack id, no arguments, and a numeric event name.
    client.send(r#"4212["bare"]"#).await;
    client.send(r#"42[42,"x"]"#).await;
    let hooks = backend.wait_for("event", Some(&sid), 3).await;
    assert_eq!(raw_field(&hooks[1], "args"), "[]");
    assert_eq!(hooks[1].body["ack"], true);
    assert_eq!(raw_field(&hooks[2], "event"), "42");
    assert_eq!(raw_field(&hooks[2], "args"), r#"["x"]"#);
    assert_eq!(hooks[2].body["ack"], false);

    // A custom namespace's socket has its own sid and rooms.
    let custom = client.connect("/custom", None).await;
    client.send(r#"42/custom,["there",{"z":0}]"#).await;
    let hook = &backend.wait_for("event", Some(&custom), 1).await[0];
    assert_eq!(hook.body["namespace"], "/custom");
    assert_eq!(hook.body["rooms"], json!([custom]));
    assert_eq!(raw_field(hook, "args"), r#"[{"z":0}]"#);
}

#[tokio::test]
async fn reply_ack_answers_the_clients_ack_byte_for_byte() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" if event_name(hook) == "message-with-ack" => reference_app(hook),
        "event" => Reply::ok(r#"{"ack":[1.50,{"b":1,"a":2},"x",1e3]}"#),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, _) = SioWs::connected(&gateway, "/", None).await;
    assert_eq!(
        client.call(r#"4212["q"]"#).await,
        r#"4312[1.50,{"b":1,"a":2},"x",1e3]"#
    );
    assert_eq!(
        client
            .call(r#"42456["message-with-ack",1,"2",{"3":[false]}]"#)
            .await,
        r#"43456[1,"2",{"3":[false]}]"#
    );
    assert_eq!(
        client.call(r#"420["q"]"#).await,
        r#"430[1.50,{"b":1,"a":2},"x",1e3]"#
    );
    client.connect("/custom", None).await;
    assert_eq!(
        client.call(r#"42/custom,7["q"]"#).await,
        r#"43/custom,7[1.50,{"b":1,"a":2},"x",1e3]"#
    );
}

#[tokio::test]
async fn no_ack_is_sent_unless_the_client_asked_and_the_backend_answered() {
    let backend = Backend::start(|hook: &Hook| match first_arg(hook) {
        "ack" => Reply::ok(r#"{"ack":["ok"]}"#),
        "none" => Reply::ok("{}"),
        "empty" => Reply::ok(""),
        "fail" => Reply::status(500),
        "not-array" => Reply::ok(r#"{"ack":1}"#),
        "null" => Reply::ok(r#"{"ack":null}"#),
        "bad-binary" => Reply::ok(r#"{"ack":[{"$binary":"!!"}]}"#),
        "garbage" => Reply::ok("<html>"),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    // Each answer-less event is followed by one that is answered: the next packet must be that answer.
    let cases = [
        (r#"421["e","none"]"#, "no ack key"),
        (r#"421["e","empty"]"#, "an empty body"),
        (r#"42["e","ack"]"#, "the client did not ask"),
        (r#"421["e","fail"]"#, "the backend failed"),
        (r#"421["e","not-array"]"#, "the ack is not an array"),
        (r#"421["e","null"]"#, "the ack is null"),
        (r#"421["e","bad-binary"]"#, "the ack has invalid base64"),
        (r#"421["e","garbage"]"#, "the reply is not JSON"),
    ];
    for (index, (silent, what)) in cases.iter().enumerate() {
        client.send(silent).await;
        let id = 100 + index;
        assert_eq!(
            client.call(&format!(r#"42{id}["e","ack"]"#)).await,
            format!(r#"43{id}["ok"]"#),
            "{what}"
        );
    }
    let hooks = backend.wait_for("event", Some(&sid), 2 * cases.len()).await;
    assert_eq!(
        hooks.iter().filter(|h| first_arg(h) == "fail").count(),
        1,
        "a failed sync event is not retried"
    );
}

#[tokio::test]
async fn reply_emits_reach_the_sender_after_the_ack() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(
            r#"{"emit":[{"event":"a","args":[1,{"y":2,"x":1}]},{"event":"b"},{"event":3,"args":[]}],"ack":["done"]}"#,
        ),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, _) = SioWs::connected(&gateway, "/", None).await;
    client.send(r#"425["go"]"#).await;
    assert_eq!(client.recv_text().await, r#"435["done"]"#);
    assert_eq!(client.recv_text().await, r#"42["a",1,{"y":2,"x":1}]"#);
    assert_eq!(client.recv_text().await, r#"42["b"]"#);
    assert_eq!(client.recv_text().await, "42[3]");
    client.connect("/custom", None).await;
    client.send(r#"42/custom,["go"]"#).await;
    assert_eq!(
        client.recv_text().await,
        r#"42/custom,["a",1,{"y":2,"x":1}]"#
    );
    assert_eq!(client.recv_text().await, r#"42/custom,["b"]"#);
    assert_eq!(client.recv_text().await, "42/custom,[3]");
}

#[tokio::test]
async fn emits_with_names_a_client_must_refuse_are_dropped() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(
            r#"{"emit":[{"event":"connect"},{"event":{"x":1}},{"event":null},{"event":"disconnect","args":[1]},{"event":"ok","args":[1]},{"event":[1]},{"event":"removeListener"},{"event":7}],"broadcast":[{"event":"connect_error","self":true},{"event":"newListener","self":true},{"event":"fine","self":true}],"ack":[]}"#,
        ),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, _) = SioWs::connected(&gateway, "/", None).await;
    assert_eq!(client.call(r#"421["go"]"#).await, "431[]");
    assert_eq!(client.recv_text().await, r#"42["ok",1]"#);
    assert_eq!(client.recv_text().await, "42[7]");
    assert_eq!(client.recv_text().await, r#"42["fine"]"#);
    assert_eq!(client.call(r#"422["go"]"#).await, "432[]");
}

#[tokio::test]
async fn join_and_leave_show_in_later_hooks() {
    let backend = Backend::start(|hook: &Hook| match first_arg(hook) {
        "join" => Reply::ok(r#"{"join":["x","y","x"]}"#),
        "leave" => Reply::ok(r#"{"leave":["x","never-joined"]}"#),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    for what in ["join", "look", "leave", "look"] {
        client.send(&format!(r#"42["e","{what}"]"#)).await;
    }
    let hooks = backend.wait_for("event", Some(&sid), 4).await;
    assert_eq!(hooks[0].body["rooms"], json!([sid]));
    assert_eq!(hooks[1].body["rooms"], json!([sid, "x", "y"]));
    assert_eq!(hooks[2].body["rooms"], json!([sid, "x", "y"]));
    assert_eq!(hooks[3].body["rooms"], json!([sid, "y"]));
    client.close().await;
    let hook = &backend.wait_for("disconnect", Some(&sid), 1).await[0];
    assert_eq!(hook.body["rooms"], json!([sid, "y"]));
}

#[tokio::test]
async fn data_is_replaced_kept_and_cleared() {
    let backend = Backend::start(|hook: &Hook| match first_arg(hook) {
        "set1" => Reply::ok(r#"{"data":{"n":1.50,"b":1,"a":2}}"#),
        "set2" => Reply::ok(r#"{"data":{"m":[2]}}"#),
        "keep" => Reply::ok(r#"{"join":["r"]}"#),
        "clear" => Reply::ok(r#"{"data":null}"#),
        "scalar" => Reply::ok(r#"{"data":"just text"}"#),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    let steps = [
        "set1", "look", "set2", "look", "keep", "look", "clear", "look", "scalar", "look",
    ];
    for step in steps {
        client.send(&format!(r#"42["e","{step}"]"#)).await;
    }
    let hooks = backend.wait_for("event", Some(&sid), steps.len()).await;
    let data: Vec<String> = hooks.iter().map(|h| raw_field(h, "data")).collect();
    assert_eq!(
        data,
        [
            "null",
            r#"{"n":1.50,"b":1,"a":2}"#,
            r#"{"n":1.50,"b":1,"a":2}"#,
            r#"{"m":[2]}"#,
            r#"{"m":[2]}"#,
            r#"{"m":[2]}"#,
            r#"{"m":[2]}"#,
            "null",
            "null",
            r#""just text""#,
        ]
    );
}

#[tokio::test]
async fn reply_disconnect_ends_only_that_namespace_socket() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" if first_arg(hook) == "bye" => {
            Reply::ok(r#"{"ack":["bye"],"emit":[{"event":"last"}],"disconnect":true}"#)
        }
        "event" => Reply::ok(r#"{"ack":["ok"]}"#),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, main) = SioWs::connected(&gateway, "/", None).await;
    let custom = client.connect("/custom", None).await;

    client.send(r#"42/custom,3["e","bye"]"#).await;
    assert_eq!(client.recv_text().await, r#"43/custom,3["bye"]"#);
    assert_eq!(client.recv_text().await, r#"42/custom,["last"]"#);
    assert_eq!(client.recv_text().await, "41/custom,");
    let hook = &backend.wait_for("disconnect", Some(&custom), 1).await[0];
    assert_eq!(hook.body["reason"], "server namespace disconnect");
    assert_eq!(hook.body["namespace"], "/custom");

    // `/` is untouched, and `/custom` can be connected again.
    assert_eq!(client.call(r#"424["e","hi"]"#).await, r#"434["ok"]"#);
    let again = client.connect("/custom", None).await;
    assert_ne!(again, custom);

    client.send(r#"421["e","bye"]"#).await;
    assert_eq!(client.recv_text().await, r#"431["bye"]"#);
    assert_eq!(client.recv_text().await, r#"42["last"]"#);
    assert_eq!(client.recv_text().await, "41");
    let hook = &backend.wait_for("disconnect", Some(&main), 1).await[0];
    assert_eq!(hook.body["reason"], "server namespace disconnect");
    assert_eq!(
        client.call(r#"42/custom,9["e","hi"]"#).await,
        r#"43/custom,9["ok"]"#
    );
    assert_eq!(gateway.sessions(), 1);
}

#[tokio::test]
async fn an_ack_is_not_sent_to_a_socket_that_left() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args")))
            .after(Duration::from_millis(200)),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, old) = SioWs::connected(&gateway, "/", None).await;
    client.send(r#"421["slow","old"]"#).await;
    client.send("41").await;
    let new = client.connect("/", None).await;
    // The old socket's answer would come first; the new socket's must be the next packet.
    assert_eq!(client.call(r#"422["slow","new"]"#).await, r#"432["new"]"#);
    backend.wait_for("disconnect", Some(&old), 1).await;
    let events: Vec<String> = backend
        .hooks()
        .iter()
        .filter(|h| h.body["sid"] == old.as_str())
        .map(|h| h.event.clone())
        .collect();
    assert_eq!(
        events,
        ["connect", "event", "disconnect"],
        "in order, for {new}"
    );
}

// ---- binary ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn binary_events_reach_the_backend_as_dollar_binary() {
    let backend = Backend::start(accept).await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;

    client
        .send(&format!(r#"451-["up",{}]"#, placeholder(0)))
        .await;
    client.send_binary(&[1, 2, 3]).await;
    let hook = &backend.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(raw_field(hook, "event"), r#""up""#);
    assert_eq!(raw_field(hook, "args"), r#"[{"$binary":"AQID"}]"#);
    assert_eq!(hook.body["ack"], false);

    // Several attachments, nested and out of order, an empty one, an ack id, text around them kept as is.
    let second: Vec<u8> = (0..=255).collect();
    client
        .send(&format!(
            r#"453-9["up",{{"a":{},"n":1.50}},[{}],"{{\"_placeholder\":true,\"num\":0}}",{}]"#,
            placeholder(1),
            placeholder(0),
            placeholder(2)
        ))
        .await;
    client.send_binary(&[0xff]).await;
    client.send_binary(&second).await;
    client.send_binary(&[]).await;
    let hook = &backend.wait_for("event", Some(&sid), 2).await[1];
    assert_eq!(
        raw_field(hook, "args"),
        format!(
            r#"[{{"a":{{"$binary":"{}"}},"n":1.50}},[{{"$binary":"/w=="}}],"{{\"_placeholder\":true,\"num\":0}}",{{"$binary":""}}]"#,
            STANDARD.encode(&second)
        )
    );
    assert_eq!(hook.body["ack"], true);

    let custom = client.connect("/custom", None).await;
    client
        .send(&format!(r#"451-/custom,["up",{}]"#, placeholder(0)))
        .await;
    client.send_binary(&[9]).await;
    let hook = &backend.wait_for("event", Some(&custom), 1).await[0];
    assert_eq!(raw_field(hook, "args"), r#"[{"$binary":"CQ=="}]"#);
}

#[tokio::test]
async fn dollar_binary_in_replies_becomes_binary_acks_and_events() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" if event_name(hook).starts_with("message") => reference_app(hook),
        "event" => Reply::ok(
            r#"{"ack":[{"$binary":"AQID"},"t"],"emit":[{"event":"pic","args":[{"k":{"$binary":"BAU="}},{"$binary":""}]}]}"#,
        ),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), CUSTOM).await;
    let (mut client, _) = SioWs::connected(&gateway, "/", None).await;

    client.send(r#"4277["get"]"#).await;
    assert_eq!(
        client.recv_text().await,
        format!(r#"461-77[{},"t"]"#, placeholder(0))
    );
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
    assert_eq!(
        client.recv_text().await,
        format!(
            r#"452-["pic",{{"k":{}}},{}]"#,
            placeholder(0),
            placeholder(1)
        )
    );
    assert_eq!(client.recv_binary().await, [4, 5]);
    assert_eq!(client.recv_binary().await, Vec::<u8>::new());

    // The conformance suite's binary echo and binary ack.
    let pair = format!("{},{}", placeholder(0), placeholder(1));
    client.send(&format!(r#"452-["message",{pair}]"#)).await;
    client.send_binary(&[1, 2, 3]).await;
    client.send_binary(&[4, 5, 6]).await;
    assert_eq!(
        client.recv_text().await,
        format!(r#"452-["message-back",{pair}]"#)
    );
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
    assert_eq!(client.recv_binary().await, [4, 5, 6]);
    client
        .send(&format!(r#"452-789["message-with-ack",{pair}]"#))
        .await;
    client.send_binary(&[1, 2, 3]).await;
    client.send_binary(&[4, 5, 6]).await;
    assert_eq!(client.recv_text().await, format!("462-789[{pair}]"));
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
    assert_eq!(client.recv_binary().await, [4, 5, 6]);

    client.connect("/custom", None).await;
    client.send(r#"42/custom,4["get"]"#).await;
    assert_eq!(
        client.recv_text().await,
        format!(r#"461-/custom,4[{},"t"]"#, placeholder(0))
    );
    assert_eq!(client.recv_binary().await, [1, 2, 3]);
}

#[tokio::test]
async fn binary_events_and_acks_work_over_polling() {
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args"))),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let client = SioPolling::open(&gateway).await;
    let sid = client.connect("/", None).await;
    client
        .send(&[&format!(r#"451-1["up",{},"x"]"#, placeholder(0)), "bAQID"])
        .await;
    let hook = &backend.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(raw_field(hook, "args"), r#"[{"$binary":"AQID"},"x"]"#);
    let mut packets = client.recv().await;
    while packets.len() < 2 {
        packets.extend(client.recv().await);
    }
    assert_eq!(
        packets,
        [
            format!(r#"461-1[{},"x"]"#, placeholder(0)),
            "bAQID".to_string()
        ]
    );
}

// ---- ordering --------------------------------------------------------------------------------------------

#[tokio::test]
async fn events_of_one_socket_reach_the_backend_in_order() {
    let calls = Arc::new(AtomicUsize::new(0));
    let backend = Backend::start({
        let calls = calls.clone();
        move |hook: &Hook| {
            // A fixed pseudo-random delay of 0-10 ms per call, so the test is repeatable.
            let n = calls.fetch_add(1, Ordering::SeqCst) as u64;
            let delay = (n.wrapping_mul(2_654_435_761) >> 7) % 11;
            let reply = match hook.event.as_str() {
                "event" => Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args"))),
                _ => Reply::ok(""),
            };
            reply.after(Duration::from_millis(delay))
        }
    })
    .await;
    let gateway = sio::gateway(&backend.url(), "").await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    for i in 0..30 {
        client.send(&format!(r#"42{i}["seq",{i}]"#)).await;
    }
    for i in 0..30 {
        assert_eq!(client.recv_text().await, format!("43{i}[{i}]"));
    }
    let hooks = backend.wait_for("event", Some(&sid), 30).await;
    let order: Vec<String> = hooks.iter().map(|h| raw_field(h, "args")).collect();
    let expected: Vec<String> = (0..30).map(|i| format!("[{i}]")).collect();
    assert_eq!(order, expected);
}

#[tokio::test]
async fn a_slow_backend_holding_back_reading_does_not_time_out_a_live_client() {
    // Two hooks may wait per socket; past that the gateway stops reading from the client, pongs included.
    let backend = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args")))
            .after(Duration::from_millis(150)),
        _ => Reply::ok(""),
    })
    .await;
    let gateway = sio::gateway(
        &backend.url(),
        "ping_interval = \"300ms\"\nping_timeout = \"200ms\"\nmax_pending_hooks = 2",
    )
    .await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    // 8 x 150 ms of backend time: several ping intervals and timeouts pass while reading is held back.
    for i in 0..8 {
        client.send(&format!(r#"42{i}["e",{i}]"#)).await;
    }
    for i in 0..8 {
        assert_eq!(client.recv_text().await, format!("43{i}[{i}]"));
    }
    assert!(
        backend.hooks_of("disconnect").is_empty(),
        "the client answered every ping it could: {:?}",
        backend.hooks_of("disconnect")
    );
    // Still alive: heartbeats go on as usual once reading resumes.
    client.assert_silent(Duration::from_millis(700)).await;
    assert_eq!(client.call(r#"429["e","last"]"#).await, r#"439["last"]"#);
    assert!(backend.hooks_of("disconnect").is_empty());
    assert_eq!(backend.hooks_of("event").len(), 9);
    assert_eq!(gateway.sessions(), 1, "{sid} kept its session");
}

// ---- routes ----------------------------------------------------------------------------------------------

#[tokio::test]
async fn async_routes_go_to_their_webhook_and_do_not_block() {
    let main = Backend::start(|hook: &Hook| match hook.event.as_str() {
        "event" => Reply::ok(r#"{"ack":["main"]}"#),
        _ => Reply::ok(""),
    })
    .await;
    let log = Backend::start(|_: &Hook| {
        Reply::ok(r#"{"ack":["log"],"emit":[{"event":"nope"}],"disconnect":true}"#)
            .after(Duration::from_secs(2))
    })
    .await;
    let gateway = sio::gateway(
        &main.url(),
        &format!(
            "[[endpoint.route]]\nevent = \"log*\"\nmode = \"async\"\nwebhook = \"{}\"",
            log.url()
        ),
    )
    .await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;

    // The slow async webhook holds nothing up: the next event is answered at once.
    let started = Instant::now();
    client.send(r#"421["log.debug",{"b":1,"a":1.50}]"#).await;
    assert_eq!(client.call(r#"422["chat"]"#).await, r#"432["main"]"#);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "blocked by the async route: {:?}",
        started.elapsed()
    );
    let hook = &log.wait_for("event", Some(&sid), 1).await[0];
    assert_eq!(hook.body["type"], "event");
    assert_eq!(raw_field(hook, "event"), r#""log.debug""#);
    assert_eq!(raw_field(hook, "args"), r#"[{"b":1,"a":1.50}]"#);
    assert_eq!(hook.body["ack"], true);
    assert_eq!(hook.body["rooms"], json!([sid]));
    assert!(
        main.hooks_of("event")
            .iter()
            .all(|h| event_name(h) == "chat"),
        "routed events do not reach the endpoint webhook"
    );

    // The async reply is ignored: no ack, no emit, no disconnect.
    log.respond_with(|_| {
        Reply::ok(r#"{"ack":["log"],"emit":[{"event":"nope"}],"disconnect":true}"#)
    });
    client.send(r#"423["logger"]"#).await;
    log.wait_for("event", Some(&sid), 2).await;
    client.assert_silent(Duration::from_millis(200)).await;
    assert_eq!(client.call(r#"424["chat"]"#).await, r#"434["main"]"#);
}

#[tokio::test]
async fn async_events_are_retried_with_one_delivery_id() {
    let failures = Arc::new(AtomicUsize::new(0));
    let main = Backend::start(accept).await;
    let log = Backend::start({
        let failures = failures.clone();
        move |_: &Hook| {
            if failures.fetch_add(1, Ordering::SeqCst) < 2 {
                Reply::status(503)
            } else {
                Reply::ok("")
            }
        }
    })
    .await;
    let gateway = sio::gateway(
        &main.url(),
        &format!(
            "[[endpoint.route]]\nevent = \"log*\"\nmode = \"async\"\nwebhook = \"{}\"",
            log.url()
        ),
    )
    .await;
    let (mut client, sid) = SioWs::connected(&gateway, "/", None).await;
    client.send(r#"42["log",1]"#).await;
    let hooks = log.wait_for("event", Some(&sid), 3).await;
    for hook in &hooks {
        assert_eq!(hook.delivery, hooks[0].delivery);
        assert_eq!(hook.raw, hooks[0].raw);
    }
}

#[tokio::test]
async fn routes_match_by_namespace_and_event_first_match_wins() {
    let named = |name: &'static str| {
        move |hook: &Hook| match hook.event.as_str() {
            "event" => Reply::ok(format!(r#"{{"ack":["{name}"]}}"#)),
            _ => Reply::ok(""),
        }
    };
    let main = Backend::start(named("main")).await;
    let admin = Backend::start(named("admin")).await;
    let special = Backend::start(named("special")).await;
    let gateway = sio::gateway(
        &main.url(),
        &format!(
            "namespaces = [\"/\", \"/admin\"]\n\
             [[endpoint.route]]\nnamespace = \"/admin\"\nevent = \"special\"\nwebhook = \"{admin}\"\n\
             [[endpoint.route]]\nevent = \"special\"\nwebhook = \"{special}\"\n\
             [[endpoint.route]]\nnamespace = \"/admin\"\nwebhook = \"{admin}\"\n\
             [[endpoint.route]]\nevent = \"fire\"\nmode = \"async\"",
            admin = admin.url(),
            special = special.url()
        ),
    )
    .await;
    let (mut client, main_sid) = SioWs::connected(&gateway, "/", None).await;
    let admin_sid = client.connect("/admin", None).await;

    assert_eq!(client.call(r#"421["special"]"#).await, r#"431["special"]"#);
    assert_eq!(
        client.call(r#"42/admin,2["special"]"#).await,
        r#"43/admin,2["admin"]"#
    );
    assert_eq!(
        client.call(r#"42/admin,3["other"]"#).await,
        r#"43/admin,3["admin"]"#
    );
    assert_eq!(client.call(r#"424["other"]"#).await, r#"434["main"]"#);

    // An async route without a webhook uses the endpoint's, and its reply is not acted on.
    client.send(r#"425["fire"]"#).await;
    main.wait_for("event", Some(&main_sid), 2).await;
    assert_eq!(client.call(r#"426["other"]"#).await, r#"436["main"]"#);

    assert_eq!(admin.hooks_of("event").len(), 2);
    assert!(
        admin
            .hooks_of("event")
            .iter()
            .all(|h| h.body["sid"] == admin_sid.as_str())
    );
    assert_eq!(special.hooks_of("event").len(), 1);
    assert!(
        admin.hooks_of("connect").is_empty(),
        "routes apply to events only: connects go to the endpoint webhook"
    );
    assert_eq!(main.hooks_of("connect").len(), 2);
}
