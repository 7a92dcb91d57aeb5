//! Webhooks: signing, delivery with retries, per-session ordering, and the relays that turn protocol events into
//! hooks and hook replies into actions.

pub mod binary;
mod engine_hooks;
pub mod failure_notice;
mod plain_words;
pub mod queue;
mod reply;
pub mod retry;
pub mod signing;
mod socket_bodies;
mod socket_hooks;
mod socket_reply;
mod started;
pub mod webhook;

pub use engine_hooks::{EngineRelay, EngineRelayConfig, EngineSessionState};
pub use iogate_hook_client::{IDLE_TIMEOUT, MAX_BODY_BYTES, MAX_IDLE_PER_BACKEND};
pub use retry::RetryPolicy;
pub use socket_hooks::{Route, SocketHookState, SocketRelay, SocketRelayConfig};
pub use webhook::{Delivery, HookClient, HookError, HookTarget};
