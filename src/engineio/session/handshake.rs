//! What the application learns about a new session, and the open packet the client receives.

use super::pair_list::{PairLists, Pairs};
use crate::engineio::query::Query;
use crate::engineio::session::TransportKind;
use crate::engineio::version::EngineVersion;
use serde::Serialize;
use serde::ser::{SerializeStruct, Serializer};
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

/// The handshake request of a session, passed to the application's `open` / `connect`. Serialized (for webhooks)
/// as an object of `address`, `headers`, `query`, `transport`, `protocol`, `secure` and `time`, in that order.
///
/// A session keeps its handshake for its whole life, so the headers and the query share one block of pairs
/// ([`PairLists`]): with the `Arc` the session and its sockets share, a handshake is two blocks.
#[derive(Debug, Clone)]
pub struct Handshake {
    /// The client's address.
    pub address: IpAddr,
    /// The headers (list 0) and the query (list 1): see [`Self::headers`] and [`Self::query`].
    pairs: PairLists,
    /// The transport of the handshake request (serialized by name).
    pub transport: TransportKind,
    /// The protocol version number webhooks carry: [`Self::engine`]'s number here; Socket.IO endpoints put theirs.
    pub protocol: u8,
    /// The protocol the client speaks on the wire (not serialized: [`Self::protocol`] is its number).
    pub engine: EngineVersion,
    /// Whether the client connected over TLS.
    pub secure: bool,
    /// When the handshake happened (serialized as RFC 3339 UTC, whole seconds).
    pub time: SystemTime,
}

/// The headers' list in [`Handshake::pairs`].
const HEADERS: usize = 0;

/// The query's list in [`Handshake::pairs`].
const QUERY: usize = 1;

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
            pairs: PairLists::builder()
                .list(headers.iter().map(|(name, value)| {
                    (name.as_str(), String::from_utf8_lossy(value.as_bytes()))
                }))
                .list(query.pairs())
                .build(),
            transport,
            protocol: engine.number(),
            engine,
            secure: conn.secure,
            time: SystemTime::now(),
        }
    }

    /// Request headers, lower-case names; values that are not UTF-8 are converted lossily.
    pub fn headers(&self) -> Pairs<'_> {
        self.pairs.list(HEADERS)
    }

    /// The query string, decoded (serialized as an object: a repeated key keeps its last value).
    pub fn query(&self) -> Pairs<'_> {
        self.pairs.list(QUERY)
    }
}

impl Serialize for Handshake {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut object = serializer.serialize_struct("Handshake", 7)?;
        object.serialize_field("address", &self.address)?;
        object.serialize_field("headers", &self.headers())?;
        object.serialize_field("query", &self.query())?;
        object.serialize_field("transport", self.transport.as_str())?;
        object.serialize_field("protocol", &self.protocol)?;
        object.serialize_field("secure", &self.secure)?;
        object.serialize_field("time", &Rfc3339Seconds(self.time))?;
        object.end()
    }
}

/// A time serialized as RFC 3339 UTC with whole seconds (`2026-11-25T22:00:00Z`).
struct Rfc3339Seconds(SystemTime);

impl Serialize for Rfc3339Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&humantime::format_rfc3339_seconds(self.0))
    }
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

    #[test]
    fn handshake_json_keeps_its_keys_order_and_text() {
        let mut headers = http::HeaderMap::new();
        headers.insert("host", http::HeaderValue::from_static("example.com"));
        headers.append("x-dup", http::HeaderValue::from_static("1"));
        headers.append("x-dup", http::HeaderValue::from_static("2"));
        headers.insert("x-quote", http::HeaderValue::from_static("a\"b"));
        let query = Query::parse(Some("EIO=4&transport=websocket&t=%C3%A9&t=2&empty="));
        let conn = ConnInfo {
            address: "2001:db8::1".parse().unwrap(),
            secure: true,
        };
        let mut handshake = Handshake::new(
            &headers,
            &query,
            TransportKind::Websocket,
            EngineVersion::V3,
            &conn,
        );
        handshake.protocol = 4;
        handshake.time = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_486_400_900);
        assert_eq!(
            serde_json::to_string(&handshake).unwrap(),
            concat!(
                r#"{"address":"2001:db8::1","#,
                r#""headers":{"host":"example.com","x-dup":"2","x-quote":"a\"b"},"#,
                r#""query":{"EIO":"4","transport":"websocket","t":"2","empty":""},"#,
                r#""transport":"websocket","protocol":4,"secure":true,"time":"2026-12-05T16:00:00Z"}"#
            )
        );
        let empty = Handshake::new(
            &http::HeaderMap::new(),
            &Query::parse(None),
            TransportKind::Polling,
            EngineVersion::V4,
            &conn,
        );
        let json = serde_json::to_string(&empty).unwrap();
        assert!(json.contains(r#""headers":{},"query":{},"transport":"polling","protocol":4,"#));
    }

    #[test]
    fn a_handshake_and_its_arc_counts_fill_an_80_byte_chunk() {
        // 56 bytes and the `Arc`'s two counts make a 72-byte block, an 80-byte malloc chunk; every session pays
        // the next 16 bytes if this grows.
        let size = std::mem::size_of::<Handshake>();
        assert!(size <= 56, "a handshake is {size} bytes (at most 56)");
    }
}
