//! Configuration: the TOML schema, `${VAR}` expansion, validation with key paths, and loading.

mod cidr;
mod cluster;
mod duration;
mod expand;
mod load;
mod resource_path;
mod schema;
mod secret;
mod validate;
mod webhook_url;

pub use cidr::{Cidr, canonical};
pub use cluster::{ClusterConfig, NodeName, PeerAddress, RedisUrl};
pub use duration::parse as parse_duration;
pub use load::{ConfigError, load_file, parse_str, validate_built};
pub use resource_path::{ResourcePath, normalize_path};
pub use schema::{
    ApiConfig, Config, EndpointConfig, ForwardedHeader, HookSwitches, LogConfig, OffsetsMode,
    Protocol, REQUEST_HEAD_RANGE, RecoveryConfig, RouteConfig, RouteMode, Secrets, ServerConfig,
    Transport,
};
pub use secret::Secret;
pub use webhook_url::WebhookUrl;

#[cfg(test)]
mod messages_tests;
