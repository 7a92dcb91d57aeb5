//! Connection state recovery at the protocol level, with a raw client: the bounds (the replay log's byte cap,
//! the number of parked sockets), the refusals (a live pid, a second restore of the same pid, the backend
//! rejecting the recovered socket), `skip_connect_hook`, shutdown, who gets offsets (the handshake marker, on every
//! namespace of its connection), and the order of a restore's packets (the missed events before the CONNECT reply).

use crate::common;
use common::api::{Api, Client, Transport, gateway_with, socketio_endpoint};
use common::sio::SioWs;
use common::{Backend, Gateway, Reply, eio};
use serde_json::{Value, json};

/// A gateway whose endpoint gives every v5 socket offsets and keeps `max_buffer` bytes of events per socket.
async fn start(max_buffer: usize, server: &str) -> (Backend, Gateway) {
    start_with(
        Backend::start(|_| Reply::ok("")).await,
        &format!("max_buffer = {max_buffer}"),
        server,
    )
    .await
}

/// A gateway in front of `backend` whose endpoint gives every v5 socket offsets, with `keys` added to `recovery`.
async fn start_with(backend: Backend, keys: &str, server: &str) -> (Backend, Gateway) {
    let endpoint = socketio_endpoint(
        "/socket.io",
        &backend.url(),
        &format!("recovery = {{ max_disconnection = \"10s\", offsets = \"always\", {keys} }}"),
    );
    let gateway = gateway_with(&format!("{server}\n{endpoint}")).await;
    (backend, gateway)
}

/// The CONNECT reply's `sid` and `pid`.
async fn connect(client: &mut Client, auth: Option<&str>) -> (String, String) {
    client.send(&format!("40{}", auth.unwrap_or(""))).await;
    let reply = client.next().await;
    let json: Value = serde_json::from_str(reply.strip_prefix("40").expect("a CONNECT reply"))
        .unwrap_or_else(|_| panic!("CONNECT reply: {reply}"));
    let text = |key: &str| json[key].as_str().expect(key).to_string();
    (text("sid"), text("pid"))
}

async fn emit_to(api: &Api, sid: &str, args: Value) {
    let body = json!({"endpoint": "/socket.io", "namespace": "/", "to": {"sockets": [sid]}, "event": "e", "args": args});
    api.post_ok("/v1/emit", &body.to_string()).await;
}

/// The offset (last argument) of an EVENT message.
fn offset_of(message: &str) -> String {
    let args: Value = serde_json::from_str(message.strip_prefix("42").expect("an EVENT")).unwrap();
    args.as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_string()
}

async fn parked(api: &Api, count: f64) {
    api.metrics_until("parked sockets", |m| {
        m.value("iogate_recovery_parked", &[("endpoint", "/socket.io")]) == count
    })
    .await;
}

fn outcome(metrics: &common::api::Metrics, outcome: &str) -> f64 {
    metrics.value(
        "iogate_recoveries_total",
        &[("endpoint", "/socket.io"), ("outcome", outcome)],
    )
}

#[tokio::test]
async fn a_restore_past_the_byte_cap_is_refused_and_the_parked_socket_ends() {
    let (backend, gateway) = start(200, "").await;
    let api = Api::of(&gateway);
    let mut client = Client::open(&gateway, Transport::Ws).await;
    let (sid, pid) = connect(&mut client, None).await;
    emit_to(&api, &sid, json!(["first"])).await;
    let offset = offset_of(&client.next().await);
    drop(client);
    parked(&api, 1.0).await;
    // Five events of over 60 bytes each while it is away: the log keeps the newest 200 bytes, so the client's
    // offset (and what followed it) is gone.
    for n in 0..5 {
        emit_to(&api, &sid, json!([format!("{n}{}", "x".repeat(60))])).await;
    }
    let mut again = Client::open(&gateway, Transport::Ws).await;
    let auth = json!({"pid": pid, "offset": offset}).to_string();
    let (new_sid, new_pid) = connect(&mut again, Some(&auth)).await;
    assert_ne!(new_sid, sid, "refused: a new socket");
    assert_ne!(new_pid, pid);
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport close");
    let metrics = api.metrics().await;
    assert_eq!(outcome(&metrics, "offset_not_found"), 1.0);
    assert!(
        metrics.value(
            "iogate_recovery_log_trimmed_total",
            &[("endpoint", "/socket.io")]
        ) >= 1.0
    );
    assert_eq!(
        metrics.value("iogate_recovery_parked", &[("endpoint", "/socket.io")]),
        0.0
    );
}

#[tokio::test]
async fn missed_events_come_before_the_connect_reply_and_a_pid_recovers_once() {
    let (backend, gateway) = start(1 << 20, "").await;
    let api = Api::of(&gateway);
    let mut client = Client::open(&gateway, Transport::Ws).await;
    let (sid, pid) = connect(&mut client, None).await;
    // Its pid while it is live: refused, a socket of its own.
    let mut intruder = Client::open(&gateway, Transport::Ws).await;
    let (other, _) = connect(&mut intruder, Some(&json!({"pid": pid}).to_string())).await;
    assert_ne!(other, sid);
    drop(client);
    parked(&api, 1.0).await;
    emit_to(&api, &sid, json!(["missed", 1])).await;
    // No event ever reached it, so it has no offset: its log still holds everything since it connected.
    let mut back = Client::open(&gateway, Transport::Ws).await;
    back.send(&format!("40{}", json!({"pid": pid}))).await;
    let missed = back.next().await;
    assert!(missed.starts_with("42[\"e\",\"missed\",1,\""), "{missed}");
    back.expect(&format!("40{}", json!({"sid": sid, "pid": pid})))
        .await;
    parked(&api, 0.0).await;
    // The same pid again: its socket is live, so a new one.
    let mut twice = Client::open(&gateway, Transport::Ws).await;
    let offset = offset_of(&missed);
    let (third, _) = connect(
        &mut twice,
        Some(&json!({"pid": pid, "offset": offset}).to_string()),
    )
    .await;
    assert_ne!(third, sid);
    let metrics = api.metrics().await;
    assert_eq!(outcome(&metrics, "recovered"), 1.0);
    assert_eq!(outcome(&metrics, "live"), 2.0);
    assert!(
        backend
            .hooks_of("disconnect")
            .iter()
            .all(|h| h.body["sid"] != sid)
    );
}

#[tokio::test]
async fn parked_sockets_are_bounded_by_max_sessions() {
    let (backend, gateway) = start(1 << 20, "[server]\nmax_sessions = 2\n").await;
    let api = Api::of(&gateway);
    let mut sids = Vec::new();
    for _ in 0..2 {
        let mut round = Vec::new();
        for _ in 0..2 {
            let mut client = Client::open(&gateway, Transport::Ws).await;
            let (sid, _) = connect(&mut client, None).await;
            round.push(client);
            sids.push(sid);
        }
        drop(round);
        eio::eventually("sessions closed", || gateway.sessions() == 0).await;
    }
    parked(&api, 2.0).await;
    // The second pair found the limit reached: they ended at once, with their hooks.
    for sid in &sids[2..] {
        let hooks = backend.wait_for("disconnect", Some(sid), 1).await;
        assert_eq!(hooks[0].body["reason"], "transport close");
    }
    for sid in &sids[..2] {
        assert!(
            backend
                .hooks_of("disconnect")
                .iter()
                .all(|h| h.body["sid"] != *sid)
        );
    }
    let metrics = api.metrics().await;
    assert_eq!(
        metrics.value(
            "iogate_recovery_park_refused_total",
            &[("endpoint", "/socket.io")]
        ),
        2.0
    );
}

#[tokio::test]
async fn at_shutdown_parked_sockets_end_with_their_reason_and_live_ones_are_not_parked() {
    let (backend, gateway) = start(1 << 20, "").await;
    let api = Api::of(&gateway);
    let mut dropped = Client::open(&gateway, Transport::Ws).await;
    let (parked_sid, _) = connect(&mut dropped, None).await;
    drop(dropped);
    parked(&api, 1.0).await;
    let mut live = Client::open(&gateway, Transport::Ws).await;
    let (live_sid, _) = connect(&mut live, None).await;
    let delivered = gateway
        .running
        .shutdown(std::time::Duration::from_secs(5))
        .await;
    assert!(delivered, "shutdown reported webhooks still pending");
    let reason = |sid: &str| {
        let hooks: Vec<Value> = backend
            .hooks_of("disconnect")
            .into_iter()
            .filter(|h| h.body["sid"] == sid)
            .map(|h| h.body["reason"].clone())
            .collect();
        hooks
    };
    assert_eq!(reason(&parked_sid), vec![json!("transport close")]);
    assert_eq!(reason(&live_sid), vec![json!("server shutting down")]);
}

/// Connects, receives one event, drops; returns the socket id, pid and offset once the socket is parked.
async fn connect_and_drop(gateway: &Gateway, api: &Api) -> (String, String, String) {
    let mut client = Client::open(gateway, Transport::Ws).await;
    let (sid, pid) = connect(&mut client, None).await;
    emit_to(api, &sid, json!(["first"])).await;
    let offset = offset_of(&client.next().await);
    drop(client);
    parked(api, 1.0).await;
    (sid, pid, offset)
}

#[tokio::test]
async fn a_recovered_socket_the_backend_rejects_gets_the_refusal_and_ends_with_its_hook() {
    let backend = Backend::start(|hook| {
        if hook.event == "connect" && hook.body["recovered"] == true {
            Reply::json(json!({"reject": {"message": "not you again"}}))
        } else {
            Reply::ok("")
        }
    })
    .await;
    let (backend, gateway) = start_with(backend, "max_buffer = 4096", "").await;
    let api = Api::of(&gateway);
    let (sid, pid, offset) = connect_and_drop(&gateway, &api).await;
    let mut back = Client::open(&gateway, Transport::Ws).await;
    back.send(&format!("40{}", json!({"pid": pid, "offset": offset})))
        .await;
    back.expect("44{\"message\":\"not you again\"}").await;
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "transport close");
    let metrics = api.metrics().await;
    assert_eq!(outcome(&metrics, "rejected"), 1.0);
    assert_eq!(
        metrics.value("iogate_recovery_parked", &[("endpoint", "/socket.io")]),
        0.0
    );
}

#[tokio::test]
async fn skip_connect_hook_recovers_without_a_hook() {
    let (backend, gateway) = start_with(
        Backend::start(|_| Reply::ok("")).await,
        "skip_connect_hook = true",
        "",
    )
    .await;
    let api = Api::of(&gateway);
    let (sid, pid, offset) = connect_and_drop(&gateway, &api).await;
    emit_to(&api, &sid, json!(["while away"])).await;
    let mut back = Client::open(&gateway, Transport::Ws).await;
    back.send(&format!("40{}", json!({"pid": pid, "offset": offset})))
        .await;
    let missed = back.next().await;
    assert!(missed.starts_with("42[\"e\",\"while away\",\""), "{missed}");
    back.expect(&format!("40{}", json!({"sid": sid, "pid": pid})))
        .await;
    let connects: Vec<_> = backend
        .hooks_of("connect")
        .into_iter()
        .filter(|h| h.body["sid"] == sid)
        .collect();
    assert_eq!(connects.len(), 1, "only the first connect");
    assert_eq!(connects[0].body["recovered"], false);
    assert!(backend.hooks_of("disconnect").is_empty());
}

#[tokio::test]
async fn the_api_disconnecting_a_parked_socket_ends_it_then() {
    let (backend, gateway) = start(4096, "").await;
    let api = Api::of(&gateway);
    let (sid, pid, offset) = connect_and_drop(&gateway, &api).await;
    let listed = api.sockets("endpoint=/socket.io&namespace=/").await;
    assert_eq!(listed.len(), 1, "a parked socket is listed");
    let body = json!({"endpoint": "/socket.io", "namespace": "/", "to": {"sockets": [sid]}});
    api.post_ok("/v1/disconnect", &body.to_string()).await;
    let hooks = backend.wait_for("disconnect", Some(&sid), 1).await;
    assert_eq!(hooks[0].body["reason"], "server namespace disconnect");
    parked(&api, 0.0).await;
    let mut back = Client::open(&gateway, Transport::Ws).await;
    let auth = json!({"pid": pid, "offset": offset}).to_string();
    let (new_sid, _) = connect(&mut back, Some(&auth)).await;
    assert_ne!(new_sid, sid);
    assert_eq!(outcome(&api.metrics().await, "unknown_pid"), 1.0);
    assert_eq!(backend.hooks_of("disconnect").len(), 1);
}

#[tokio::test]
async fn the_handshake_marker_gives_offsets_on_every_namespace_and_only_then() {
    let backend = Backend::start(|_| Reply::ok("")).await;
    let endpoint = socketio_endpoint(
        "/socket.io",
        &backend.url(),
        "recovery = { max_disconnection = \"10s\" }",
    );
    let gateway = gateway_with(&endpoint).await;
    let api = Api::of(&gateway);
    let mut marked = SioWs::open_with(&gateway, "&recovery=1", &[]).await;
    let mut plain = SioWs::open(&gateway).await;
    for client in [&mut marked, &mut plain] {
        for (namespace, prefix) in [("", "40"), ("/chat,", "40/chat,")] {
            client.send(&format!("40{namespace}")).await;
            let reply = client.recv_text().await;
            let json: Value = serde_json::from_str(reply.strip_prefix(prefix).unwrap()).unwrap();
            let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["sid", "pid"], "{reply}");
        }
    }
    for namespace in ["/", "/chat"] {
        let body =
            json!({"endpoint": "/socket.io", "namespace": namespace, "event": "e", "args": [1]});
        assert_eq!(
            api.post_ok("/v1/emit", &body.to_string()).await,
            r#"{"sockets":2}"#
        );
    }
    let offsets: Vec<String> = vec![marked.recv_text().await, marked.recv_text().await];
    assert!(offsets[0].starts_with("42[\"e\",1,\""), "{}", offsets[0]);
    assert!(
        offsets[1].starts_with("42/chat,[\"e\",1,\""),
        "{}",
        offsets[1]
    );
    assert_eq!(plain.recv_text().await, "42[\"e\",1]");
    assert_eq!(plain.recv_text().await, "42/chat,[\"e\",1]");
    // The connect hooks say `recovered: false` with recovery on.
    let connects = backend.hooks_of("connect");
    assert_eq!(connects.len(), 4);
    assert!(connects.iter().all(|h| h.body["recovered"] == false));
}
