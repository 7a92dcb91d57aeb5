//! The config file of one iogate node of a test cluster ([`super::nodes::Nodes`]): its public listener and push
//! API on loopback ports, one socket.io endpoint relaying to the test backend with short heartbeats, and (unless
//! the test runs independent nodes) the `[cluster]` table naming the shared Redis.

use super::api::TOKEN;

/// The socket.io endpoint's path on every node.
pub const PATH: &str = "/socket.io";

/// The nodes' ping interval: short, so heartbeats cross the nodes (and nginx) within every test.
pub const PING_INTERVAL: &str = "1s";

/// The nodes' ping timeout.
pub const PING_TIMEOUT: &str = "2s";

/// `[cluster] peer_timeout`: how long a cross-node call waits for peers.
pub const PEER_TIMEOUT: &str = "2s";

/// `[cluster] key_prefix`: the default, which the Node ecosystem's Redis emitter uses too.
pub const KEY_PREFIX: &str = "socket.io";

/// What one node is configured with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// `[cluster] node_id`, also the last segment of its webhook path.
    pub node_id: String,
    /// The public listener's port on 127.0.0.1.
    pub port: u16,
    /// The push API's port on 127.0.0.1.
    pub api_port: u16,
    /// The webhook URL of its endpoint.
    pub webhook: String,
    /// The Redis URL of `[cluster]`; `None` leaves `[cluster]` out (an independent node).
    pub redis: Option<String>,
}

impl NodeConfig {
    /// The TOML text.
    pub fn toml(&self) -> String {
        let Self {
            node_id,
            port,
            api_port,
            webhook,
            redis,
        } = self;
        let mut text = format!(
            r#"[server]
listen = "127.0.0.1:{port}"
trusted_proxies = ["127.0.0.1/32"]

[api]
listen = "127.0.0.1:{api_port}"
token = "{TOKEN}"

[[endpoint]]
path = "{PATH}"
protocol = "socket.io"
webhook = "{webhook}"
namespaces = ["/", "/chat"]
ping_interval = "{PING_INTERVAL}"
ping_timeout = "{PING_TIMEOUT}"
"#
        );
        if let Some(redis) = redis {
            text.push_str(&format!(
                r#"
[cluster]
redis = "{redis}"
node_id = "{node_id}"
advertise = "http://127.0.0.1:{port}"
key_prefix = "{KEY_PREFIX}"
peer_timeout = "{PEER_TIMEOUT}"
"#
            ));
        }
        text
    }
}
