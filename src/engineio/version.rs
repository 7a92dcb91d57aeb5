//! Which protocol a session's client speaks: Engine.IO v3 or v4, or Socket.IO 0.9's own transport.

use crate::engineio::sio09::SIO09_PROTOCOL;

/// The protocol a session's client speaks on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineVersion {
    /// Socket.IO 0.9's transport (protocol revision 1): `\u{fffd}`-framed payloads at `/{resource}/1/...`.
    Sio09,
    /// Engine.IO v3 (socket.io-client 1.x/2.x): client pings, `len:packet` payloads, JSONP and `b64`.
    V3,
    /// Engine.IO v4: server pings, `\x1e`-separated payloads.
    V4,
}

impl EngineVersion {
    /// The version an `EIO` query value names, when this endpoint serves it (`eio3`: v3 clients are accepted).
    pub fn from_eio(value: Option<&str>, eio3: bool) -> Option<Self> {
        match value {
            Some("4") => Some(Self::V4),
            Some("3") if eio3 => Some(Self::V3),
            _ => None,
        }
    }

    /// The version as a number, as handshakes carry it: 3, 4, or `SIO09_PROTOCOL` (1).
    pub fn number(self) -> u8 {
        match self {
            Self::Sio09 => SIO09_PROTOCOL,
            Self::V3 => 3,
            Self::V4 => 4,
        }
    }
}
