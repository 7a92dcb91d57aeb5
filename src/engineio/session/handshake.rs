//! What the application learns about a new session, and the open packet the client receives.

use super::pair_list::PairList;
use crate::engineio::query::Query;
use crate::engineio::session::TransportKind;
use crate::engineio::version::EngineVersion;
use serde::Serialize;
use serde::ser::Serializer;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// The connection a request arrived on, as the server layer resolved it (proxies included).
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The client's address.
    pub address: IpAddr,
    /// Whether the client used HTTPS / WSS (directly or at a trusted proxy).
    pub secure: bool,
}

/// The handshake request of a session, passed to the application's `open` / `connect`.
#[derive(Debug, Clone, Serialize)]
pub struct Handshake {
    /// The client's address.
    pub address: IpAddr,
    /// Request headers, lower-case names; values that are not UTF-8 are converted lossily.
    pub headers: PairList,
    /// The query string, decoded (serialized as an object: a repeated key keeps its last value).
    pub query: PairList,
    /// The transport of the handshake request (serialized by name).
    #[serde(serialize_with = "transport_name")]
    pub transport: TransportKind,
    /// The protocol version number webhooks carry: [`Self::engine`]'s number here; Socket.IO endpoints put theirs.
    pub protocol: u8,
    /// The protocol the client speaks on the wire (not serialized: [`Self::protocol`] is its number).
    #[serde(skip)]
    pub engine: EngineVersion,
    /// Whether the client connected over TLS.
    pub secure: bool,
    /// When the handshake happened (serialized as RFC 3339 UTC, whole seconds).
    #[serde(serialize_with = "rfc3339_seconds")]
    pub time: SystemTime,
}

impl Handshake {
    /// Builds the handshake description of a request.
    pub fn new(
        headers: &http::HeaderMap,
        query: &Query,
        transport: TransportKind,
        engine: EngineVersion,
        conn: &ConnInfo,
    ) -> Self {
        Self {
            address: conn.address,
            headers: PairList::from_map(headers),
            query: query.pairs.iter().cloned().collect(),
            transport,
            protocol: engine.number(),
            engine,
            secure: conn.secure,
            time: SystemTime::now(),
        }
    }
}

/// Serializes a transport by its name (`polling`, `websocket`).
fn transport_name<S: Serializer>(
    transport: &TransportKind,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(transport.as_str())
}

/// Serializes a time as RFC 3339 UTC with whole seconds (`2026-11-25T22:00:00Z`).
fn rfc3339_seconds<S: Serializer>(time: &SystemTime, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(&humantime::format_rfc3339_seconds(*time))
}

/// The JSON of the v4 open packet: exactly `sid`, `upgrades`, `pingInterval`, `pingTimeout`, `maxPayload`.
pub fn open_packet_json(
    sid: &str,
    upgrades: &[&str],
    ping_interval: Duration,
    ping_timeout: Duration,
    max_payload: u64,
) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Open<'a> {
        sid: &'a str,
        upgrades: &'a [&'a str],
        ping_interval: u128,
        ping_timeout: u128,
        max_payload: u64,
    }
    let open = Open {
        sid,
        upgrades,
        ping_interval: ping_interval.as_millis(),
        ping_timeout: ping_timeout.as_millis(),
        max_payload,
    };
    serde_json::to_string(&open).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_packet_has_exactly_the_reference_keys() {
        let json = open_packet_json(
            "abc",
            &["websocket"],
            Duration::from_millis(300),
            Duration::from_millis(200),
            1_000_000,
        );
        assert_eq!(
            json,
            r#"{"sid":"abc","upgrades":["websocket"],"pingInterval":300,"pingTimeout":200,"maxPayload":1000000}"#
        );
    }

    #[test]
    fn handshake_serializes_headers_and_query_as_objects() {
        let mut headers = http::HeaderMap::new();
        headers.insert("user-agent", http::HeaderValue::from_static("test"));
        headers.insert("x-bin", http::HeaderValue::from_bytes(b"a\xffb").unwrap());
        let query = Query::parse(Some("EIO=4&transport=polling"));
        let conn = ConnInfo {
            address: "203.0.113.9".parse().unwrap(),
            secure: false,
        };
        let handshake = Handshake::new(
            &headers,
            &query,
            TransportKind::Polling,
            EngineVersion::V4,
            &conn,
        );
        let json = serde_json::to_value(&handshake).unwrap();
        assert_eq!(json["headers"]["user-agent"], "test");
        assert_eq!(json["headers"]["x-bin"], "a\u{fffd}b");
        assert_eq!(json["query"]["EIO"], "4");
        assert_eq!(json["address"], "203.0.113.9");
        assert_eq!(json["transport"], "polling");
        assert!(json["time"].as_str().unwrap().ends_with('Z'));
    }
}
