//! The Socket.IO protocol (v5) on top of the Engine.IO server: packet codec, binary attachments, namespaces,
//! sockets, rooms, and the translation that serves Socket.IO 0.9 clients. The application (the webhook relay) plugs in through [`App`].

mod app;
pub mod binary;
mod conn;
pub mod legacy;
pub mod legacy_message;
mod name_limit;
mod namespace;
pub mod outgoing;
pub mod packet;
mod server;
mod socket;
mod socket_id;
mod table;
mod watch;

pub use app::{Accepted, App, ClientEvent, ConnectRequest, DisconnectReason, Emit, Rejected};
pub use conn::Conn;
pub use namespace::{Namespace, Selector};
pub use outgoing::Encoded;
pub use server::{SioConfig, SioHandler, SocketIo, encode_event};
pub use socket::Socket;
pub use socket_id::SocketId;
