//! The config file of one iogate node of a test cluster ([`super::nodes::Nodes`]): its public listener and push
//! API on loopback ports, one socket.io endpoint (and, when asked for, one engine.io endpoint) relaying to the test
//! backend, and (unless the test runs independent nodes) the `[cluster]` table naming the shared Redis.

use super::api::TOKEN;

/// The socket.io endpoint's path on every node.
pub const PATH: &str = "/socket.io";

/// The engine.io endpoint's path on nodes started with [`NodeOptions::engine_io`].
pub const ENGINE_IO_PATH: &str = "/engine.io";

/// The nodes' ping interval under [`Heartbeat::Short`]: short, so heartbeats cross the nodes (and nginx) within
/// every test.
pub const PING_INTERVAL: &str = "1s";

/// The nodes' ping timeout under [`Heartbeat::Short`].
pub const PING_TIMEOUT: &str = "2s";

/// `[cluster] peer_timeout`: how long a cross-node call waits for peers.
pub const PEER_TIMEOUT: &str = "2s";

/// `[cluster] key_prefix`: the default, which the Node ecosystem's Redis emitter uses too.
pub const KEY_PREFIX: &str = "socket.io";

/// How often the nodes' endpoints ping their clients.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Heartbeat {
    /// [`PING_INTERVAL`] and [`PING_TIMEOUT`]: for real clients, which answer pings.
    #[default]
    Short,
    /// iogate's own defaults (25 s and 20 s): for raw test clients that never answer a ping, whose sessions must
    /// outlive the test unless the test itself ends them.
    Default,
}

/// What every node of a test cluster serves beyond its socket.io endpoint, and how it pings.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeOptions {
    /// Also an engine.io endpoint at [`ENGINE_IO_PATH`], relaying to the same webhook.
    pub engine_io: bool,
    /// The heartbeat of every endpoint.
    pub heartbeat: Heartbeat,
    /// Connection state recovery on the socket.io endpoint (a 30 s window).
    pub recovery: bool,
}

/// What one node is configured with.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// `[cluster] node_id`, also the last segment of its webhook path.
    pub node_id: String,
    /// The public listener's port on 127.0.0.1.
    pub port: u16,
    /// The push API's port on 127.0.0.1.
    pub api_port: u16,
    /// The webhook URL of its endpoints.
    pub webhook: String,
    /// The Redis URL of `[cluster]`; `None` leaves `[cluster]` out (an independent node).
    pub redis: Option<String>,
    /// Its endpoints and heartbeat.
    pub options: NodeOptions,
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
            options,
        } = self;
        let heartbeat = match options.heartbeat {
            Heartbeat::Short => {
                format!("ping_interval = \"{PING_INTERVAL}\"\nping_timeout = \"{PING_TIMEOUT}\"\n")
            }
            Heartbeat::Default => String::new(),
        };
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
{heartbeat}"#
        );
        if options.recovery {
            text.push_str("recovery = { max_disconnection = \"30s\" }\n");
        }
        if options.engine_io {
            text.push_str(&format!(
                r#"
[[endpoint]]
path = "{ENGINE_IO_PATH}"
protocol = "engine.io"
webhook = "{webhook}"
{heartbeat}"#
            ));
        }
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
