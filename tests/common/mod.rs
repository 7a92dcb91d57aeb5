//! Shared test harness: a real webhook backend, an in-process gateway, a raw Engine.IO client, a runner for the
//! real-client scripts of `tests/clients/`, and real child processes (nginx, Redis, iogate nodes) for deployments.
#![allow(dead_code, unused_imports)]

pub mod api;
pub mod backend;
pub mod browser;
pub mod cdp;
pub mod cluster;
pub mod cluster_gateway;
pub mod demo;
pub mod eio;
pub mod failure;
pub mod gateway;
pub mod iogate_process;
pub mod member;
pub mod nginx;
pub mod node;
pub mod node_config;
pub mod nodes;
pub mod python;
pub mod python4;
pub mod redis;
pub mod scratch;
pub mod sio;
pub mod sio09;
pub mod sio_backend;

pub use backend::{Backend, Hook, Reply};
pub use gateway::Gateway;
