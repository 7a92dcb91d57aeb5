//! Shared test harness: a real webhook backend, an in-process gateway, and a raw Engine.IO client.
#![allow(dead_code, unused_imports)]

pub mod backend;
pub mod eio;
pub mod gateway;

pub use backend::{Backend, Hook, Reply};
pub use gateway::Gateway;
