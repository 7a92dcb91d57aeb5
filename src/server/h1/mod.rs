//! The public listener's HTTP/1.1 connections: an own path for bodyless requests that holds no buffer while a
//! long poll waits, and hyper for everything else (bodies, upgrades, anything unusual).

mod conn;
mod fallback;
pub mod head;
pub mod response;
mod watch;

pub use conn::serve_connection;
