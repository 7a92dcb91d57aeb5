//! What the application (the webhook relay) provides to the Socket.IO layer, and what it gets.

use super::ops::{Adapter, Ops};
use super::socket::Socket;
use super::version::SioVersion;
use crate::engineio::{CloseReason, Handshake, Wait};
use serde_json::value::RawValue;
use std::future::Future;
use std::sync::Arc;

/// Why a socket left its namespace, named as Socket.IO names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisconnectReason {
    /// The client disconnected the namespace.
    ClientNamespaceDisconnect,
    /// The server (backend) disconnected the socket.
    ServerNamespaceDisconnect,
    /// The Engine.IO session ended for this reason.
    Session(CloseReason),
}

impl DisconnectReason {
    /// The reason text used in webhooks.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientNamespaceDisconnect => "client namespace disconnect",
            Self::ServerNamespaceDisconnect => "server namespace disconnect",
            Self::Session(reason) => reason.as_str(),
        }
    }
}

/// A client asks to join a namespace.
pub struct ConnectRequest<'a> {
    /// The new socket's id (what the client will see as `socket.id`).
    pub sid: super::socket_id::SocketId,
    /// The namespace.
    pub namespace: &'a str,
    /// The CONNECT payload (auth) as raw JSON; `{}` when the client sent none.
    pub auth: &'a RawValue,
    /// The Engine.IO handshake of the connection.
    pub handshake: &'a Handshake,
    /// With connection state recovery on: whether this CONNECT recovers a socket (`None` when recovery is off).
    pub recovered: Option<bool>,
    /// The rooms of the socket recovered (empty for a new one).
    pub rooms: &'a [Arc<str>],
    /// The data of the socket recovered (`None` for a new one).
    pub data: Option<&'a RawValue>,
}

/// An event to send: raw JSON of the name and of each argument.
#[derive(Debug, Clone)]
pub struct Emit {
    /// The event name as JSON (usually a string).
    pub event: Box<RawValue>,
    /// The arguments as JSON values.
    pub args: Vec<Box<RawValue>>,
}

/// The application accepted a connection.
pub struct Accepted<S> {
    /// The application's state for the new socket.
    pub state: S,
    /// Data to store for the socket.
    pub data: Option<Box<RawValue>>,
    /// Rooms to join before anything is sent.
    pub join: Vec<String>,
    /// Events sent right after the CONNECT reply.
    pub emit: Vec<Emit>,
}

/// The application refused a connection: the client gets CONNECT_ERROR with this payload.
pub struct Rejected {
    /// The error message (`Not authorized` when the backend gave none).
    pub message: String,
    /// Extra data for the client.
    pub data: Option<Box<RawValue>>,
}

impl Rejected {
    /// The CONNECT_ERROR payload: `{"message","data"}` for v5 clients; for v4 clients (socket.io 1.x/2.x, and
    /// 0.9 clients through their translation) the data when there is some, else the message as a JSON string, as
    /// the 2.x server sends it.
    pub fn payload(&self, version: SioVersion) -> String {
        let message = serde_json::to_string(&self.message).unwrap_or_else(|_| "\"\"".to_string());
        match (&self.data, version.v4_packets()) {
            (Some(data), true) => data.get().to_string(),
            (None, true) => message,
            (Some(data), false) => format!("{{\"message\":{message},\"data\":{}}}", data.get()),
            (None, false) => format!("{{\"message\":{message}}}"),
        }
    }
}

/// An event the client emitted.
pub struct ClientEvent {
    /// The event name as JSON.
    pub event: Box<RawValue>,
    /// The arguments as a raw JSON array, binary attachments as `{"$binary":...}`.
    pub args: String,
    /// The ack id when the client waits for an answer.
    pub ack: Option<u64>,
}

/// The application side of a socket.io endpoint. Calls that may act on sockets get the endpoint's operations
/// handle, so the application keeps no reference to the server that owns it.
pub trait SocketApp: Sized + Send + Sync + 'static {
    /// Per-socket state.
    type SocketState: Default + Send + Sync + 'static;

    /// A client asks to join a namespace that the endpoint allows.
    fn connect(
        &self,
        request: ConnectRequest<'_>,
    ) -> impl Future<Output = Result<Accepted<Self::SocketState>, Rejected>> + Send;

    /// The client emitted an event. Return a [`Wait`] to stop reading from the client until it resolves.
    fn event<D: Adapter>(
        &self,
        ops: &Ops<Self, D>,
        socket: &Arc<Socket<Self::SocketState>>,
        event: ClientEvent,
    ) -> Option<Wait>;

    /// Whether the application is still working on this socket's input (see `engineio::Handler::busy`).
    fn busy(&self, _socket: &Arc<Socket<Self::SocketState>>) -> bool {
        false
    }

    /// The socket entered its namespace (after `connect` accepted it; not when its session ended meanwhile).
    fn connected(&self, _socket: &Arc<Socket<Self::SocketState>>) {}

    /// The socket's stored data changed (a webhook reply or an API call set it).
    fn data_changed(&self, _socket: &Arc<Socket<Self::SocketState>>) {}

    /// The parked socket left this node for another node of the cluster, where its client came back: it is
    /// not gone (no `disconnect`), the other node holds it from now on.
    fn moved(&self, _socket: &Arc<Socket<Self::SocketState>>) {}

    /// The socket left its namespace; called exactly once per connected socket.
    fn disconnect<D: Adapter>(
        &self,
        ops: &Ops<Self, D>,
        socket: &Arc<Socket<Self::SocketState>>,
        reason: DisconnectReason,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_payloads_per_protocol() {
        let data = RawValue::from_string(r#"{"code":7}"#.to_string()).unwrap();
        let with_data = Rejected {
            message: "Not \"you\"".into(),
            data: Some(data),
        };
        assert_eq!(
            with_data.payload(SioVersion::V5),
            r#"{"message":"Not \"you\"","data":{"code":7}}"#
        );
        assert_eq!(with_data.payload(SioVersion::V4), r#"{"code":7}"#);
        let plain = Rejected {
            message: "Not authorized".into(),
            data: None,
        };
        assert_eq!(
            plain.payload(SioVersion::V5),
            r#"{"message":"Not authorized"}"#
        );
        assert_eq!(plain.payload(SioVersion::V09), r#""Not authorized""#);
    }
}
