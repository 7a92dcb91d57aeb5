//! `iogate demo`: a gateway that works on its own. A built-in backend (a chat and an echo) answers the webhooks on
//! a loopback port, reached through the real webhook path with a signing secret made for the run; the push API
//! listens on another loopback port with a token made for the run; and the public listener serves a chat page at
//! `/` beside the Socket.IO and Engine.IO endpoints.

mod announce;
mod backend;
mod page;
mod settings;

use crate::gateway;
use crate::server::iis::IisSettings;
use announce::Announcement;
use backend::Backend;
use backend::push::Push;
use settings::{DemoSettings, generate_secret};
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

/// Runs the demo on `listen` until `stop` completes (or the gateway asks to stop), then shuts it down gracefully.
pub async fn run(listen: SocketAddr, stop: impl Future<Output = ()>) -> Result<(), String> {
    let secret = generate_secret();
    let token = generate_secret();
    let push = Arc::new(Push::new(token.clone())?);
    let backend = Backend::start(secret.clone(), push.clone()).await?;
    let webhook = backend.webhook_url();
    let config = DemoSettings {
        listen,
        webhook: &webhook,
        secret: &secret,
        token: &token,
    }
    .config()?;
    let running = gateway::start_wrapped(
        &config,
        IisSettings::from_env(&|_| None),
        page::PageDoor::new,
    )
    .await?;
    let api = running
        .api_address
        .ok_or("the demo's API listener did not start")?;
    push.listening_at(api);
    tracing::info!(backend = %webhook, "demo backend listening");
    let announcement = Announcement {
        public: running.address,
        api,
        token: &token,
    };
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(announcement.text().as_bytes());
    let _ = stdout.flush();
    drop(stdout);
    tokio::select! {
        _ = stop => {}
        _ = running.app.shutdown_requested() => {}
    }
    running.shutdown(config.server.shutdown_timeout).await;
    drop(backend);
    Ok(())
}
