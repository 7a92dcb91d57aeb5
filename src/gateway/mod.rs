//! The composition root: builds every part of a running gateway from its config and wires them together (the
//! metrics registry, the webhook client, the node's place in a cluster, the endpoints, the front door, the push
//! API and their listeners). No
//! other module builds another layer's parts.

mod departures;
mod endpoints;

use crate::api::Api;
use crate::cluster::Cluster;
use crate::cluster::cross_node::CrossNode;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::relay::HookClient;
use crate::server::iis::IisSettings;
use crate::server::limits::Gate;
use crate::server::{FrontDoor, HttpHandler, serve};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A running gateway: its bound addresses and the handle that stops it.
pub struct Running {
    /// The address the public listener is bound to.
    pub address: SocketAddr,
    /// The address the push API listener is bound to, when `[api]` is configured.
    pub api_address: Option<SocketAddr>,
    /// The application.
    pub app: Arc<FrontDoor>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Graceful shutdown: stop accepting, close sessions, wait for their last webhooks up to `limit`; a cluster
    /// node then leaves the cluster (its session registry and record deleted: no survivor reports its sessions).
    pub async fn shutdown(self, limit: Duration) -> bool {
        let _ = self.stop.send(true);
        let delivered = self.app.drain(limit).await;
        if let Some(cluster) = self.app.cluster() {
            cluster.leave().await;
        }
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
        IisSettings::from_env(&|name| std::env::var(name).ok()),
    )
    .await
}

/// Binds the listeners and starts serving `config` with the given IIS settings.
pub async fn start_with(config: &Config, iis: IisSettings) -> Result<Running, String> {
    start_wrapped(config, iis, |app| app).await
}

/// Binds the listeners and starts serving `config`; the public listener is served by what `front` makes of the
/// front door (a handler that answers some paths itself and passes every other request on).
pub async fn start_wrapped<H: HttpHandler>(
    config: &Config,
    iis: IisSettings,
    front: impl FnOnce(Arc<FrontDoor>) -> Arc<H>,
) -> Result<Running, String> {
    let (listener, address) = bind(config.server.listen, "").await?;
    let cluster = match &config.cluster {
        Some(cluster) => Some(Cluster::join(cluster, address).await?),
        None => None,
    };
    let app = build_app(config, iis, cluster)?;
    departures::wire(&app);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![tokio::spawn(serve(
        listener,
        front(app.clone()),
        stopped.clone(),
    ))];
    let mut api_address = None;
    if let Some(api) = &config.api {
        let (listener, address) = bind(api.listen, " (api)").await?;
        api_address = Some(address);
        let gate = Gate::unlimited(&config.server, app.metrics().clone());
        let handler = Arc::new(Api::new(api.token.expose().to_string(), app.clone(), gate));
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

/// The front door over every endpoint of `config`; must run inside a Tokio runtime (engines start their timers).
fn build_app(
    config: &Config,
    iis: IisSettings,
    cluster: Option<Arc<Cluster>>,
) -> Result<Arc<FrontDoor>, String> {
    let hooks = HookClient::new()?;
    let metrics = Metrics::with_cluster(cluster.as_ref().map(|cluster| cluster.metrics()));
    let gate = Gate::public(&config.server, metrics.clone());
    let cross_node = cluster
        .as_ref()
        .map(|cluster| CrossNode::start(cluster.clone(), &metrics));
    let max_parked = config
        .server
        .max_sessions
        .unwrap_or_else(|| gate.max_connections());
    let endpoints = config
        .endpoints
        .iter()
        .map(|endpoint| {
            endpoints::build_endpoint(
                endpoint,
                &hooks,
                &metrics,
                cluster.as_ref(),
                cross_node.as_ref(),
                max_parked,
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(FrontDoor::new(
        &config.server,
        iis,
        endpoints,
        hooks,
        metrics,
        gate,
        cluster,
    ))
}

/// A listener on `address`, and the address it is bound to; `role` names it in errors.
async fn bind(address: SocketAddr, role: &str) -> Result<(TcpListener, SocketAddr), String> {
    let listener = TcpListener::bind(address)
        .await
        .map_err(|e| format!("cannot listen on {address}{role}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    Ok((listener, bound))
}
