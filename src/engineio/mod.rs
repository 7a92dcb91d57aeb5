//! The Engine.IO protocol: pure codecs, sessions with a shared heartbeat timer, and the polling and WebSocket
//! transports. The layer above plugs in through [`Handler`].

mod engine;
mod error;
mod handler;
mod handshake;
pub mod http;
pub mod legacy;
mod packet;
mod pair_list;
pub mod payload_v3;
pub mod payload_v4;
mod poll_format;
mod polling;
mod query;
mod session;
mod sid;
mod text;
pub mod timer;
mod version;
mod websocket;
pub use iogate_ws::frame as ws_frame;
mod ws_link;
mod ws_packets;
mod ws_pump;

#[cfg(test)]
mod size_tests;

pub use engine::{Engine, EngineConfig};
pub use error::EngineError;
pub use handler::{Handler, Opened, Refusal, Wait};
pub use handshake::{ConnInfo, Handshake};
pub use packet::{DecodeError, Incoming, Message, Packet, PacketType, decode_text};
pub use pair_list::PairList;
pub use query::{EngineRequest, Query, SessionRequest};
#[cfg(test)]
pub(crate) use session::Owner;
pub use session::{CloseReason, Session, SessionSettings, TransportKind};
pub use sid::Sid;
pub use text::Text;
pub use version::EngineVersion;
pub use websocket::is_upgrade_request;
