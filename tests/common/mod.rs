//! Shared test harness: a real webhook backend, an in-process gateway, a raw Engine.IO client, and a runner
//! for the real-client scripts of `tests/clients/`.
#![allow(dead_code, unused_imports)]

pub mod api;
pub mod backend;
pub mod browser;
pub mod eio;
pub mod gateway;
pub mod node;
pub mod python;
pub mod python4;
pub mod redis_server;
pub mod sio;
pub mod sio09;
pub mod sio_backend;

pub use backend::{Backend, Hook, Reply};
pub use gateway::Gateway;
