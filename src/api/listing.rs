//! `GET /v1/sockets` and `GET /v1/rooms`.

use super::coverage::CoverageFields;
use super::error::ApiError;
use super::lookup::{op_error, socketio};
use crate::engineio::Query;
use crate::server::FrontDoor;
use crate::socketio::ops::SocketHandshake;
use serde::Serialize;
use serde_json::value::RawValue;
use std::sync::Arc;

#[derive(Serialize)]
struct SocketInfo<'a> {
    sid: &'a str,
    namespace: &'a str,
    rooms: &'a [Arc<str>],
    data: &'a Option<Box<RawValue>>,
    handshake: &'a SocketHandshake,
}

/// Lists sockets of a namespace, optionally of one room.
pub async fn sockets(app: &FrontDoor, query: &Query) -> Result<String, ApiError> {
    let ops = socketio(app, query.get("endpoint"))?.ops();
    let name = query.get("namespace").unwrap_or("/");
    let sockets = ops
        .sockets(name, query.get("room"))
        .await
        .map_err(|error| op_error(name, error))?;
    let infos: Vec<SocketInfo<'_>> = sockets
        .value
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
    let list = SocketList {
        sockets: infos,
        coverage: sockets.coverage.into(),
    };
    Ok(serde_json::to_string(&list).unwrap_or_default())
}

#[derive(Serialize)]
struct SocketList<'a> {
    sockets: Vec<SocketInfo<'a>>,
    #[serde(flatten)]
    coverage: CoverageFields,
}

/// Lists the rooms of a namespace with their socket counts.
pub async fn rooms(app: &FrontDoor, query: &Query) -> Result<String, ApiError> {
    let ops = socketio(app, query.get("endpoint"))?.ops();
    let name = query.get("namespace").unwrap_or("/");
    let rooms = ops
        .rooms(name)
        .await
        .map_err(|error| op_error(name, error))?;
    let list = RoomList {
        rooms: rooms
            .value
            .into_iter()
            .map(|room| RoomInfo {
                name: room.name,
                sockets: room.sockets,
            })
            .collect(),
        coverage: rooms.coverage.into(),
    };
    Ok(serde_json::to_string(&list).unwrap_or_default())
}

#[derive(Serialize)]
struct RoomInfo {
    name: String,
    sockets: usize,
}

#[derive(Serialize)]
struct RoomList {
    rooms: Vec<RoomInfo>,
    #[serde(flatten)]
    coverage: CoverageFields,
}
