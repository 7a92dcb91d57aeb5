//! Which Socket.IO protocol a session's client speaks, from the Engine.IO protocol it opened with.

use crate::engineio::EngineVersion;
use crate::engineio::sio09::SIO09_PROTOCOL;

/// The Socket.IO protocol version of a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SioVersion {
    /// Socket.IO 0.9 clients, whose messages are translated to protocol v4 packets (see `socketio::sio09`).
    V09,
    /// Protocol v4: socket.io 1.x/2.x clients, over Engine.IO v3.
    V4,
    /// Protocol v5: socket.io 3.x/4.x clients, over Engine.IO v4.
    V5,
}

impl SioVersion {
    /// The version a client of Engine.IO protocol `engine` speaks.
    pub fn from_engine(engine: EngineVersion) -> Self {
        match engine {
            EngineVersion::Sio09 => Self::V09,
            EngineVersion::V3 => Self::V4,
            EngineVersion::V4 => Self::V5,
        }
    }

    /// The number webhooks carry as the handshake's `protocol`: 5, 4, and 1 for Socket.IO 0.9.
    pub fn number(self) -> u8 {
        match self {
            Self::V09 => SIO09_PROTOCOL,
            Self::V4 => 4,
            Self::V5 => 5,
        }
    }

    /// Whether the session carries protocol v4 packets (v4 clients, and 0.9 clients once translated): the server
    /// connects `/` itself, auth comes from queries, socket ids derive from the engine id.
    pub fn v4_packets(self) -> bool {
        self != Self::V5
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_protocols_map_to_socketio_versions() {
        assert_eq!(SioVersion::from_engine(EngineVersion::V4), SioVersion::V5);
        assert_eq!(SioVersion::from_engine(EngineVersion::V3), SioVersion::V4);
        assert_eq!(
            SioVersion::from_engine(EngineVersion::Sio09),
            SioVersion::V09
        );
        let numbers: Vec<u8> = [SioVersion::V5, SioVersion::V4, SioVersion::V09]
            .map(SioVersion::number)
            .into();
        assert_eq!(numbers, [5, 4, 1]);
        assert!(SioVersion::V09.v4_packets() && SioVersion::V4.v4_packets());
        assert!(!SioVersion::V5.v4_packets());
    }
}
