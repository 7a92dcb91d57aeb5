//! Socket.IO 0.9 clients (protocol revision 1) on the same sessions as every other client: the handshake at
//! `/{resource}/1/`, the `xhr-polling`, `jsonp-polling` and `websocket` transports at
//! `/{resource}/1/{transport}/{sid}`, and `\u{fffd}`-framed payloads. What the messages mean (events, acks,
//! endpoints as namespaces, heartbeats) is translated by the layer above through [`Sio09Codec`], so sessions,
//! heartbeats, rooms and webhooks are the ones newer clients use.

pub(crate) mod frame;
mod path;
mod serve;

pub use frame::{decode_payload, encode_payload};
pub use path::{Sio09Route, Sio09Transport};

use crate::engineio::codec::packet::{DecodeError, Incoming, Packet};

/// The protocol number handshakes of Socket.IO 0.9 sessions carry (`EngineVersion::Sio09`): the 0.9 protocol
/// revision.
pub const SIO09_PROTOCOL: u8 = 1;

/// What one 0.9 message from a client stands for.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The packets to act on, in order.
    pub packets: Vec<Incoming>,
    /// A packet to queue for the client at once (an automatic acknowledgement).
    pub reply: Option<Packet>,
}

/// Translates between a session's packets and Socket.IO 0.9 messages; provided by the layer above.
pub trait Sio09Codec: Send + Sync {
    /// The 0.9 messages for a batch of queued packets, in order; a packet may give none (e.g. the Engine.IO
    /// open packet) and binary attachments are folded into the message they belong to.
    fn encode(&self, packets: &[Packet]) -> Vec<String>;

    /// What a 0.9 message from the client stands for; an error closes the session (`parse error`).
    fn decode(&self, message: &str) -> Result<Decoded, DecodeError>;

    /// Whether `packet`, the first the application queues for a new session, refuses the client: 0.9 clients were
    /// authorized at their handshake, which is then answered 403 `handshake unauthorized`.
    fn refuses(&self, packet: &Packet) -> bool;
}
