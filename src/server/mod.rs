//! The HTTP side: listeners, routing by path, CORS, health, and graceful shutdown.

mod app;
pub mod cors;
mod endpoint;
mod listener;
pub mod router;

pub use app::{App, Endpoint};
pub use endpoint::Service;
pub use listener::serve;

use crate::config::Config;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A running gateway: its bound address and the handle that stops it.
pub struct Running {
    /// The address the public listener is bound to.
    pub address: SocketAddr,
    /// The application.
    pub app: std::sync::Arc<App>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Graceful shutdown: stop accepting, close sessions, wait for their last webhooks up to `limit`.
    pub async fn shutdown(self, limit: std::time::Duration) -> bool {
        let _ = self.stop.send(true);
        let delivered = self.app.drain(limit).await;
        let _ = self.task.await;
        delivered
    }
}

/// Binds the public listener and starts serving `config`.
pub async fn start(config: &Config) -> Result<Running, String> {
    let app = App::build(config)?;
    let listener = TcpListener::bind(config.server.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(serve(listener, app.clone(), stopped));
    Ok(Running {
        address,
        app,
        stop,
        task,
    })
}
