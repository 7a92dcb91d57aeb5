//! `[cluster]`: several nodes sharing sessions, rooms and broadcasts through one Redis. Values are parsed here,
//! once, when the config loads: the Redis URL, the node's name and the address peers reach it at.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::time::Duration;

/// `[cluster]`: absent = one node. Every node of one deployment names the same Redis.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The Redis (6 or newer, standalone) every node of the deployment uses, e.g. `"redis://127.0.0.1:6379"`.
    pub redis: RedisUrl,
    /// This node's name, unique in the deployment (letters, digits, `.`, `_`, `-`; at most 64). Absent: random.
    pub node_id: Option<NodeName>,
    /// How peers reach this node's public listener, `"http://host:port"`. Absent: the listen address, which must
    /// then not be unspecified (`0.0.0.0` / `::`).
    pub advertise: Option<PeerAddress>,
    /// The prefix of every Redis key and channel, shared with the Node ecosystem's Redis emitter.
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// How long a cross-node call waits for the other nodes' answers.
    #[serde(default = "default_peer_timeout", with = "super::duration")]
    pub peer_timeout: Duration,
}

fn default_key_prefix() -> String {
    "socket.io".to_string()
}

fn default_peer_timeout() -> Duration {
    Duration::from_secs(2)
}

/// A `redis://` or `rediss://` URL. `Debug` shows it without its password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// Parses `text`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "redis" | "rediss") {
            return Err(format!("{:?} must be a redis:// URL", redact(text)));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{:?} names no host", redact(text)));
        }
        Ok(Self(text.to_string()))
    }

    /// The URL as written (with any password: give it only to the Redis client).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL without its password, for messages and logs.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

fn redact(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        Ok(url) => url.to_string(),
        Err(_) => "<not a URL>".to_string(),
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

impl<'de> Deserialize<'de> for RedisUrl {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A node's name: 1 to 64 of letters, digits, `.`, `_` and `-`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeName(String);

impl NodeName {
    /// Parses `text`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if text.is_empty() || text.len() > 64 || !text.chars().all(allowed) {
            return Err(format!(
                "{text:?} must be 1 to 64 letters, digits, '.', '_' or '-'"
            ));
        }
        Ok(Self(text.to_string()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for NodeName {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Where peers reach a node's public listener: `http://host:port` (no path), kept as `host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAddress(String);

impl PeerAddress {
    /// Parses `text`; the message says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if url.scheme() != "http" {
            return Err(format!(
                "{text:?} must be an http:// URL (nodes reach each other's public listener directly)"
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{text:?} names no host"))?;
        let port = url
            .port_or_known_default()
            .ok_or_else(|| format!("{text:?} names no port"))?;
        if !matches!(url.path(), "" | "/") || url.query().is_some() {
            return Err(format!("{text:?} must have no path or query"));
        }
        if matches!(host, "0.0.0.0" | "[::]") {
            return Err(format!("{text:?} is not an address peers can reach"));
        }
        Ok(Self(format!("{host}:{port}")))
    }

    /// The address of `listen`, or an error when it is unspecified (`0.0.0.0` / `::`).
    pub fn of_listener(listen: std::net::SocketAddr) -> Result<Self, String> {
        if listen.ip().is_unspecified() {
            return Err(format!(
                "the listen address {listen} is not one peers can reach: set advertise = \"http://<this node's address>:{}\"",
                listen.port()
            ));
        }
        Ok(Self(listen.to_string()))
    }

    /// `host:port`.
    pub fn authority(&self) -> &str {
        &self.0
    }
}

impl<'de> Deserialize<'de> for PeerAddress {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_urls_hide_their_password() {
        let url = RedisUrl::parse("redis://:s3cret@10.0.0.2:6380/1").unwrap();
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(url.expose(), "redis://:s3cret@10.0.0.2:6380/1");
        for bad in ["http://h/", "redis://", "10.0.0.2:6379", ""] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn node_names_are_short_and_plain() {
        assert!(NodeName::parse("node-1.a_b").is_ok());
        for bad in ["", "a b", "é", &"x".repeat(65)] {
            assert!(NodeName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn peer_addresses_are_http_host_and_port() {
        assert_eq!(
            PeerAddress::parse("http://10.0.0.5:8080")
                .unwrap()
                .authority(),
            "10.0.0.5:8080"
        );
        assert_eq!(
            PeerAddress::parse("http://node-a/").unwrap().authority(),
            "node-a:80"
        );
        assert_eq!(
            PeerAddress::parse("http://[::1]:9000").unwrap().authority(),
            "[::1]:9000"
        );
        for bad in [
            "https://h:1",
            "http://h:1/path",
            "http://0.0.0.0:8080",
            "h:1",
        ] {
            assert!(PeerAddress::parse(bad).is_err(), "{bad}");
        }
        assert!(PeerAddress::of_listener("0.0.0.0:8080".parse().unwrap()).is_err());
        assert_eq!(
            PeerAddress::of_listener("127.0.0.1:8080".parse().unwrap())
                .unwrap()
                .authority(),
            "127.0.0.1:8080"
        );
    }
}
