//! The HTTP side: the front door ([`App`]: trusted proxies, IIS, routing each request once, CORS, origins, limits,
//! draining), health probes, and the listeners.

pub mod answer;
mod app;
pub mod cors;
pub mod endpoint;
pub mod forwarded;
pub mod health;
pub mod iis;
pub mod limits;
mod listener;
pub mod origin;
pub mod router;
#[cfg(test)]
mod upgrade_tests;

pub use app::{App, Endpoint, EndpointHandle};
pub use endpoint::Service;
pub use listener::{HttpHandler, serve};
