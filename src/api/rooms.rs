//! `POST /v1/join`, `POST /v1/leave`, `POST /v1/disconnect`, `PUT /v1/data`.

use super::error::ApiError;
use super::lookup::{Target, namespace, object_target, reaches_nobody, selector, socketio};
use crate::relay::SocketHookState;
use crate::server::App;
use crate::socketio::Socket;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use std::sync::Arc;

/// The body of `POST /v1/join` and `POST /v1/leave`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoomsRequest {
    endpoint: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "object_target")]
    to: Option<Target>,
    #[serde(default, deserialize_with = "object_target")]
    except: Option<Target>,
    rooms: Vec<String>,
}

/// The body of `POST /v1/disconnect`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisconnectRequest {
    endpoint: Option<String>,
    namespace: Option<String>,
    #[serde(default, deserialize_with = "object_target")]
    to: Option<Target>,
    #[serde(default, deserialize_with = "object_target")]
    except: Option<Target>,
    #[serde(default)]
    close: bool,
}

/// The body of `PUT /v1/data`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataRequest {
    endpoint: Option<String>,
    namespace: Option<String>,
    sid: String,
    data: Box<RawValue>,
}

type RelaySocket = Arc<Socket<SocketHookState>>;

fn targets(
    app: &App,
    endpoint: Option<&str>,
    ns: Option<&str>,
    to: Option<&Target>,
    except: Option<&Target>,
) -> Result<Vec<RelaySocket>, ApiError> {
    let server = socketio(app, endpoint)?;
    Ok(match namespace(server, ns)? {
        Some(namespace) if !reaches_nobody(to) => namespace.select(&selector(to, except)),
        _ => Vec::new(),
    })
}

fn check_rooms(rooms: &[String]) -> Result<(), ApiError> {
    if rooms.is_empty() {
        return Err(ApiError::invalid("field `rooms`: list at least one room"));
    }
    Ok(())
}

/// Puts the selected sockets in `rooms`; answers `{"sockets":N}`.
pub fn join(app: &App, request: RoomsRequest) -> Result<String, ApiError> {
    change_rooms(app, request, |socket, rooms| {
        socket.join(rooms.iter().map(String::as_str))
    })
}

/// Takes the selected sockets out of `rooms`; answers `{"sockets":N}`.
pub fn leave(app: &App, request: RoomsRequest) -> Result<String, ApiError> {
    change_rooms(app, request, |socket, rooms| {
        socket.leave(rooms.iter().map(String::as_str))
    })
}

/// Applies `change` with the request's rooms to every selected socket; answers `{"sockets":N}`.
fn change_rooms(
    app: &App,
    request: RoomsRequest,
    change: impl Fn(&RelaySocket, &[String]),
) -> Result<String, ApiError> {
    check_rooms(&request.rooms)?;
    let sockets = targets(
        app,
        request.endpoint.as_deref(),
        request.namespace.as_deref(),
        request.to.as_ref(),
        request.except.as_ref(),
    )?;
    for socket in &sockets {
        change(socket, &request.rooms);
    }
    Ok(json!({ "sockets": sockets.len() }).to_string())
}

/// Disconnects the selected sockets (and with `close`, their whole connections); answers `{"sockets":N}`.
pub fn disconnect(app: &App, request: DisconnectRequest) -> Result<String, ApiError> {
    let server = socketio(app, request.endpoint.as_deref())?;
    let sockets = targets(
        app,
        request.endpoint.as_deref(),
        request.namespace.as_deref(),
        request.to.as_ref(),
        request.except.as_ref(),
    )?;
    for socket in &sockets {
        server.disconnect(socket, request.close);
    }
    Ok(json!({ "sockets": sockets.len() }).to_string())
}

/// Replaces a socket's stored data; answers `{}`.
pub fn put_data(app: &App, request: DataRequest) -> Result<String, ApiError> {
    let server = socketio(app, request.endpoint.as_deref())?;
    let namespace = namespace(server, request.namespace.as_deref())?;
    let socket = namespace
        .and_then(|namespace| namespace.get(&request.sid))
        .ok_or_else(|| {
            ApiError::not_found(format!("no socket {:?} in this namespace", request.sid))
        })?;
    socket.set_data((request.data.get() != "null").then_some(request.data));
    Ok("{}".to_string())
}
