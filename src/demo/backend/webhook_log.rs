//! One line of the page's webhook log per webhook the backend receives: its kind and a short summary.

use serde_json::{Value, json};

/// The longest summary sent to the page, in characters.
const MAX_SUMMARY: usize = 140;

/// The `webhook-log` event's argument for `hook`, a webhook of kind `kind` (its `X-Iogate-Event`).
pub fn entry(kind: &str, hook: &Value) -> Value {
    json!({
        "kind": kind,
        "endpoint": text(hook, "endpoint"),
        "sid": text(hook, "sid"),
        "summary": shorten(&summary(kind, hook)),
        "signature": "verified",
    })
}

/// The name the chat knows a socket by: its stored data's `name`, else the start of its id.
pub fn who(hook: &Value) -> String {
    match hook.pointer("/data/name").and_then(Value::as_str) {
        Some(name) => name.to_string(),
        None => text(hook, "sid").chars().take(6).collect(),
    }
}

fn summary(kind: &str, hook: &Value) -> String {
    match kind {
        "connect" => {
            let how = if hook.get("recovered") == Some(&Value::Bool(true)) {
                "comes back to"
            } else {
                "connects to"
            };
            let name = hook.pointer("/auth/name").and_then(Value::as_str);
            format!(
                "{} {how} {} over {}, auth {}",
                name.map_or_else(|| who(hook), str::to_string),
                text(hook, "namespace"),
                hook.pointer("/handshake/transport")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                hook.get("auth").unwrap_or(&Value::Null)
            )
        }
        "event" => format!(
            "{}: {} {}{}",
            who(hook),
            text(hook, "event"),
            hook.get("args").unwrap_or(&Value::Null),
            if hook.get("ack") == Some(&Value::Bool(true)) {
                " (ack wanted)"
            } else {
                ""
            }
        ),
        "disconnect" => format!("{} left: {}", who(hook), text(hook, "reason")),
        "open" => format!(
            "engine.io session opens over {}",
            hook.pointer("/handshake/transport")
                .and_then(Value::as_str)
                .unwrap_or("?")
        ),
        "message" => format!(
            "engine.io message {}",
            hook.get("data").unwrap_or(&Value::Null)
        ),
        "close" => format!("engine.io session closed: {}", text(hook, "reason")),
        _ => String::from("unknown webhook"),
    }
}

fn text<'a>(hook: &'a Value, key: &str) -> &'a str {
    hook.get(key).and_then(Value::as_str).unwrap_or("")
}

fn shorten(summary: &str) -> String {
    if summary.chars().count() <= MAX_SUMMARY {
        return summary.to_string();
    }
    let mut short: String = summary.chars().take(MAX_SUMMARY - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_is_summarised_with_its_sender_and_arguments() {
        let hook = json!({"type":"event","endpoint":"/socket.io","sid":"abcdef123","data":{"name":"ann"},
            "event":"chat","args":["hi"],"ack":true});
        let entry = entry("event", &hook);
        assert_eq!(entry["kind"], "event");
        assert_eq!(entry["summary"], "ann: chat [\"hi\"] (ack wanted)");
    }

    #[test]
    fn a_connect_names_the_user_and_the_transport() {
        let hook = json!({"sid":"s1","namespace":"/","auth":{"name":"ann"},"handshake":{"transport":"polling"}});
        assert_eq!(
            entry("connect", &hook)["summary"],
            "ann connects to / over polling, auth {\"name\":\"ann\"}"
        );
    }

    #[test]
    fn a_long_summary_is_cut() {
        let hook = json!({"data":{"name":"ann"},"event":"chat","args":["x".repeat(500)]});
        let summary = entry("event", &hook)["summary"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(summary.chars().count(), MAX_SUMMARY);
        assert!(summary.ends_with('…'));
    }

    #[test]
    fn a_socket_without_a_name_is_known_by_its_id() {
        let hook = json!({"sid":"Qm3xyzabc","reason":"transport close","data":null});
        assert_eq!(
            entry("disconnect", &hook)["summary"],
            "Qm3xyz left: transport close"
        );
    }
}
