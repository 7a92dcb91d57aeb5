//! The Engine.IO endpoint's backend, as the echo example: every session is accepted and every message sent back.
//! Its hooks show in the chat's webhook log too.

use super::chat::WEBHOOK_LOG;
use super::push::Push;
use super::webhook_log;
use serde_json::{Value, json};

/// The reply to an engine.io hook of kind `kind` (`open`, `message` or `close`).
pub async fn answer(kind: &str, hook: &Value, push: &Push) -> Value {
    let log = webhook_log::entry(kind, hook);
    push.emit(&[], None, WEBHOOK_LOG, json!([log])).await;
    match kind {
        "message" => json!({"send": [hook.get("data").cloned().unwrap_or(Value::Null)]}),
        _ => json!({}),
    }
}
