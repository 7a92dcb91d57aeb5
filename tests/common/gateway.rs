//! Runs iogate in-process on a loopback port for a test.

use iogate::config::{Config, parse_str};
use iogate::gateway::{Running, start};
use std::net::{Ipv4Addr, SocketAddr};

/// A running gateway.
pub struct Gateway {
    /// The public listener's address.
    pub address: SocketAddr,
    /// The push API's address, when the config has `[api]`.
    pub api_address: Option<SocketAddr>,
    /// The running server (for shutdown and inspection).
    pub running: Running,
}

impl Gateway {
    /// Starts iogate from TOML text; `listen` is forced to an ephemeral loopback port.
    pub async fn start(toml: &str) -> Self {
        Self::start_on(toml, Ipv4Addr::LOCALHOST).await
    }

    /// The same, listening on `ip` (any address of `127.0.0.0/8` is the loopback interface's on Linux).
    pub async fn start_on(toml: &str, ip: Ipv4Addr) -> Self {
        let mut config: Config = parse_str("test.toml", toml, &|name| std::env::var(name).ok())
            .expect("valid test config");
        config.server.listen = SocketAddr::from((ip, 0));
        if let Some(api) = config.api.as_mut() {
            api.listen = "127.0.0.1:0".parse().unwrap();
        }
        let running = start(&config).await.expect("gateway starts");
        Self {
            address: running.address,
            api_address: running.api_address,
            running,
        }
    }

    /// One engine.io endpoint at `/engine.io` relaying to `webhook`, with `extra` TOML lines appended to it.
    pub async fn engine_io(webhook: &str, extra: &str) -> Self {
        Self::start(&format!(
            "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{webhook}\"\n{extra}\n"
        ))
        .await
    }

    /// `http://API_ADDR{path}` (panics without `[api]`).
    pub fn api_url(&self, path_and_query: &str) -> String {
        format!(
            "http://{}{}",
            self.api_address.expect("the config has [api]"),
            path_and_query
        )
    }

    /// `http://ADDR{path}`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{}", self.address, path_and_query)
    }

    /// `ws://ADDR{path}`.
    pub fn ws_url(&self, path_and_query: &str) -> String {
        format!("ws://{}{}", self.address, path_and_query)
    }

    /// Open sessions.
    pub fn sessions(&self) -> usize {
        self.running.app.session_count()
    }
}
