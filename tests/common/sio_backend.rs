//! The socket.io backend the real-client scripts (tests/clients/socketio/, tests/clients/python/) expect, as a
//! webhook responder, a gateway in front of it, and checks of the hooks it recorded.
//!
//! - `connect`: `auth.token == "good"` accepts, stores `{"name": auth.name}`, joins `user:<name>` and emits
//!   `welcome` `[{"name", "namespace"}]`; any other token is rejected with "Not authorized" and [`REJECT_DATA`].
//! - `event` (sync), by name: `ping` acks `"pong"`; `shout [text]` acks `[TEXT, chars]`; `add [a, b]` acks `[a+b]`;
//!   `echo` emits `echo` with the same args; `seq` does nothing; `binary` acks the args with every `$binary`
//!   reversed and emits `binary-back` with the args unchanged; `bytes [n]` acks `[<bytes 0..n>]`;
//!   `join [room]` / `leave [room]` join or leave and ack `["joined"|"left", room]`; `broadcast [{rooms, except,
//!   self, text}]` broadcasts `shout` `[{"from": data.name, "text"}]` with the given selector and acks `"sent"`;
//!   `whoami` acks `[data, rooms]`; `kick` acks `"bye"` and disconnects the socket. Anything else: empty 200.

use super::{Backend, Gateway, Hook, Reply};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

/// The CONNECT_ERROR data sent with a rejected token.
pub fn reject_data() -> Value {
    json!({"code": 4001, "reason": "bad token", "retry": false, "tags": ["auth", 1.5, null]})
}

/// Answers a hook as the client scripts expect.
pub fn respond(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "connect" => connect(&hook.body),
        "event" => event(&hook.body),
        _ => Reply::ok(""),
    }
}

fn connect(body: &Value) -> Reply {
    let auth = &body["auth"];
    if auth["token"] != "good" {
        return Reply::json(
            json!({"reject": {"message": "Not authorized", "data": reject_data()}}),
        );
    }
    let name = auth["name"].as_str().unwrap_or("anonymous");
    Reply::json(json!({
        "data": {"name": name},
        "join": [format!("user:{name}")],
        "emit": [{"event": "welcome", "args": [{"name": name, "namespace": body["namespace"]}]}],
    }))
}

fn event(body: &Value) -> Reply {
    let args = body["args"].as_array().cloned().unwrap_or_default();
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let reply = match body["event"].as_str().unwrap_or_default() {
        "ping" => json!({"ack": ["pong"]}),
        "shout" => {
            let text = arg(0).as_str().unwrap_or_default().to_string();
            json!({"ack": [text.to_uppercase(), text.chars().count()]})
        }
        "add" => json!({"ack": [add(&arg(0), &arg(1))]}),
        "echo" => json!({"emit": [{"event": "echo", "args": args}]}),
        "binary" => json!({
            "ack": reverse_binaries(&Value::Array(args.clone())),
            "emit": [{"event": "binary-back", "args": args}],
        }),
        "bytes" => {
            let n = arg(0).as_u64().unwrap_or(0).min(1024) as u8;
            json!({"ack": [{"$binary": STANDARD.encode((0..n).collect::<Vec<u8>>())}]})
        }
        "join" => json!({"join": [arg(0)], "ack": ["joined", arg(0)]}),
        "leave" => json!({"leave": [arg(0)], "ack": ["left", arg(0)]}),
        "broadcast" => broadcast(body, &arg(0)),
        "whoami" => json!({"ack": [body["data"], body["rooms"]]}),
        "kick" => json!({"ack": ["bye"], "disconnect": true}),
        _ => return Reply::ok(""),
    };
    Reply::json(reply)
}

/// `a + b`, as an integer when both are.
fn add(a: &Value, b: &Value) -> Value {
    match (a.as_i64(), b.as_i64()) {
        (Some(a), Some(b)) => json!(a + b),
        _ => json!(a.as_f64().unwrap_or(f64::NAN) + b.as_f64().unwrap_or(f64::NAN)),
    }
}

/// A broadcast of `shout` with the selector keys of `spec` (only those given, so defaults are exercised).
fn broadcast(body: &Value, spec: &Value) -> Value {
    let mut broadcast = Map::new();
    for key in ["rooms", "except", "self"] {
        if let Some(value) = spec.get(key) {
            broadcast.insert(key.to_string(), value.clone());
        }
    }
    broadcast.insert("event".to_string(), json!("shout"));
    broadcast.insert(
        "args".to_string(),
        json!([{"from": body["data"]["name"], "text": spec["text"]}]),
    );
    json!({"broadcast": [broadcast], "ack": ["sent"]})
}

/// `value` with the bytes of every `{"$binary": ...}` reversed.
pub fn reverse_binaries(value: &Value) -> Value {
    if let Some(bytes) = binary(value) {
        let reversed: Vec<u8> = bytes.into_iter().rev().collect();
        return json!({"$binary": STANDARD.encode(reversed)});
    }
    match value {
        Value::Array(items) => Value::Array(items.iter().map(reverse_binaries).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, inner)| (key.clone(), reverse_binaries(inner)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// The bytes of a `{"$binary": "<base64>"}` object.
pub fn binary(value: &Value) -> Option<Vec<u8>> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    STANDARD.decode(map.get("$binary")?.as_str()?).ok()
}

/// `{"$binary": base64(bytes)}`.
pub fn b64(bytes: &[u8]) -> Value {
    json!({"$binary": STANDARD.encode(bytes)})
}

/// A backend answering with [`respond`] and a gateway with a socket.io endpoint at `/socket.io` (namespaces
/// `/` and `/chat`) relaying to it; `extra` TOML lines are appended to the endpoint.
pub async fn start(extra: &str) -> (Backend, Gateway) {
    let backend = Backend::start(respond).await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/socket.io\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\", \"/chat\"]\n{extra}\n",
        backend.url()
    ))
    .await;
    (backend, gateway)
}

// What the real-client tests check in the hooks the backend recorded.

/// The transport a session starts on in `mode`.
pub fn first_transport(mode: &str) -> &'static str {
    if mode == "websocket" {
        "websocket"
    } else {
        "polling"
    }
}

/// The transport a session ends on in `mode`.
pub fn last_transport(mode: &str) -> &'static str {
    if mode == "polling" {
        "polling"
    } else {
        "websocket"
    }
}

/// The socket id at `key` of a script's RESULT.
pub fn sid_of<'a>(result: &'a Value, key: &str) -> &'a str {
    result[key]
        .as_str()
        .unwrap_or_else(|| panic!("RESULT has no {key:?}: {result}"))
}

/// The only hook of type `event` of `sid`, waiting for it.
pub async fn only(backend: &Backend, event: &str, sid: &str) -> Hook {
    let hooks = backend.wait_for(event, Some(sid), 1).await;
    assert_eq!(hooks.len(), 1, "{event} hooks of {sid}: {hooks:#?}");
    hooks[0].clone()
}

/// Checks the connect hook of an accepted socket `sid` of `name` on `namespace`; returns its handshake.
pub async fn check_connect(
    backend: &Backend,
    sid: &str,
    namespace: &str,
    name: &str,
    mode: &str,
) -> Value {
    let hook = only(backend, "connect", sid).await;
    let body = &hook.body;
    assert_eq!(body["type"], "connect");
    assert_eq!(body["endpoint"], "/socket.io");
    assert_eq!(body["namespace"], namespace);
    assert_eq!(body["data"], Value::Null);
    assert_eq!(body["rooms"], json!([]));
    assert_eq!(body["auth"], json!({"token": "good", "name": name}));
    let handshake = &body["handshake"];
    assert_eq!(handshake["protocol"], 5, "handshake: {handshake}");
    assert_eq!(handshake["transport"], first_transport(mode));
    assert_eq!(handshake["query"]["EIO"], "4");
    assert_eq!(handshake["query"]["transport"], first_transport(mode));
    assert_eq!(handshake["secure"], false);
    handshake.clone()
}

/// The reason of the one disconnect hook of `sid`, after checking its common fields.
pub async fn disconnect_reason(
    backend: &Backend,
    sid: &str,
    namespace: &str,
    name: &str,
) -> String {
    let hook = only(backend, "disconnect", sid).await;
    assert_eq!(hook.body["type"], "disconnect");
    assert_eq!(hook.body["namespace"], namespace);
    assert_eq!(hook.body["data"], json!({"name": name}));
    hook.body["reason"].as_str().unwrap_or_default().to_string()
}

/// The `event` hooks of `sid` named `name`.
pub fn events_named(backend: &Backend, sid: &str, name: &str) -> Vec<Value> {
    backend
        .hooks_of("event")
        .into_iter()
        .filter(|h| h.body["sid"] == sid && h.body["event"] == name)
        .map(|h| h.body)
        .collect()
}

/// Checks what the `events` client scripts (every client generation runs the same steps) sent, as the backend saw
/// it: the `seq` events in order and without acks, `echo`, `shout`, `adds` calls of `add`, and one `binary` event
/// with its bytes; with `data`, the data that the binary event's hook carried.
pub fn check_event_script_hooks(
    backend: &Backend,
    sid: &str,
    result: &Value,
    adds: usize,
    data: Option<Value>,
) {
    check_plain_event_hooks(backend, sid, result, adds);
    let binary = events_named(backend, sid, "binary");
    assert_eq!(binary.len(), 1);
    assert_eq!(binary[0]["ack"], true);
    assert_eq!(
        binary[0]["args"],
        json!([
            b64(&[0, 1, 2, 127, 128, 253, 254, 255]),
            {
                "name": "file.bin",
                "content": b64("buffer héllo".as_bytes()),
                "parts": [b64(b"a"), "text", b64(&[9, 8])],
            },
        ])
    );
    if let Some(data) = data {
        assert_eq!(binary[0]["data"], data);
    }
}

/// The steps of [`check_event_script_hooks`] that need no binary support (what a Socket.IO 0.9 client can do):
/// `seq` in order without acks, `echo`, `shout`, and `adds` calls of `add`.
pub fn check_plain_event_hooks(backend: &Backend, sid: &str, result: &Value, adds: usize) {
    let seq: Vec<Value> = events_named(backend, sid, "seq")
        .into_iter()
        .map(|body| {
            assert_eq!(body["ack"], false);
            body["args"].clone()
        })
        .collect();
    let count = result["seq"].as_u64().expect("RESULT has seq");
    let expected: Vec<Value> = (0..count).map(|i| json!([i])).collect();
    assert_eq!(seq, expected, "seq events in the order sent");

    let echo = events_named(backend, sid, "echo");
    assert_eq!(echo.len(), 1);
    assert_eq!(echo[0]["ack"], false);
    assert_eq!(
        echo[0]["args"],
        json!(["one", {"n": 1, "nested": [true, null, "x"]}, [2.5]])
    );

    let shout = events_named(backend, sid, "shout");
    assert_eq!(shout[0]["args"], json!(["héllo € 😀 world"]));
    assert_eq!(shout[0]["ack"], true);
    assert_eq!(events_named(backend, sid, "add").len(), adds);
}
