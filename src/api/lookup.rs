//! Finding the endpoint an API call names, and turning its `namespace`, `to` and `except` into a selection.

use super::error::ApiError;
use crate::cluster::cross_node::EndpointAdapter;
use crate::engineio::Engine;
use crate::relay::{EngineRelay, SocketRelay};
use crate::server::{EndpointHandle, FrontDoor};
use crate::socketio::ops::{OpError, Reach, Selection, Selector};
use crate::socketio::{SocketId, SocketIo};
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

/// Declares the body of an API call that selects sockets: `endpoint`, `namespace`, `to` and `except`, then the
/// call's own fields, in that order (unknown keys are refused, and the message lists the fields in it).
macro_rules! targeted_request {
    ($(#[$meta:meta])* $name:ident { $($(#[$field_meta:meta])* $field:ident: $ty:ty,)* }) => {
        $(#[$meta])*
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            endpoint: Option<String>,
            namespace: Option<String>,
            #[serde(default, deserialize_with = "crate::api::lookup::object_target")]
            to: Option<crate::api::lookup::Target>,
            #[serde(default, deserialize_with = "crate::api::lookup::object_target")]
            except: Option<crate::api::lookup::Target>,
            $($(#[$field_meta])* $field: $ty,)*
        }

    };
}
pub(crate) use targeted_request;

/// The sockets of namespace `name` (default `/`) that `to` (absent = every socket; present but empty = nobody)
/// and `except` name.
pub fn selection<'a>(
    name: Option<&'a str>,
    to: Option<&Target>,
    except: Option<&Target>,
) -> Selection<'a> {
    // An id nobody has matches nothing; it is still a target, so `to` does not widen to everyone.
    let ids = |target: Option<&Target>| -> Vec<SocketId> {
        target.map_or_else(Vec::new, |t| {
            t.sockets.iter().map(|s| SocketId::from_text(s)).collect()
        })
    };
    let reach = match to {
        None => Reach::Everyone,
        Some(target) => Reach::Listed {
            rooms: target.rooms.clone(),
            sockets: ids(Some(target)),
        },
    };
    Selection {
        namespace: name.unwrap_or("/"),
        selector: Selector {
            to: reach,
            except_rooms: except.map_or_else(Vec::new, |t| t.rooms.clone()),
            except_sockets: ids(except),
        },
    }
}

/// The API error for an operation refused by the Socket.IO layer: 404 for a namespace the endpoint does not
/// serve, 400 for an event it cannot send.
pub fn op_error(namespace: &str, error: OpError) -> ApiError {
    match error {
        OpError::NamespaceNotServed => ApiError::not_found(format!(
            "namespace {namespace:?} is not served by this endpoint"
        )),
        OpError::Encode(why) => ApiError::invalid(why),
    }
}

/// The endpoint `name`, or the only one when `name` is absent.
pub fn endpoint<'a>(
    app: &'a FrontDoor,
    name: Option<&str>,
) -> Result<&'a EndpointHandle, ApiError> {
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
type SioServer = Arc<SocketIo<SocketRelay, EndpointAdapter>>;

/// The Engine.IO server of an engine.io endpoint.
type EioServer = Arc<Engine<EngineRelay>>;

/// The protocol side of endpoint `name`: its Socket.IO server, or its Engine.IO server.
fn side<'a>(
    app: &'a FrontDoor,
    name: Option<&str>,
) -> Result<(Option<&'a SioServer>, Option<&'a EioServer>), ApiError> {
    Ok(match endpoint(app, name)? {
        EndpointHandle::SocketIo { server, .. } => (Some(server), None),
        EndpointHandle::EngineIo { engine } => (None, Some(engine)),
    })
}

/// The Socket.IO server of a socket.io endpoint; 400 for an engine.io one.
pub fn socketio<'a>(app: &'a FrontDoor, name: Option<&str>) -> Result<&'a SioServer, ApiError> {
    let wrong = "this call is for socket.io endpoints; use /v1/send";
    side(app, name)?.0.ok_or_else(|| ApiError::invalid(wrong))
}

/// The Engine.IO server of an engine.io endpoint; 400 for a socket.io one.
pub fn engineio<'a>(app: &'a FrontDoor, name: Option<&str>) -> Result<&'a EioServer, ApiError> {
    let wrong = "/v1/send is for engine.io endpoints; use /v1/emit";
    side(app, name)?.1.ok_or_else(|| ApiError::invalid(wrong))
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
