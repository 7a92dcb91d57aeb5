//! `POST /v1/emit`: an event to sockets, optionally collecting every socket's ack.

use super::error::ApiError;
use super::lookup::{Target, namespace, object_target, reaches_nobody, selector, socketio};
use crate::relay::SocketHookState;
use crate::server::App;
use crate::socketio::{Emit, Socket};
use serde::{Deserialize, Serialize};
use serde_json::json;
use serde_json::value::RawValue;
use std::sync::Arc;
use std::time::Duration;

/// The longest `ack_timeout` an API call may ask for (the call stays open that long).
const MAX_ACK_TIMEOUT: Duration = Duration::from_secs(120);

/// The body of `POST /v1/emit`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitRequest {
    endpoint: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "object_target")]
    to: Option<Target>,
    #[serde(default, deserialize_with = "object_target")]
    except: Option<Target>,
    event: Box<RawValue>,
    #[serde(default)]
    args: Vec<Box<RawValue>>,
    ack_timeout: Option<String>,
}

/// Sends the event; answers `{"sockets":N}`, or `{"acks":[...]}` with `ack_timeout`.
pub async fn emit(app: &App, request: EmitRequest) -> Result<String, ApiError> {
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
    let server = socketio(app, request.endpoint.as_deref())?;
    let name = request.namespace.as_deref().unwrap_or("/");
    let targets = match namespace(server, Some(name))? {
        Some(ns) if !reaches_nobody(request.to.as_ref()) => {
            ns.select(&selector(request.to.as_ref(), request.except.as_ref()))
        }
        _ => Vec::new(),
    };
    let emit = Emit {
        event: request.event,
        args: request.args,
    };
    match ack_timeout {
        None => {
            let reached = server
                .emit_to(name, &targets, &emit)
                .map_err(ApiError::invalid)?;
            Ok(json!({ "sockets": reached }).to_string())
        }
        Some(limit) => {
            // Encoded once up front, so a bad emit is refused even when it targets nobody.
            server
                .emit_to(name, &[], &emit)
                .map_err(ApiError::invalid)?;
            collect_acks(&targets, &emit, limit).await
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

async fn collect_acks(
    targets: &[Arc<Socket<SocketHookState>>],
    emit: &Emit,
    limit: Duration,
) -> Result<String, ApiError> {
    let mut waits = Vec::with_capacity(targets.len());
    for socket in targets {
        if let Some((id, receiver)) = socket.emit_with_ack(emit).map_err(ApiError::invalid)? {
            waits.push(async move {
                let sid = socket.id().as_str().to_string();
                match tokio::time::timeout(limit, receiver).await {
                    Ok(Ok(args)) => AckEntry {
                        sid,
                        args: RawValue::from_string(args).ok(),
                        error: None,
                    },
                    Ok(Err(_)) => AckEntry {
                        sid,
                        args: None,
                        error: Some("disconnected"),
                    },
                    Err(_) => {
                        socket.forget_ack(id);
                        AckEntry {
                            sid,
                            args: None,
                            error: Some("timeout"),
                        }
                    }
                }
            });
        }
    }
    let acks = futures_util::future::join_all(waits).await;
    // Serialized directly, so each ack's arguments keep their bytes.
    Ok(serde_json::to_string(&AckList { acks }).unwrap_or_default())
}

#[derive(Serialize)]
struct AckList {
    acks: Vec<AckEntry>,
}
