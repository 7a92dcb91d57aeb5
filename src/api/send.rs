//! `POST /v1/send`: messages to engine.io sessions.

use super::error::ApiError;
use super::lookup::engineio;
use crate::engineio::{Message, Packet, Sid, Text};
use crate::relay::binary::BinaryJson;
use crate::server::FrontDoor;
use serde::Deserialize;
use serde_json::json;
use std::collections::HashSet;

/// A message: a string or `{"$binary": ...}`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OutMessage {
    Text(String),
    Binary(BinaryJson),
}

/// The body of `POST /v1/send`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    endpoint: Option<String>,
    sids: Vec<String>,
    data: Vec<serde_json::Value>,
}

/// Sends every message of `data` to each session of `sids`; answers `{"sessions":N}`.
pub fn send(app: &FrontDoor, request: SendRequest) -> Result<String, ApiError> {
    let engine = engineio(app, request.endpoint.as_deref())?;
    let mut packets = Vec::with_capacity(request.data.len());
    for (index, item) in request.data.into_iter().enumerate() {
        let message = match serde_json::from_value::<OutMessage>(item) {
            Ok(OutMessage::Text(text)) => Message::Text(Text::from(text)),
            Ok(OutMessage::Binary(binary)) => Message::Binary(
                binary
                    .decode()
                    .map_err(|e| ApiError::invalid(format!("field `data[{index}]`: {e}")))?,
            ),
            Err(_) => {
                return Err(ApiError::invalid(format!(
                    "field `data[{index}]`: must be a string or {{\"$binary\":\"<base64>\"}}"
                )));
            }
        };
        packets.push(Packet::message(&message));
    }
    let mut seen = HashSet::new();
    let reached = request
        .sids
        .iter()
        .filter_map(|sid| Sid::parse(sid))
        // A session listed twice gets the messages once.
        .filter(|sid| seen.insert(*sid))
        .filter_map(|sid| engine.session(sid))
        .filter(|session| session.send_all(packets.iter().cloned()))
        .count();
    Ok(json!({ "sessions": reached }).to_string())
}
