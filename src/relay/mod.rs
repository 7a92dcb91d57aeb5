//! Webhooks: signing, delivery with retries, per-session ordering, and the relays that turn protocol events into
//! hooks and hook replies into actions.

pub mod binary;
mod engine_hooks;
pub mod hook_chunked;
mod hook_conn;
mod hook_http1;
mod hook_pool;
mod hook_request;
pub mod hook_response;
pub mod queue;
mod reply;
pub mod retry;
pub mod signing;
mod socket_bodies;
mod socket_hooks;
mod socket_reply;
pub mod webhook;

pub use engine_hooks::{EngineRelay, EngineRelayConfig, EngineSessionState};
pub use hook_conn::MAX_BODY_BYTES;
pub use hook_pool::{IDLE_TIMEOUT, MAX_IDLE_PER_BACKEND};
pub use retry::RetryPolicy;
pub use socket_hooks::{Route, SocketHookState, SocketRelay, SocketRelayConfig};
pub use webhook::{Delivery, HookClient, HookError, HookTarget};
