//! The TOML schema. Every key is documented here; unknown keys are rejected.

use super::cidr::Cidr;
use super::cluster::ClusterConfig;
use super::resource_path::ResourcePath;
use super::secret::Secret;
use super::webhook_url::WebhookUrl;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The public listener that clients connect to.
    #[serde(default)]
    pub server: ServerConfig,
    /// The push API listener; absent means no API.
    pub api: Option<ApiConfig>,
    /// Logging settings.
    #[serde(default)]
    pub log: LogConfig,
    /// The endpoints (resource paths) served, each with its protocol and webhook.
    #[serde(rename = "endpoint", default)]
    pub endpoints: Vec<EndpointConfig>,
    /// Several nodes sharing sessions, rooms and broadcasts through Redis; absent means one node.
    pub cluster: Option<ClusterConfig>,
}

/// `[server]`: the public listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address and port to listen on, e.g. `"127.0.0.1:8080"`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Peers (CIDR blocks) whose `X-Forwarded-For` / `Forwarded` headers are believed.
    #[serde(default)]
    pub trusted_proxies: Vec<Cidr>,
    /// How long a client may take to send a request head before its connection is closed (slow or stuck clients).
    #[serde(default = "default_request_head_timeout", with = "duration_serde")]
    pub request_head_timeout: Duration,
    /// How long a graceful shutdown may take before remaining sessions are dropped.
    #[serde(default = "default_shutdown_timeout", with = "duration_serde")]
    pub shutdown_timeout: Duration,
    /// Client connections open at once on the public listener; past it a new connection is accepted and closed
    /// at once. Absent: the process's open-files limit minus a reserve (a tenth, at least 100) for webhooks, the
    /// API listener and files.
    pub max_connections: Option<usize>,
    /// Connections one client address may hold open at once; 0 = no limit. Counted on the client address: the TCP
    /// peer, or for requests through `trusted_proxies` the forwarded address (its requests in flight and
    /// WebSockets). Past it a direct connection is closed at once, a proxied request gets 503.
    #[serde(default)]
    pub max_connections_per_ip: usize,
    /// Engine.IO sessions open at once over every endpoint; past it a handshake gets 503. Absent: the same as
    /// `max_connections` (every live session holds a connection, a parked poll or a WebSocket).
    pub max_sessions: Option<usize>,
    /// The largest request head (request line and headers) in bytes; larger heads get 431. Bounds what a
    /// session keeps of its handshake's headers.
    #[serde(default = "default_max_request_head")]
    pub max_request_head: usize,
    /// How long a client may take to send a request body (a POST); past it the request gets 408 and the
    /// connection closes. The same time bounds a response the client does not read: no progress for this long
    /// closes the connection.
    #[serde(default = "default_body_timeout", with = "duration_serde")]
    pub body_timeout: Duration,
    /// Which header trusted proxies speak: `"x-forwarded-for"` (with `X-Forwarded-Proto` and `X-ARR-SSL`) or
    /// `"forwarded"` (RFC 7239). The other is ignored, so a client cannot slip its own past a proxy that sets
    /// only one of them.
    #[serde(default)]
    pub forwarded: ForwardedHeader,
    /// Route by `X-Original-URL` from trusted proxies (IIS URL Rewrite + ARR). Off by default: nginx, Apache and
    /// Caddy pass a client's own `X-Original-URL` through.
    #[serde(default)]
    pub x_original_url: bool,
}

/// The values `[server] max_request_head` may take: from hyper's smallest read buffer to the largest head the
/// listener ever reads (8 KiB + 100 headers of 4 KiB).
pub const REQUEST_HEAD_RANGE: std::ops::RangeInclusive<usize> = 8192..=8192 + 4096 * 100;

/// The forwarding header trusted proxies set (`[server] forwarded`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum ForwardedHeader {
    /// `X-Forwarded-For`, with the scheme from `X-Forwarded-Proto` or `X-ARR-SSL`.
    #[default]
    #[serde(rename = "x-forwarded-for")]
    XForwardedFor,
    /// RFC 7239 `Forwarded` (`for=` and `proto=`).
    #[serde(rename = "forwarded")]
    Forwarded,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            trusted_proxies: Vec::new(),
            request_head_timeout: default_request_head_timeout(),
            shutdown_timeout: default_shutdown_timeout(),
            max_connections: None,
            max_connections_per_ip: 0,
            max_sessions: None,
            max_request_head: default_max_request_head(),
            body_timeout: default_body_timeout(),
            forwarded: ForwardedHeader::default(),
            x_original_url: false,
        }
    }
}

/// `[api]`: the push API listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    /// Address and port of the API listener; keep it on loopback or a private network.
    #[serde(default = "default_api_listen")]
    pub listen: SocketAddr,
    /// The bearer token every API call must carry (never printed).
    pub token: Secret,
}

/// `[log]`: logging settings (`RUST_LOG` wins over `level`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter such as `"info"` or `"iogate=debug"`.
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: default_log_level(),
        }
    }
}

/// Which protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// Socket.IO (namespaces, events, acks, rooms) on top of Engine.IO.
    #[serde(rename = "socket.io")]
    SocketIo,
    /// Raw Engine.IO sessions: each message is relayed as is.
    #[serde(rename = "engine.io")]
    EngineIo,
}

/// An Engine.IO transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// HTTP long-polling.
    Polling,
    /// WebSocket.
    Websocket,
}

/// A webhook secret, or several while secrets rotate (each signs every request); never printed.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Secrets {
    /// One secret.
    One(Secret),
    /// Several secrets; a signature is added for each.
    Many(Vec<Secret>),
}

impl Secrets {
    /// The secrets as a list.
    pub fn to_vec(&self) -> Vec<Secret> {
        self.as_slice().to_vec()
    }

    /// The secrets in order, without copying them.
    pub fn as_slice(&self) -> &[Secret] {
        match self {
            Secrets::One(one) => std::slice::from_ref(one),
            Secrets::Many(many) => many,
        }
    }
}

/// No secret: webhooks go unsigned.
impl Default for Secrets {
    fn default() -> Self {
        Secrets::Many(Vec::new())
    }
}

/// Secrets given as plain strings (tests, tools), in order.
impl FromIterator<String> for Secrets {
    fn from_iter<I: IntoIterator<Item = String>>(iter: I) -> Self {
        Secrets::Many(iter.into_iter().map(Secret::from).collect())
    }
}

/// `hooks = { connect = true, disconnect = true }`: which lifecycle webhooks are sent.
/// On engine.io endpoints `connect` governs `open` and `disconnect` governs `close`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HookSwitches {
    /// Send the `connect` (`open`) webhook; `false` accepts every client without a call.
    #[serde(default = "yes")]
    pub connect: bool,
    /// Send the `disconnect` (`close`) webhook.
    #[serde(default = "yes")]
    pub disconnect: bool,
}

impl Default for HookSwitches {
    fn default() -> Self {
        Self {
            connect: true,
            disconnect: true,
        }
    }
}

impl EndpointConfig {
    /// Where this endpoint serves Socket.IO 0.9 clients (`/{resource}`, normalized), or `None` when it does not.
    pub fn sio09_base(&self) -> Option<String> {
        if self.protocol != Protocol::SocketIo || !self.socketio09 {
            return None;
        }
        Some(
            self.resource
                .as_ref()
                .unwrap_or(&self.path)
                .as_str()
                .to_string(),
        )
    }
}

/// `[[endpoint]]`: one resource path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// The resource path (the client's `path` option), e.g. `"/myApp/socket"`; `/p` and `/p/...` match, `/pX` does not.
    /// Normalized when loaded (no trailing slash).
    #[serde(deserialize_with = "resource_path_serde::deserialize_endpoint")]
    pub path: ResourcePath,
    /// `"socket.io"` (default) or `"engine.io"`.
    #[serde(default = "default_protocol")]
    pub protocol: Protocol,
    /// Where every webhook of this endpoint is POSTed unless a route says otherwise: an `http` or `https` URL.
    pub webhook: WebhookUrl,
    /// Signs every webhook with HMAC-SHA256 when set; a list while secrets rotate. Never printed.
    pub secret: Option<Secrets>,
    /// Socket.IO namespaces clients may connect to: exact names or globs such as `"/tenant-*"`.
    #[serde(default = "default_namespaces")]
    pub namespaces: Vec<String>,
    /// How often the server pings each client.
    #[serde(default = "default_ping_interval", with = "duration_serde")]
    pub ping_interval: Duration,
    /// How long a client has to answer a ping before its session closes.
    #[serde(default = "default_ping_timeout", with = "duration_serde")]
    pub ping_timeout: Duration,
    /// How long a Socket.IO client has to connect a namespace after the Engine.IO handshake.
    #[serde(default = "default_connect_timeout", with = "duration_serde")]
    pub connect_timeout: Duration,
    /// How long a polling-to-WebSocket upgrade may take before the WebSocket is dropped.
    #[serde(default = "default_upgrade_timeout", with = "duration_serde")]
    pub upgrade_timeout: Duration,
    /// How long a long-poll that has packets to send may wait for more while the backend is still answering this
    /// client's webhooks, so that replies arriving close together go out in one response. Never delays a packet by
    /// more than this; `"0s"` answers at once.
    #[serde(default = "default_poll_coalesce", with = "duration_serde")]
    pub poll_coalesce: Duration,
    /// Largest HTTP body or WebSocket message accepted, in bytes; bigger ones get 413 or close the WebSocket.
    #[serde(default = "default_max_payload")]
    pub max_payload: u64,
    /// Accept Engine.IO v3 clients (socket.io-client 1.x/2.x, python-socketio 4.x) besides v4 ones.
    #[serde(default = "yes")]
    pub eio3: bool,
    /// Serve Socket.IO 0.9 clients at `/{resource}/1/...` (socket.io endpoints only).
    #[serde(default = "yes")]
    pub socketio09: bool,
    /// The `resource` option of this endpoint's Socket.IO 0.9 clients, e.g. `"myApp/server.js"` for pages that call
    /// `io.connect(url, {resource: 'myApp/server.js'})`; they are served at `/{resource}/1/...`. Defaults to
    /// `path` (so `/socket.io/1/...` for the default path). socket.io endpoints only. Normalized when loaded
    /// (`/myApp/server.js`).
    #[serde(
        default,
        deserialize_with = "resource_path_serde::deserialize_sio09_resource"
    )]
    pub resource: Option<ResourcePath>,
    /// Transports clients may use.
    #[serde(default = "default_transports")]
    pub transports: Vec<Transport>,
    /// Origins allowed by CORS; `"*"` allows any; absent sends no CORS headers.
    pub cors_origins: Option<Vec<String>>,
    /// How long one webhook call may take.
    #[serde(default = "default_webhook_timeout", with = "duration_serde")]
    pub webhook_timeout: Duration,
    /// How long a webhook that must arrive (`disconnect`, `close`, events of `async` routes) is retried after its
    /// first attempt while the backend is unreachable or answers 408, 429 or 5xx; then it is given up.
    #[serde(default = "default_webhook_retry_window", with = "duration_serde")]
    pub webhook_retry_window: Duration,
    /// Webhooks of this endpoint waiting for a retry at once; one that fails while this many wait is given up.
    #[serde(default = "default_max_retrying_hooks")]
    pub max_retrying_hooks: usize,
    /// Which lifecycle webhooks are sent.
    #[serde(default)]
    pub hooks: HookSwitches,
    /// Packets waiting for a slow client, per session; past this the session is closed (`transport error`).
    #[serde(default = "default_max_buffered_packets")]
    pub max_buffered_packets: usize,
    /// Webhooks waiting per session; past this iogate stops reading from that client until the backend catches up.
    #[serde(default = "default_max_pending_hooks")]
    pub max_pending_hooks: usize,
    /// Bytes queued for one session that its client has not taken yet (the encoded packets, text and binary, a
    /// WebSocket's unwritten frames included). A packet that would take the total past this closes the session
    /// (`transport error`) instead of growing it; so does a single packet bigger than this. The same number bounds
    /// the bytes of webhooks waiting per socket (engine.io: per session; past it reading pauses, as with
    /// `max_pending_hooks`) and of a binary packet's attachments being reassembled.
    #[serde(default = "default_max_buffer")]
    pub max_buffer: usize,
    /// Longest namespace name (bytes) a client may CONNECT to; a longer one is refused ("Invalid namespace")
    /// before any matching or webhook, and the refusal carries the name cut to this length, never the whole of it.
    #[serde(default = "default_max_namespace_length")]
    pub max_namespace_length: usize,
    /// Optional per-event overrides, first match wins.
    #[serde(default)]
    pub route: Vec<RouteConfig>,
    /// Connection state recovery (socket.io endpoints): a client that drops for a moment comes back with its
    /// socket id, rooms, data and the events it missed. Absent: off.
    pub recovery: Option<RecoveryConfig>,
}

impl EndpointConfig {
    /// An endpoint at `path` speaking `protocol` and relaying to `webhook`, every other key at the default a file
    /// that leaves it out gets (for configs built in code).
    pub fn new(path: ResourcePath, protocol: Protocol, webhook: WebhookUrl) -> Self {
        Self {
            path,
            protocol,
            webhook,
            secret: None,
            namespaces: default_namespaces(),
            ping_interval: default_ping_interval(),
            ping_timeout: default_ping_timeout(),
            connect_timeout: default_connect_timeout(),
            upgrade_timeout: default_upgrade_timeout(),
            poll_coalesce: default_poll_coalesce(),
            max_payload: default_max_payload(),
            eio3: true,
            socketio09: true,
            resource: None,
            transports: default_transports(),
            cors_origins: None,
            webhook_timeout: default_webhook_timeout(),
            webhook_retry_window: default_webhook_retry_window(),
            max_retrying_hooks: default_max_retrying_hooks(),
            hooks: HookSwitches::default(),
            max_buffered_packets: default_max_buffered_packets(),
            max_pending_hooks: default_max_pending_hooks(),
            max_buffer: default_max_buffer(),
            max_namespace_length: default_max_namespace_length(),
            route: Vec::new(),
            recovery: None,
        }
    }
}

/// The values a file's `recovery = {}` gets.
impl Default for RecoveryConfig {
    fn default() -> Self {
        Self {
            max_disconnection: default_max_disconnection(),
            skip_connect_hook: false,
            max_buffer: default_recovery_max_buffer(),
            offsets: OffsetsMode::default(),
        }
    }
}

/// `recovery = { max_disconnection = "2m", skip_connect_hook = false, max_buffer = 1048576, offsets = "marked" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryConfig {
    /// How long a dropped socket is kept for its client to come back; then its `disconnect` hook is sent.
    #[serde(default = "default_max_disconnection", with = "duration_serde")]
    pub max_disconnection: Duration,
    /// Accept a recovered socket without a `connect` hook.
    #[serde(default)]
    pub skip_connect_hook: bool,
    /// Bytes of sent events kept per socket for a replay; the oldest are dropped first, and a client whose
    /// offset was dropped is not recovered.
    #[serde(default = "default_recovery_max_buffer")]
    pub max_buffer: usize,
    /// Which sockets get offsets appended to their events (and so can be recovered).
    #[serde(default)]
    pub offsets: OffsetsMode,
}

/// `recovery.offsets`: which Socket.IO v5 sockets get an offset as the last argument of their events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum OffsetsMode {
    /// Sockets whose CONNECT carries a `pid` (a socket.io-client 4.6+ reconnecting), and every socket of a
    /// connection whose handshake asked with the query `recovery=1`.
    #[default]
    #[serde(rename = "marked")]
    Marked,
    /// Every Socket.IO v5 socket, as a Node server does.
    #[serde(rename = "always")]
    Always,
}

/// How a routed event webhook is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    /// The response is awaited and acted on.
    Sync,
    /// Fire and retry; the response is ignored.
    Async,
}

/// `[[endpoint.route]]`: sends matching events elsewhere or asynchronously.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Namespace name or glob this route applies to; absent = every namespace.
    pub namespace: Option<String>,
    /// Event name glob this route applies to; absent = every event.
    pub event: Option<String>,
    /// The webhook URL for matching events; absent = the endpoint's.
    pub webhook: Option<WebhookUrl>,
    /// `"sync"` (default) or `"async"`.
    #[serde(default = "default_mode")]
    pub mode: RouteMode,
}

mod duration_serde {
    pub use super::super::duration::deserialize;
}

mod resource_path_serde {
    pub use super::super::resource_path::{deserialize_endpoint, deserialize_sio09_resource};
}

fn yes() -> bool {
    true
}
fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}
fn default_api_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8081))
}
fn default_request_head_timeout() -> Duration {
    Duration::from_secs(30)
}
fn default_shutdown_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_max_request_head() -> usize {
    32 * 1024
}
fn default_body_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_log_level() -> String {
    "info".to_string()
}
fn default_protocol() -> Protocol {
    Protocol::SocketIo
}
fn default_namespaces() -> Vec<String> {
    vec!["/".to_string()]
}
fn default_ping_interval() -> Duration {
    Duration::from_secs(25)
}
fn default_ping_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_max_disconnection() -> Duration {
    Duration::from_secs(120)
}
fn default_recovery_max_buffer() -> usize {
    1_048_576
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(45)
}
fn default_upgrade_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_poll_coalesce() -> Duration {
    Duration::from_millis(1)
}
fn default_max_payload() -> u64 {
    1_000_000
}
fn default_transports() -> Vec<Transport> {
    vec![Transport::Polling, Transport::Websocket]
}
fn default_webhook_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_webhook_retry_window() -> Duration {
    Duration::from_secs(300)
}
fn default_max_retrying_hooks() -> usize {
    10_000
}
fn default_max_buffered_packets() -> usize {
    10_000
}
fn default_max_pending_hooks() -> usize {
    256
}
fn default_max_buffer() -> usize {
    1_048_576
}
fn default_max_namespace_length() -> usize {
    256
}
fn default_mode() -> RouteMode {
    RouteMode::Sync
}
