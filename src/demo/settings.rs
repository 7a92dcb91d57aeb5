//! The demo's configuration, built in code with the same types a config file gives: a Socket.IO endpoint (with
//! connection state recovery) and an Engine.IO endpoint relaying to the built-in backend with a signing secret,
//! and the push API on a loopback port of its own.

use crate::config::{
    ApiConfig, Config, EndpointConfig, LogConfig, Protocol, RecoveryConfig, ResourcePath, Secrets,
    ServerConfig, WebhookUrl, validate_built,
};
use std::net::SocketAddr;
use std::time::Duration;

/// The Socket.IO endpoint the chat page connects to.
pub const CHAT_PATH: &str = "/socket.io";

/// The Engine.IO endpoint, echoing like the echo example.
pub const ECHO_PATH: &str = "/engine.io";

/// What the demo's config is made of.
pub struct DemoSettings<'a> {
    /// The public listener.
    pub listen: SocketAddr,
    /// The backend's webhook URL.
    pub webhook: &'a str,
    /// The secret webhooks are signed with.
    pub secret: &'a str,
    /// The push API's token.
    pub token: &'a str,
}

impl DemoSettings<'_> {
    /// The config, validated as a file's would be.
    pub fn config(&self) -> Result<Config, String> {
        let webhook = WebhookUrl::parse(self.webhook)?;
        let mut chat = EndpointConfig::new(
            ResourcePath::endpoint(CHAT_PATH)?,
            Protocol::SocketIo,
            webhook.clone(),
        );
        chat.recovery = Some(RecoveryConfig::default());
        // A tab that went away without closing (a laptop put to sleep) shows in the webhook log within 10 s.
        chat.ping_interval = Duration::from_secs(5);
        chat.ping_timeout = Duration::from_secs(5);
        let mut echo = EndpointConfig::new(
            ResourcePath::endpoint(ECHO_PATH)?,
            Protocol::EngineIo,
            webhook,
        );
        for endpoint in [&mut chat, &mut echo] {
            endpoint.secret = Some(Secrets::One(self.secret.into()));
        }
        let config = Config {
            server: ServerConfig {
                listen: self.listen,
                // The backend lives in the same process: a Ctrl-C should not wait long for it.
                shutdown_timeout: Duration::from_secs(3),
                ..ServerConfig::default()
            },
            api: Some(ApiConfig {
                listen: SocketAddr::from(([127, 0, 0, 1], 0)),
                token: self.token.into(),
            }),
            log: LogConfig::default(),
            endpoints: vec![chat, echo],
            cluster: None,
        };
        validate_built("iogate demo", &config).map_err(|e| e.to_string())?;
        Ok(config)
    }
}

/// A fresh random value for a secret or token: 32 hex digits.
pub fn generate_secret() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_config_is_valid_and_signs_every_webhook() {
        let config = DemoSettings {
            listen: "127.0.0.1:8080".parse().unwrap(),
            webhook: "http://127.0.0.1:5000/iogate",
            secret: "s",
            token: "t",
        }
        .config()
        .unwrap();
        assert_eq!(config.endpoints.len(), 2);
        assert!(config.endpoints.iter().all(|e| e.secret.is_some()));
        assert!(config.endpoints[0].recovery.is_some());
        assert!(config.api.unwrap().listen.ip().is_loopback());
    }

    #[test]
    fn generated_secrets_differ() {
        let first = generate_secret();
        assert_eq!(first.len(), 32);
        assert_ne!(first, generate_secret());
    }
}
