//! The Engine.IO protocol, grouped by the path data takes: [`codec`] (packets and polling payloads as bytes, no
//! IO), [`session`] (one session's queue and state, its id and handshake, the shared heartbeat timer), the two
//! transports (`polling`, `websocket`) and Socket.IO 0.9's own transport ([`sio09`]). `engine` dispatches a
//! request to them; the layer above plugs in through [`Handler`].

pub mod codec;
mod engine;
mod error;
mod handler;
pub mod http;
mod polling;
mod query;
mod registry;
pub mod session;
pub mod sio09;
mod version;
mod websocket;
pub use iogate_ws::frame as ws_frame;

#[cfg(test)]
mod size_tests;

/// The WebSocket framing reaches [`Text`] by this name.
pub use codec::packet::{DecodeError, Incoming, Message, Packet, PacketType, decode_text};
pub use codec::text::Text;
pub use engine::{Engine, EngineConfig};
pub use error::EngineError;
pub use handler::{Handler, Opened, Refusal, Wait};
pub use query::{EngineRequest, Query, SessionRequest};
#[cfg(test)]
pub(crate) use session::Owner;
pub use session::handshake::{ConnInfo, Handshake};
pub use session::pair_list::{PairLists, PairListsBuilder, Pairs};
pub use session::sid::{CurrentTag, NodeTag, Sid};
pub use session::{CloseReason, Session, SessionSettings, TransportKind};
pub use version::EngineVersion;
pub use websocket::is_upgrade_request;
