//! iogate's benchmarks: an Engine.IO v4 / Socket.IO v5 load generator (long-polling and WebSocket), the scenarios,
//! the processes they measure, and the report. `bench-loadgen run` drives everything; `bench/run.sh` wraps it.

pub mod client;
pub mod cluster;
pub mod floor;
pub mod forward_cost;
pub mod http1;
pub mod net;
pub mod procfs;
pub mod proto;
pub mod redis;
pub mod report;
pub mod runner;
pub mod scenario;
pub mod servers;
pub mod stats;
pub mod ws_frame;

/// Errors are reported, not matched on.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
/// A result with [`Error`].
pub type Res<T> = Result<T, Error>;
