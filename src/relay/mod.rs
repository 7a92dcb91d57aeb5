//! Webhooks: signing, delivery with retries, per-session ordering, and the relays that turn protocol events into
//! hooks and hook replies into actions.

pub mod binary;
mod engine_hooks;
pub mod hook_chunked;
pub mod hook_response;
pub mod queue;
mod reply;
pub mod signing;
mod socket_bodies;
mod socket_hooks;
mod socket_reply;
pub mod webhook;

pub use engine_hooks::{EngineRelay, EngineRelayConfig, EngineSessionState};
pub use socket_hooks::{Route, SocketHookState, SocketRelay, SocketRelayConfig};
pub use webhook::{Delivery, HookClient, HookError, HookTarget, RetryPolicy};
