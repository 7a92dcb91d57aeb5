//! Connection state recovery: a socket.io-client 4.6+ that drops for a moment comes back with its socket id,
//! rooms, data and the events it missed.
//!
//! Sockets that get offsets (see [`RecoverySettings::offsets_for`]) keep a replay log (`log`) of the events
//! they were sent, each with an offset (`offset`) as its last argument. When such a socket's session ends for a
//! reason a client recovers from, the socket is parked (`parked`): it stays in its namespace and rooms, events
//! to it go to its log, and its `disconnect` hook waits. A CONNECT naming its private id (`pid`) and an offset
//! in its log brings it back (`restore`); the window running out ends it with its hook (`park`).

mod hand_over;
mod log;
mod offset;
mod park;
mod parked;
mod restore;

pub use hand_over::{HandOver, MissedEvent, RemoteClaim, WirePacket, refusal_outcome};
pub use log::{LogLimits, Replay, ReplayLog};
pub use offset::{Offset, OffsetSource};
pub use park::ExpiryTimer;
pub use parked::{Claim, Expired, ParkRefused, Parked, ParkedSessions};

use crate::config::OffsetsMode;
use crate::engineio::{CloseReason, Handshake};
use crate::metrics::RecoveryMetrics;
use serde_json::value::RawValue;
use std::time::Duration;

/// The handshake query key and value a client sets to get offsets from its first connection
/// (`io(url, { query: { recovery: 1 } })`).
pub const QUERY_MARKER: (&str, &str) = ("recovery", "1");

/// An endpoint's recovery settings (`recovery = {...}`).
#[derive(Debug, Clone)]
pub struct RecoverySettings {
    /// How long a parked socket waits for its client.
    pub window: Duration,
    /// Accept a recovered socket without a `connect` hook.
    pub skip_connect_hook: bool,
    /// Bytes of events kept per socket.
    pub max_buffer: usize,
    /// Which sockets get offsets.
    pub offsets: OffsetsMode,
    /// The most sockets parked at once on the endpoint.
    pub max_parked: usize,
    /// The recovery metrics of the endpoint.
    pub metrics: RecoveryMetrics,
}

impl RecoverySettings {
    /// The bounds of each socket's replay log.
    pub fn log_limits(&self) -> LogLimits {
        LogLimits {
            max_bytes: self.max_buffer,
            max_age: self.window,
        }
    }

    /// Whether a Socket.IO v5 socket gets offsets: always in `"always"` mode; in `"marked"` mode when its
    /// CONNECT carries a string `pid` (a client that can use them) or its handshake asked with `recovery=1`.
    pub fn offsets_for(&self, claim: &RecoveryClaim, handshake: &Handshake) -> bool {
        self.offsets == OffsetsMode::Always
            || claim.pid.is_some()
            || handshake
                .query()
                .iter()
                .any(|(key, value)| (key, value) == QUERY_MARKER)
    }
}

/// Whether a session that ended for `reason` leaves its sockets recoverable (on one node: not at shutdown, as
/// nothing could take them over). Never after an overflow (see [`crate::engineio::Session::overflowed`]).
pub fn recoverable(reason: CloseReason) -> bool {
    matches!(
        reason,
        CloseReason::TransportClose | CloseReason::TransportError | CloseReason::PingTimeout
    )
}

/// What a CONNECT's payload says about recovery: `pid` and `offset`, when they are strings.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RecoveryClaim {
    /// The private id of the socket to recover.
    pub pid: Option<String>,
    /// The client's last offset.
    pub offset: Option<String>,
}

impl RecoveryClaim {
    /// Reads `pid` and `offset` from a CONNECT payload; anything that is not a string (or a payload that is not
    /// an object) counts as absent.
    pub fn from_auth(auth: &RawValue) -> Self {
        #[derive(serde::Deserialize)]
        struct Fields {
            pid: Option<serde_json::Value>,
            offset: Option<serde_json::Value>,
        }
        let Ok(fields) = serde_json::from_str::<Fields>(auth.get()) else {
            return Self::default();
        };
        let text = |value: Option<serde_json::Value>| match value {
            Some(serde_json::Value::String(text)) => Some(text),
            _ => None,
        };
        Self {
            pid: text(fields.pid),
            offset: text(fields.offset),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(auth: &str) -> RecoveryClaim {
        RecoveryClaim::from_auth(&RawValue::from_string(auth.to_string()).unwrap())
    }

    #[test]
    fn claims_read_string_pid_and_offset_only() {
        assert_eq!(
            claim(r#"{"pid":"p","offset":"o","token":1}"#),
            RecoveryClaim {
                pid: Some("p".into()),
                offset: Some("o".into())
            }
        );
        assert_eq!(
            claim(r#"{"pid":"p"}"#),
            RecoveryClaim {
                pid: Some("p".into()),
                offset: None
            }
        );
        assert_eq!(
            claim(r#"{"pid":7,"offset":["o"]}"#),
            RecoveryClaim::default()
        );
        assert_eq!(claim(r#""text""#), RecoveryClaim::default());
        assert_eq!(claim("{}"), RecoveryClaim::default());
    }

    #[test]
    fn only_drops_are_recoverable() {
        for reason in [
            CloseReason::TransportClose,
            CloseReason::TransportError,
            CloseReason::PingTimeout,
        ] {
            assert!(recoverable(reason), "{reason:?}");
        }
        for reason in [
            CloseReason::ParseError,
            CloseReason::ForcedClose,
            CloseReason::ServerShuttingDown,
        ] {
            assert!(!recoverable(reason), "{reason:?}");
        }
    }
}
