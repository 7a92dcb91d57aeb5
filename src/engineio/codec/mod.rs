//! Engine.IO as bytes, without IO: packets and their text form, the v4 and v3 polling payloads, and which of them
//! a polling request uses.

pub(crate) mod packet;
pub mod payload_v3;
pub mod payload_v4;
pub(crate) mod poll_format;
pub(crate) mod text;
