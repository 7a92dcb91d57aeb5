//! `POST /v1/join`, `POST /v1/leave`, `POST /v1/disconnect`, `PUT /v1/data`.

use super::coverage::SocketCount;
use super::error::ApiError;
use super::lookup::{op_error, selection, socketio, targeted_request};
use crate::cluster::cross_node::EndpointAdapter;
use crate::relay::SocketRelay;
use crate::server::FrontDoor;
use crate::socketio::SocketId;
use crate::socketio::ops::{Operation, Ops, Reach, Selection, Selector};
use serde::Deserialize;
use serde_json::value::RawValue;

targeted_request! {
    /// The body of `POST /v1/join` and `POST /v1/leave`.
    RoomsRequest {
        rooms: Vec<String>,
    }
}

targeted_request! {
    /// The body of `POST /v1/disconnect`.
    DisconnectRequest {
        #[serde(default)]
        close: bool,
    }
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

/// Applies `operation` to the sockets `to` and `except` select; answers `{"sockets":N}`.
async fn apply(
    ops: &Ops<SocketRelay, EndpointAdapter>,
    selected: Selection<'_>,
    operation: Operation,
) -> Result<String, ApiError> {
    let count = ops
        .covered(&selected, operation)
        .await
        .map_err(|error| op_error(selected.namespace, error))?;
    Ok(SocketCount::json(count.value, count.coverage))
}

/// Puts the selected sockets in `rooms`; answers `{"sockets":N}`.
pub async fn join(app: &FrontDoor, request: RoomsRequest) -> Result<String, ApiError> {
    change_rooms(app, request, Operation::Join).await
}

/// Takes the selected sockets out of `rooms`; answers `{"sockets":N}`.
pub async fn leave(app: &FrontDoor, request: RoomsRequest) -> Result<String, ApiError> {
    change_rooms(app, request, Operation::Leave).await
}

/// Applies the room change `operation` makes of the request's rooms; answers `{"sockets":N}`.
async fn change_rooms(
    app: &FrontDoor,
    request: RoomsRequest,
    operation: fn(Vec<String>) -> Operation,
) -> Result<String, ApiError> {
    if request.rooms.is_empty() {
        return Err(ApiError::invalid("field `rooms`: list at least one room"));
    }
    let ops = socketio(app, request.endpoint.as_deref())?.ops();
    let selected = selection(
        request.namespace.as_deref(),
        request.to.as_ref(),
        request.except.as_ref(),
    );
    apply(&ops, selected, operation(request.rooms)).await
}

/// Disconnects the selected sockets (and with `close`, their whole connections); answers `{"sockets":N}`.
pub async fn disconnect(app: &FrontDoor, request: DisconnectRequest) -> Result<String, ApiError> {
    let ops = socketio(app, request.endpoint.as_deref())?.ops();
    let selected = selection(
        request.namespace.as_deref(),
        request.to.as_ref(),
        request.except.as_ref(),
    );
    let operation = Operation::Disconnect {
        close_session: request.close,
    };
    apply(&ops, selected, operation).await
}

/// Replaces a socket's stored data; answers `{}`.
pub async fn put_data(app: &FrontDoor, request: DataRequest) -> Result<String, ApiError> {
    let ops = socketio(app, request.endpoint.as_deref())?.ops();
    let selected = Selection {
        namespace: request.namespace.as_deref().unwrap_or("/"),
        selector: Selector {
            to: Reach::Socket(SocketId::from_text(&request.sid)),
            ..Selector::default()
        },
    };
    let data = (request.data.get() != "null").then_some(request.data);
    let count = ops
        .apply(&selected, Operation::SetData(data))
        .await
        .map_err(|error| op_error(selected.namespace, error))?;
    if count == 0 {
        return Err(ApiError::not_found(format!(
            "no socket {:?} in this namespace",
            request.sid
        )));
    }
    Ok("{}".to_string())
}
