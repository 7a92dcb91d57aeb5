//! What unit tests of the Socket.IO layer share.

use crate::engineio::EngineVersion;
use crate::engineio::{ConnInfo, Handshake, Query, TransportKind};

/// The handshake of a polling client from 127.0.0.1 without headers or query.
pub(crate) fn handshake() -> Handshake {
    let conn = ConnInfo {
        address: "127.0.0.1".parse().expect("a constant address"),
        secure: false,
    };
    Handshake::new(
        &http::HeaderMap::new(),
        &Query::parse(None),
        TransportKind::Polling,
        EngineVersion::V4,
        &conn,
    )
}
