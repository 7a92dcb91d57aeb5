//! `GET /v1/sockets` and `GET /v1/rooms`.

use super::error::ApiError;
use super::lookup::{namespace, socketio};
use super::request::param;
use crate::engineio::Handshake;
use crate::server::App;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

#[derive(Serialize)]
struct SocketInfo<'a> {
    sid: String,
    namespace: &'a str,
    rooms: Vec<Arc<str>>,
    data: Option<Box<RawValue>>,
    handshake: &'a Handshake,
}

/// Lists sockets of a namespace, optionally of one room.
pub fn sockets(app: &App, query: &[(String, String)]) -> Result<String, ApiError> {
    let server = socketio(app, param(query, "endpoint"))?;
    let name = param(query, "namespace").unwrap_or("/");
    let Some(namespace) = namespace(server, Some(name))? else {
        return Ok(r#"{"sockets":[]}"#.to_string());
    };
    let room = param(query, "room");
    let mut sockets: Vec<_> = namespace
        .sockets()
        .into_iter()
        .filter(|socket| room.is_none_or(|room| socket.rooms().iter().any(|r| &**r == room)))
        .collect();
    sockets.sort_by_key(|socket| socket.id().as_str().to_string());
    let infos: Vec<SocketInfo<'_>> = sockets
        .iter()
        .map(|socket| SocketInfo {
            sid: socket.id().as_str().to_string(),
            namespace: name,
            rooms: socket.rooms(),
            data: socket.data(),
            handshake: socket.handshake(),
        })
        .collect();
    // Serialized directly, so stored data keeps its bytes.
    Ok(serde_json::to_string(&SocketList { sockets: infos }).unwrap_or_default())
}

#[derive(Serialize)]
struct SocketList<'a> {
    sockets: Vec<SocketInfo<'a>>,
}

/// Lists the rooms of a namespace with their socket counts.
pub fn rooms(app: &App, query: &[(String, String)]) -> Result<String, ApiError> {
    let server = socketio(app, param(query, "endpoint"))?;
    let rooms = match namespace(server, param(query, "namespace"))? {
        Some(namespace) => namespace.rooms(),
        None => Vec::new(),
    };
    let rooms: Vec<_> = rooms
        .into_iter()
        .map(|(name, count)| serde_json::json!({ "name": name, "sockets": count }))
        .collect();
    Ok(serde_json::json!({ "rooms": rooms }).to_string())
}
