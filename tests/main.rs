//! Every integration test of iogate, in one test binary: each file below `tests/` is one module (a concern: a
//! protocol, a client generation, a deployment, an attack), sharing the harness in `tests/common/`. One binary
//! instead of one per file: the harness and the library are compiled and linked once.
//!
//! Run one file's tests with its module name as a filter: `cargo test --test integration hostile_clients::`.

mod common;

mod api;
mod api_errors;
mod backend_examples;
mod backend_outage;
mod bad_input;
mod behind_iis;
mod behind_nginx;
mod browser_cdp;
mod browser_demo;
mod browser_socketio09;
mod browser_status;
mod cli;
mod cluster;
mod cluster_bounds;
mod cluster_departure;
mod cluster_harness;
mod cluster_hop;
mod cluster_ops;
mod cluster_recovery;
mod codec_fuzz;
mod config_samples;
mod demo;
mod engineio_polling;
mod engineio_v3;
mod engineio_websocket;
mod fuzz_corpus;
mod hostile_clients;
mod legacy09;
mod logging;
mod metrics;
mod namespace_length;
mod namespace_table;
mod own_http1_path;
mod poll_coalesce;
mod real_api_clients;
mod real_engineio_client;
mod real_python4_client;
mod real_python_client;
mod real_socketio09_client;
mod real_socketio2_client;
mod real_socketio_client;
mod real_socketio_recovery;
mod session_bounds;
mod slow_clients;
mod socketio_bad_input;
mod socketio_connect;
mod socketio_events;
mod socketio_recovery_bounds;
mod socketio_rooms;
mod startup_output;
mod status_page;
mod v4_early_packets;
mod webhook_http1;
mod webhooks;
mod websocket_frames;
