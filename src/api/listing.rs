//! `GET /v1/sockets` and `GET /v1/rooms`.

use super::error::ApiError;
use super::lookup::{op_error, socketio};
use super::request::param;
use crate::engineio::Handshake;
use crate::server::FrontDoor;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

#[derive(Serialize)]
struct SocketInfo<'a> {
    sid: &'a str,
    namespace: &'a str,
    rooms: &'a [Arc<str>],
    data: &'a Option<Box<RawValue>>,
    handshake: &'a Handshake,
}

/// Lists sockets of a namespace, optionally of one room.
pub async fn sockets(app: &FrontDoor, query: &[(String, String)]) -> Result<String, ApiError> {
    let ops = socketio(app, param(query, "endpoint"))?.ops();
    let name = param(query, "namespace").unwrap_or("/");
    let sockets = ops
        .sockets(name, param(query, "room"))
        .await
        .map_err(|error| op_error(name, error))?;
    let infos: Vec<SocketInfo<'_>> = sockets
        .iter()
        .map(|socket| SocketInfo {
            sid: socket.sid.as_str(),
            namespace: name,
            rooms: &socket.rooms,
            data: &socket.data,
            handshake: &socket.handshake,
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
pub async fn rooms(app: &FrontDoor, query: &[(String, String)]) -> Result<String, ApiError> {
    let ops = socketio(app, param(query, "endpoint"))?.ops();
    let name = param(query, "namespace").unwrap_or("/");
    let rooms = ops
        .rooms(name)
        .await
        .map_err(|error| op_error(name, error))?;
    let rooms: Vec<_> = rooms
        .into_iter()
        .map(|room| serde_json::json!({ "name": room.name, "sockets": room.sockets }))
        .collect();
    Ok(serde_json::json!({ "rooms": rooms }).to_string())
}
