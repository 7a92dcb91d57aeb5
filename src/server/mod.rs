//! The HTTP side: the front door ([`FrontDoor`]: trusted proxies, IIS, routing each request once, CORS, origins, limits,
//! draining), health probes, and the listeners.

pub mod answer;
pub mod cors;
pub mod endpoint;
pub mod forwarded;
mod front_door;
pub mod health;
pub mod hop;
pub mod iis;
pub mod limits;
mod listener;
pub mod origin;
pub mod router;
#[cfg(test)]
mod upgrade_tests;

pub use endpoint::Service;
pub use front_door::{Endpoint, EndpointHandle, FrontDoor};
pub use listener::{HttpHandler, serve};
