//! Finding the endpoint, namespace and sockets an API call names.

use super::error::ApiError;
use crate::engineio::Engine;
use crate::relay::{EngineRelay, SocketRelay};
use crate::server::{App, EndpointHandle};
use crate::socketio::{Namespace, Selector, SocketId, SocketIo};
use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserializer, MapAccess, Visitor};
use std::fmt;
use std::sync::Arc;

/// Sockets named by id and/or rooms: `{"sockets":[sid...],"rooms":[name...]}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Socket ids.
    #[serde(default)]
    pub sockets: Vec<String>,
    /// Room names.
    #[serde(default)]
    pub rooms: Vec<String>,
}

/// The selector for `to` (absent = every socket) and `except`.
pub fn selector(to: Option<&Target>, except: Option<&Target>) -> Selector {
    // An id nobody has matches nothing; it is still a target, so `to` does not widen to everyone.
    let ids = |target: Option<&Target>| -> Vec<SocketId> {
        target.map_or_else(Vec::new, |t| {
            t.sockets.iter().map(|s| SocketId::from_text(s)).collect()
        })
    };
    Selector {
        to_rooms: to.map_or_else(Vec::new, |t| t.rooms.clone()),
        to_sockets: ids(to),
        except_rooms: except.map_or_else(Vec::new, |t| t.rooms.clone()),
        except_sockets: ids(except),
    }
}

/// The endpoint `name`, or the only one when `name` is absent.
pub fn endpoint<'a>(app: &'a App, name: Option<&str>) -> Result<&'a EndpointHandle, ApiError> {
    let endpoints = app.endpoints();
    match name {
        Some(name) => {
            let wanted = crate::config::normalize_path(name);
            endpoints
                .iter()
                .find(|e| e.path == wanted)
                .map(|e| &e.handle)
                .ok_or_else(|| ApiError::not_found(format!("no endpoint {name:?}")))
        }
        None if endpoints.len() == 1 => Ok(&endpoints[0].handle),
        None => Err(ApiError::invalid(
            "field `endpoint` is required when several endpoints exist",
        )),
    }
}

/// The Socket.IO server of a socket.io endpoint.
pub fn socketio<'a>(
    app: &'a App,
    name: Option<&str>,
) -> Result<&'a Arc<SocketIo<SocketRelay>>, ApiError> {
    match endpoint(app, name)? {
        EndpointHandle::SocketIo { server, .. } => Ok(server),
        EndpointHandle::EngineIo { .. } => Err(ApiError::invalid(
            "this call is for socket.io endpoints; use /v1/send",
        )),
    }
}

/// The Engine.IO server of an engine.io endpoint.
pub fn engineio<'a>(
    app: &'a App,
    name: Option<&str>,
) -> Result<&'a Arc<Engine<EngineRelay>>, ApiError> {
    match endpoint(app, name)? {
        EndpointHandle::EngineIo { engine } => Ok(engine),
        EndpointHandle::SocketIo { .. } => Err(ApiError::invalid(
            "/v1/send is for engine.io endpoints; use /v1/emit",
        )),
    }
}

/// The namespace `name` (default `/`): 404 when the endpoint does not allow it; `None` when nobody connected yet.
pub fn namespace(
    server: &SocketIo<SocketRelay>,
    name: Option<&str>,
) -> Result<Option<Arc<Namespace<crate::relay::SocketHookState>>>, ApiError> {
    let name = name.unwrap_or("/");
    if !server.allows(name) {
        return Err(ApiError::not_found(format!(
            "namespace {name:?} is not served by this endpoint"
        )));
    }
    Ok(server.namespace(name))
}

/// Whether `to` is present but lists nothing: it then reaches no socket (only an absent `to` means everyone).
pub fn reaches_nobody(to: Option<&Target>) -> bool {
    to.is_some_and(|t| t.sockets.is_empty() && t.rooms.is_empty())
}

/// Reads an optional [`Target`] that must be written as an object (a derived struct would also take an array).
pub fn object_target<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Target>, D::Error> {
    Option::<ObjectTarget>::deserialize(de).map(|target| target.map(|t| t.0))
}

/// A [`Target`] read from an object only.
struct ObjectTarget(Target);

impl<'de> Deserialize<'de> for ObjectTarget {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        de.deserialize_map(TargetVisitor)
    }
}

/// Visits the object of a [`Target`] and reads it with the derived, field-checking implementation.
struct TargetVisitor;

impl<'de> Visitor<'de> for TargetVisitor {
    type Value = ObjectTarget;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(r#"an object {"sockets":[...],"rooms":[...]}"#)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<ObjectTarget, A::Error> {
        Target::deserialize(MapAccessDeserializer::new(map)).map(ObjectTarget)
    }
}
