//! `POST /v1/emit`: an event to sockets, optionally collecting every socket's ack.

use super::coverage::{CoverageFields, SocketCount};
use super::error::ApiError;
use super::lookup::{op_error, selection, socketio, targeted_request};
use crate::server::FrontDoor;
use crate::socketio::Emit;
use crate::socketio::ops::{AckOutcome, AckReply, Operation};
use serde::Serialize;
use serde_json::value::RawValue;
use std::time::Duration;

/// The longest `ack_timeout` an API call may ask for (the call stays open that long).
const MAX_ACK_TIMEOUT: Duration = Duration::from_secs(120);

targeted_request! {
    /// The body of `POST /v1/emit`.
    EmitRequest {
        event: Box<RawValue>,
        #[serde(default)]
        args: Vec<Box<RawValue>>,
        ack_timeout: Option<String>,
    }
}

/// Sends the event; answers `{"sockets":N}`, or `{"acks":[...]}` with `ack_timeout`.
pub async fn emit(app: &FrontDoor, request: EmitRequest) -> Result<String, ApiError> {
    let first = request.event.get().as_bytes().first().copied();
    if !matches!(first, Some(b'"' | b'-' | b'0'..=b'9')) {
        return Err(ApiError::invalid(
            "field `event`: must be a string or a number",
        ));
    }
    let ack_timeout = request
        .ack_timeout
        .as_deref()
        .map(|text| {
            crate::config::parse_duration(text)
                .map_err(|e| ApiError::invalid(format!("field `ack_timeout`: {e}")))
                .and_then(|limit| {
                    if limit > MAX_ACK_TIMEOUT {
                        Err(ApiError::invalid(format!(
                            "field `ack_timeout`: at most {}s",
                            MAX_ACK_TIMEOUT.as_secs()
                        )))
                    } else {
                        Ok(limit)
                    }
                })
        })
        .transpose()?;
    let ops = socketio(app, request.endpoint.as_deref())?.ops();
    let selected = selection(
        request.namespace.as_deref(),
        request.to.as_ref(),
        request.except.as_ref(),
    );
    let refused = |error| op_error(selected.namespace, error);
    let emit = Emit {
        event: request.event,
        args: request.args,
    };
    match ack_timeout {
        None => {
            let reached = ops
                .covered(&selected, Operation::Emit(emit))
                .await
                .map_err(refused)?;
            Ok(SocketCount::json(reached.value, reached.coverage))
        }
        Some(limit) => {
            let replies = ops
                .emit_with_ack(&selected, &emit, limit)
                .await
                .map_err(refused)?;
            let acks = replies.value.into_iter().map(AckEntry::from).collect();
            let list = AckList {
                acks,
                coverage: replies.coverage.into(),
            };
            // Serialized directly, so each ack's arguments keep their bytes.
            Ok(serde_json::to_string(&list).unwrap_or_default())
        }
    }
}

/// One socket's answer to an emit with ack.
#[derive(Serialize)]
struct AckEntry {
    sid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    args: Option<Box<RawValue>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'static str>,
}

impl From<AckReply> for AckEntry {
    fn from(reply: AckReply) -> Self {
        let (args, error) = match reply.outcome {
            AckOutcome::Answered(args) => (RawValue::from_string(args).ok(), None),
            AckOutcome::Disconnected => (None, Some("disconnected")),
            AckOutcome::TimedOut => (None, Some("timeout")),
        };
        Self {
            sid: reply.sid.as_str().to_string(),
            args,
            error,
        }
    }
}

#[derive(Serialize)]
struct AckList {
    acks: Vec<AckEntry>,
    #[serde(flatten)]
    coverage: CoverageFields,
}
