//! iogate's WebSocket framing (RFC 6455), server side.
//!
//! A pure codec turns bytes into decisions: [`frame::Decoder`] reads client frames (masked, possibly fragmented,
//! control frames between fragments) into [`Event`]s or a [`Violation`] with its close code, and
//! [`frame::FrameHead`] encodes a server frame's header. Around it, [`Link`] does one connection's IO: frames are
//! read from the `TcpStream` into a buffer on the stack of the polling thread, and written with vectored writes of
//! header and payload straight from the shared message bytes; nothing stays in memory while the connection is
//! idle. The contract is in the crate's `README.md`.

pub mod client;
pub mod frame;
mod link;
mod text;

pub use frame::{Event, Violation, WsMessage};
pub use link::{Link, ReadError};
pub use text::Text;
