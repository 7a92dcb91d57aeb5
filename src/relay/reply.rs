//! Shared helpers for webhook bodies and replies.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::value::RawValue;

/// Parses a reply body; an empty body is the default reply.
pub fn parse_reply<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| format!("webhook answered invalid JSON: {e}"))
}

/// Serializes a webhook body.
pub fn to_json(body: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(body).unwrap_or_default()
}

/// Deserializes a present key as `Some(raw)`, `null` included (absent keys stay `None` through `#[serde(default)]`).
pub fn present<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(de).map(Some)
}

/// A raw JSON `null`.
pub fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).expect("a constant, valid JSON value")
}

/// A raw JSON `null`, borrowed: nothing allocated.
pub fn null_ref() -> &'static RawValue {
    const NULL: &str = "null";
    serde_json::from_str(NULL).unwrap_or_else(|_| unreachable!("a constant, valid JSON value"))
}
