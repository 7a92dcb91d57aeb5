//! The Socket.IO protocol (v5) on top of the Engine.IO server: packet codec, binary attachments, namespaces,
//! sockets, rooms, and the translation that serves Socket.IO 0.9 clients. The application (the webhook relay) plugs in
//! through [`SocketApp`]; it and the push API act on sockets through the operations seam, [`ops`].

mod app;
pub mod binary;
mod connect_queue;
mod connect_timeout;
mod dispatch;
mod handler;
mod name_limit;
mod namespace;
mod negotiate;
pub mod ops;
pub mod outgoing;
pub mod packet;
mod reassembly;
pub mod recovery;
mod server;
mod session_sockets;
pub mod sio09;
pub mod sio09_message;
mod socket;
mod socket_id;
mod socket_list;
mod socket_set;
mod table;
#[cfg(test)]
mod test_support;
mod version;

pub use app::{Accepted, ClientEvent, ConnectRequest, DisconnectReason, Emit, Rejected, SocketApp};
pub use handler::SioHandler;
pub use namespace::Namespace;
pub use ops::Ops;
pub use outgoing::{Encoded, encode_event};
pub use server::{SioConfig, SocketIo};
pub use session_sockets::SessionSockets;
pub use socket::Socket;
pub use socket_id::SocketId;
pub use version::SioVersion;
