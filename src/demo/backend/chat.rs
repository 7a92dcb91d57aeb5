//! The chat on the Socket.IO endpoint: what the backend answers to `connect`, `event` and `disconnect` hooks.
//!
//! A socket connects with `auth: {name}` and joins the room `lobby`; its data holds `{name, room}`. The event `chat`
//! is broadcast to the sender's room (sender included), `join` moves the socket to another room and acks the
//! room's member count; the echo example's `message` (emitted back as `message-back`) and `message-with-ack`
//! (acked with its arguments) work too. Every hook is shown to every chat socket as a `webhook-log` event.

use super::push::Push;
use super::webhook_log;
use serde_json::{Map, Value, json};

/// The room every new socket joins.
pub const DEFAULT_ROOM: &str = "lobby";

/// The event that carries the webhook log to the page.
pub const WEBHOOK_LOG: &str = "webhook-log";

/// The longest name and room name, in characters.
const MAX_NAME: usize = 24;

/// The longest chat message, in characters.
const MAX_TEXT: usize = 500;

/// The reply to a `connect` hook: accept, store `{name, room}`, join the default room, greet the socket.
pub async fn connect(hook: &Value, push: &Push) -> Value {
    let sid = text(hook, "sid");
    let log = webhook_log::entry("connect", hook);
    push.emit(&[], Some(sid), WEBHOOK_LOG, json!([log])).await;
    if hook.get("recovered") == Some(&Value::Bool(true)) {
        let room = current_room(hook);
        let welcome =
            json!({"name": webhook_log::who(hook), "room": room, "sid": sid, "recovered": true});
        return json!({"emit": [
            {"event": "welcome", "args": [welcome]},
            {"event": WEBHOOK_LOG, "args": [log]},
        ]});
    }
    let name = hook
        .pointer("/auth/name")
        .and_then(Value::as_str)
        .and_then(|name| clean(name, MAX_NAME))
        .unwrap_or_else(|| format!("guest-{}", sid.chars().take(4).collect::<String>()));
    let members = push.room_size(DEFAULT_ROOM).await.unwrap_or(0) + 1;
    let notice = format!("{name} joined {DEFAULT_ROOM}");
    push.emit(&[DEFAULT_ROOM], Some(sid), "notice", json!([notice]))
        .await;
    let welcome = json!({"name": name, "room": DEFAULT_ROOM, "sid": sid, "members": members});
    let auth = hook.get("auth").cloned().unwrap_or_else(|| json!({}));
    json!({
        "data": {"name": name, "room": DEFAULT_ROOM},
        "join": [DEFAULT_ROOM],
        "emit": [
            {"event": "auth", "args": [auth]},
            {"event": "welcome", "args": [welcome]},
            {"event": WEBHOOK_LOG, "args": [log]},
        ],
    })
}

/// The reply to an `event` hook.
pub async fn event(hook: &Value, push: &Push) -> Value {
    let args = hook.get("args").cloned().unwrap_or_else(|| json!([]));
    let mut reply = match text(hook, "event") {
        "chat" => chat(hook, &args),
        "join" => join(hook, &args, push).await,
        "message" => json!({"emit": [{"event": "message-back", "args": args}]}),
        "message-with-ack" => json!({"ack": args}),
        _ => json!({}),
    };
    let log = webhook_log::entry("event", hook);
    add_broadcast(
        &mut reply,
        json!({"self": true, "event": WEBHOOK_LOG, "args": [log]}),
    );
    reply
}

/// What the backend does on a `disconnect` hook (its reply is not read): tell the room and the log.
pub async fn disconnect(hook: &Value, push: &Push) {
    let log = webhook_log::entry("disconnect", hook);
    push.emit(&[], None, WEBHOOK_LOG, json!([log])).await;
    if let Some(name) = hook.pointer("/data/name").and_then(Value::as_str) {
        let notice = format!("{name} left ({})", text(hook, "reason"));
        push.emit(&[current_room(hook)], None, "notice", json!([notice]))
            .await;
    }
}

/// `chat` with a text (or `{text}`): broadcast `{name, room, text, sid}` to the sender's room.
fn chat(hook: &Value, args: &Value) -> Value {
    let wants_ack = hook.get("ack") == Some(&Value::Bool(true));
    let first = args.get(0);
    let message = first
        .and_then(Value::as_str)
        .or_else(|| {
            first
                .and_then(|arg| arg.get("text"))
                .and_then(Value::as_str)
        })
        .and_then(|message| clean(message, MAX_TEXT));
    let Some(message) = message else {
        return if wants_ack {
            json!({"ack": [{"error": "empty message"}]})
        } else {
            json!({})
        };
    };
    let room = current_room(hook);
    let line = json!({"name": webhook_log::who(hook), "room": room, "text": message, "sid": text(hook, "sid")});
    let mut reply = json!({});
    if wants_ack {
        reply["ack"] = json!([{"room": room}]);
    }
    add_broadcast(
        &mut reply,
        json!({"rooms": [room], "self": true, "event": "chat", "args": [line]}),
    );
    reply
}

/// `join` with a room name: leave the current room, join that one, ack `{room, members}`.
async fn join(hook: &Value, args: &Value, push: &Push) -> Value {
    let Some(room) = args
        .get(0)
        .and_then(Value::as_str)
        .and_then(|room| clean(room, MAX_NAME))
    else {
        return json!({"ack": [{"error": "a room name is 1 to 24 characters"}]});
    };
    let old = current_room(hook);
    let name = webhook_log::who(hook);
    let size = push.room_size(&room).await.unwrap_or(0);
    if room == old {
        return json!({"ack": [{"room": room, "members": size}]});
    }
    let mut reply = json!({
        "data": {"name": name, "room": room},
        "leave": [old],
        "join": [room],
        "ack": [{"room": room, "members": size + 1}],
    });
    add_broadcast(
        &mut reply,
        json!({"rooms": [old], "event": "notice", "args": [format!("{name} left for {room}")]}),
    );
    add_broadcast(
        &mut reply,
        json!({"rooms": [room], "event": "notice", "args": [format!("{name} joined {room}")]}),
    );
    reply
}

/// The room the socket's data names, else the default room.
fn current_room(hook: &Value) -> &str {
    hook.pointer("/data/room")
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_ROOM)
}

/// `value` trimmed, without control characters, when 1 to `max` characters remain.
fn clean(value: &str, max: usize) -> Option<String> {
    let cleaned: String = value.trim().chars().filter(|c| !c.is_control()).collect();
    let length = cleaned.chars().count();
    (1..=max).contains(&length).then_some(cleaned)
}

fn add_broadcast(reply: &mut Value, broadcast: Value) {
    if let Value::Object(map) = reply {
        let list = map
            .entry("broadcast")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(list) = list {
            list.push(broadcast);
        }
    } else {
        let mut map = Map::new();
        map.insert("broadcast".into(), json!([broadcast]));
        *reply = Value::Object(map);
    }
}

fn text<'a>(hook: &'a Value, key: &str) -> &'a str {
    hook.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chat_line_goes_to_the_senders_room_and_the_sender() {
        let hook = json!({"sid":"s1","data":{"name":"ann","room":"rust"},"event":"chat","args":["  hi  "],"ack":true});
        let reply = chat(&hook, &hook["args"]);
        assert_eq!(reply["ack"], json!([{"room": "rust"}]));
        let broadcast = &reply["broadcast"][0];
        assert_eq!(broadcast["rooms"], json!(["rust"]));
        assert_eq!(broadcast["self"], json!(true));
        assert_eq!(broadcast["args"][0]["text"], "hi");
        assert_eq!(broadcast["args"][0]["name"], "ann");
    }

    #[test]
    fn an_empty_or_odd_chat_is_not_broadcast() {
        for args in [json!([]), json!([""]), json!([42]), json!(["\u{7}"])] {
            let hook =
                json!({"sid":"s1","data":{"name":"ann","room":"lobby"},"args":args,"ack":true});
            let reply = chat(&hook, &hook["args"]);
            assert!(reply.get("broadcast").is_none(), "{args}");
            assert_eq!(reply["ack"][0]["error"], "empty message");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(clean("  ann ", MAX_NAME).as_deref(), Some("ann"));
        assert_eq!(clean("   ", MAX_NAME), None);
        assert_eq!(clean(&"x".repeat(MAX_NAME + 1), MAX_NAME), None);
    }

    #[test]
    fn broadcasts_are_added_to_a_reply() {
        let mut reply = json!({"ack": []});
        add_broadcast(&mut reply, json!({"event": "a"}));
        add_broadcast(&mut reply, json!({"event": "b"}));
        assert_eq!(reply["broadcast"], json!([{"event": "a"}, {"event": "b"}]));
    }
}
