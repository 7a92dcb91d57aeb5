//! The HTTP side: listeners, routing by path, CORS, health, and graceful shutdown.

pub mod answer;
mod app;
mod build;
pub mod cors;
pub mod endpoint;
pub mod forwarded;
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

use crate::config::Config;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running gateway: its bound addresses and the handle that stops it.
pub struct Running {
    /// The address the public listener is bound to.
    pub address: SocketAddr,
    /// The address the push API listener is bound to, when `[api]` is configured.
    pub api_address: Option<SocketAddr>,
    /// The application.
    pub app: std::sync::Arc<App>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Graceful shutdown: stop accepting, close sessions, wait for their last webhooks up to `limit`.
    pub async fn shutdown(self, limit: std::time::Duration) -> bool {
        let _ = self.stop.send(true);
        let delivered = self.app.drain(limit).await;
        for task in self.tasks {
            let _ = task.await;
        }
        delivered
    }
}

/// Binds the listeners and starts serving `config`, with IIS settings from the process environment.
pub async fn start(config: &Config) -> Result<Running, String> {
    start_with(
        config,
        iis::IisSettings::from_env(&|name| std::env::var(name).ok()),
    )
    .await
}

/// Binds the listeners and starts serving `config` with the given IIS settings.
pub async fn start_with(config: &Config, iis: iis::IisSettings) -> Result<Running, String> {
    let app = App::build(config, iis)?;
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(serve(listener, app.clone(), stopped.clone()))];
    let mut api_address = None;
    if let Some(api) = &config.api {
        let listener = TcpListener::bind(api.listen)
            .await
            .map_err(|e| format!("cannot listen on {} (api): {e}", api.listen))?;
        api_address = Some(listener.local_addr().map_err(|e| e.to_string())?);
        let gate = limits::Gate::unlimited(&config.server, app.metrics().clone());
        let token = api.token.expose().to_string();
        let handler = std::sync::Arc::new(crate::api::Api::new(token, app.clone(), gate));
        tasks.push(tokio::spawn(serve(listener, handler, stopped)));
    }
    Ok(Running {
        address,
        api_address,
        app,
        stop,
        tasks,
    })
}
