//! iogate: serves Engine.IO / Socket.IO clients and relays their sessions to any HTTP backend over signed webhooks.

pub mod api;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod engineio;
#[doc(hidden)]
pub mod fuzzing;
pub mod gateway;
pub mod glob;
pub mod healthcheck;
pub mod log_color;
pub mod log_escape;
pub mod metrics;
pub mod relay;
pub mod server;
pub mod shutdown;
pub mod socketio;
pub mod startup_lines;
pub mod status;
pub mod webhook_stats;
