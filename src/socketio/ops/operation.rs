//! What can be done to selected sockets, and what comes back. Plain data (raw JSON, ids, counts), so an adapter
//! spanning several nodes can send an operation and merge the answers.

use crate::engineio::Handshake;
use crate::socketio::app::Emit;
use crate::socketio::socket_id::SocketId;
use serde_json::value::RawValue;
use std::fmt;
use std::sync::Arc;

/// An operation applied to every selected socket; the answer is how many sockets were selected or reached.
#[derive(Debug, Clone)]
pub enum Operation {
    /// Send an event (encoded once, binary attachments from `{"$binary":...}`); counts the sockets reached.
    Emit(Emit),
    /// Join these rooms; counts the sockets selected.
    Join(Vec<String>),
    /// Leave these rooms; counts the sockets selected.
    Leave(Vec<String>),
    /// Disconnect the sockets (the client gets DISCONNECT, the application a `server namespace disconnect`); with
    /// `close_session` their whole Engine.IO sessions close too. Counts the sockets selected.
    Disconnect {
        /// Whether the sessions end too.
        close_session: bool,
    },
    /// Replace the stored data (`None` clears it); counts the sockets selected.
    SetData(Option<Box<RawValue>>),
}

/// Why an operation was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpError {
    /// The endpoint does not allow the namespace (no client may connect to it).
    NamespaceNotServed,
    /// The event cannot be sent (an invalid name or `$binary`); the text says why.
    Encode(String),
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NamespaceNotServed => f.write_str("namespace not served by this endpoint"),
            Self::Encode(why) => f.write_str(why),
        }
    }
}

/// One selected socket's answer to an emit with ack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AckReply {
    /// The socket.
    pub sid: SocketId,
    /// What it answered.
    pub outcome: AckOutcome,
}

/// How an emit with ack ended for one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AckOutcome {
    /// The client acked with these arguments (a raw JSON array, binary attachments as `{"$binary":...}`).
    Answered(String),
    /// The socket disconnected first.
    Disconnected,
    /// No ack within the time limit.
    TimedOut,
}

/// One socket as a listing shows it.
#[derive(Debug, Clone)]
pub struct SocketSummary {
    /// The socket id.
    pub sid: SocketId,
    /// Its rooms (its own id included while it is in that room), in join order.
    pub rooms: Vec<Arc<str>>,
    /// Its stored data.
    pub data: Option<Box<RawValue>>,
    /// The handshake of its connection.
    pub handshake: SocketHandshake,
}

/// The handshake of a listed socket: this node's own, or another node's as that node serialized it.
#[derive(Debug, Clone)]
pub enum SocketHandshake {
    /// A socket of this node.
    Local(Arc<Handshake>),
    /// A socket of another node: its handshake's JSON.
    Remote(Box<RawValue>),
}

impl serde::Serialize for SocketHandshake {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Local(handshake) => handshake.serialize(serializer),
            Self::Remote(raw) => raw.serialize(serializer),
        }
    }
}

/// How many nodes a cluster-wide answer covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coverage {
    /// The nodes that answered, this one included.
    pub nodes: usize,
    /// Whether a live node did not answer in time (the answer lacks its sockets).
    pub partial: bool,
}

/// An answer and the nodes it covers: `None` on a single node, where answers stay as they were.
#[derive(Debug, Clone)]
pub struct Covered<T> {
    /// The answer.
    pub value: T,
    /// The nodes it covers, in a cluster.
    pub coverage: Option<Coverage>,
}

impl<T> Covered<T> {
    /// An answer of this node alone, outside a cluster.
    pub fn single(value: T) -> Self {
        Self {
            value,
            coverage: None,
        }
    }
}

/// A room and how many sockets are in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomCount {
    /// The room name.
    pub name: String,
    /// Its member count.
    pub sockets: usize,
}
