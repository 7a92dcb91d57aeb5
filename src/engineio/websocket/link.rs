//! An upgraded connection as a WebSocket [`Link`] (the framing and the socket IO are the `iogate_ws` crate's):
//! the link keeps the connection's hold, and the request's own for a forwarded client, while it lasts.

use crate::engineio::http::ConnectionHold;
use iogate_h1::Upgraded;

pub(crate) use iogate_ws::ReadError;

/// A WebSocket connection after the handshake, keeping the listener's count of the connection (and of the client
/// a trusted proxy forwarded, when the request carried one).
pub(crate) type Link = iogate_ws::Link<ConnectionHold>;

/// Takes over an upgraded connection, keeping its hold, and `forwarded` (the request's own), while it lasts;
/// bytes read past the handshake are decoded first.
pub(crate) fn open(upgraded: Upgraded, forwarded: Option<ConnectionHold>) -> Link {
    let Upgraded {
        stream,
        read_ahead,
        hold,
    } = upgraded;
    let hold = match forwarded {
        None => hold,
        Some(forwarded) => ConnectionHold(std::sync::Arc::new((hold, forwarded))),
    };
    Link::new(stream, &read_ahead, hold)
}
