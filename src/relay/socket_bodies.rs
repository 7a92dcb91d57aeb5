//! The JSON bodies of socket.io webhooks: `connect`, `event`, `disconnect`.

use crate::engineio::Handshake;
use crate::socketio::SocketId;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

/// Fields every socket.io webhook carries.
#[derive(Serialize)]
pub struct Common<'a> {
    /// `connect`, `event` or `disconnect`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The endpoint path.
    pub endpoint: &'a str,
    /// The namespace.
    pub namespace: &'a str,
    /// The socket id.
    pub sid: SocketId,
    /// What the backend last stored for the socket, or `null`.
    pub data: &'a RawValue,
    /// The socket's rooms.
    pub rooms: &'a [Arc<str>],
}

/// The `connect` webhook.
#[derive(Serialize)]
pub struct ConnectBody<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// The CONNECT payload.
    pub auth: &'a RawValue,
    /// The handshake of the connection.
    pub handshake: &'a Handshake,
    /// With connection state recovery on: whether the socket is a recovered one (absent when recovery is off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recovered: Option<bool>,
}

/// The `event` webhook.
#[derive(Serialize)]
pub struct EventBody<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// The event name.
    pub event: &'a RawValue,
    /// The arguments, binary as `{"$binary":...}`.
    pub args: &'a RawValue,
    /// Whether the client waits for an ack.
    pub ack: bool,
}

/// The `disconnect` webhook.
#[derive(Serialize)]
pub struct DisconnectBody<'a> {
    /// Common fields.
    #[serde(flatten)]
    pub common: Common<'a>,
    /// The Socket.IO disconnect reason.
    pub reason: &'static str,
}
