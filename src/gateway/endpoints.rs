//! Building endpoints from their config: the Engine.IO server, the Socket.IO server and the webhook relay.

use crate::cluster::Cluster;
use crate::cluster::cross_node::{CrossNode, EndpointAdapter};
use crate::config::{EndpointConfig, Protocol, Transport};
use crate::engineio::{Engine, EngineConfig, SessionSettings};
use crate::metrics::Metrics;
use crate::relay::queue::Limits;
use crate::relay::{
    EngineRelay, EngineRelayConfig, HookClient, RetryPolicy, Route, SocketRelay, SocketRelayConfig,
};
use crate::server::cors::Cors;
use crate::server::{Endpoint, EndpointHandle};
use crate::socketio::ops::InProcess;
use crate::socketio::recovery::RecoverySettings;
use crate::socketio::{SioConfig, SioHandler, SocketIo};
use std::sync::Arc;

/// Builds one endpoint; must run inside a Tokio runtime. At most `max_parked` of its sockets are parked for
/// recovery at once (the server's `max_sessions`: a parked socket stands for a session that may come back).
pub(super) fn build_endpoint(
    config: &EndpointConfig,
    hooks: &HookClient,
    metrics: &Arc<Metrics>,
    cluster: Option<&Arc<Cluster>>,
    cross_node: Option<&Arc<CrossNode>>,
    max_parked: usize,
) -> Result<Endpoint, String> {
    let path = config.path.as_str().to_string();
    let endpoint_metrics = metrics.endpoint(&path);
    let engine_config = EngineConfig {
        session: SessionSettings {
            ping_interval: config.ping_interval,
            ping_timeout: config.ping_timeout,
            max_buffered_packets: config.max_buffered_packets,
            max_buffer: config.max_buffer,
        },
        upgrade_timeout: config.upgrade_timeout,
        max_payload: config.max_payload,
        poll_coalesce: config.poll_coalesce,
        polling: config.transports.contains(&Transport::Polling),
        websocket: config.transports.contains(&Transport::Websocket),
        eio3: config.eio3,
        metrics: endpoint_metrics.clone(),
        node_tag: cluster.map(|cluster| cluster.current_tag()),
    };
    let target = hooks
        .target(
            config.webhook.clone(),
            config.secret.clone().unwrap_or_default(),
            config.webhook_timeout,
            endpoint_metrics.hooks.clone(),
        )
        .map_err(|e| format!("endpoint {path}: webhook: {e}"))?;
    // What may wait per session for the backend, and how deliveries are retried: the same for both relays.
    let pending = Limits {
        jobs: config.max_pending_hooks,
        bytes: config.max_buffer,
    };
    let retry = RetryPolicy::for_endpoint(config);
    let handle = match config.protocol {
        Protocol::EngineIo => {
            let relay = EngineRelay::new(
                EngineRelayConfig {
                    endpoint: path.clone(),
                    target,
                    open_hook: config.hooks.connect,
                    close_hook: config.hooks.disconnect,
                    pending,
                    retry,
                    metrics: endpoint_metrics.clone(),
                    registry: cluster.map(|cluster| cluster.registry().clone()),
                },
                hooks.clone(),
            );
            EndpointHandle::EngineIo {
                engine: Engine::new(engine_config, relay),
            }
        }
        Protocol::SocketIo => {
            let routes = config
                .route
                .iter()
                .map(|route| {
                    let target = match &route.webhook {
                        Some(url) => hooks
                            .target(
                                url.clone(),
                                target.secrets.clone(),
                                target.timeout,
                                target.metrics.clone(),
                            )
                            .map_err(|e| format!("endpoint {path}: route webhook: {e}"))?,
                        None => target.clone(),
                    };
                    Ok(Route {
                        namespace: route.namespace.clone(),
                        event: route.event.clone(),
                        target,
                        mode: route.mode,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?;
            let relay = SocketRelay::new(
                SocketRelayConfig {
                    endpoint: path.clone(),
                    target,
                    routes,
                    connect_hook: config.hooks.connect,
                    disconnect_hook: config.hooks.disconnect,
                    pending,
                    retry,
                    metrics: endpoint_metrics.clone(),
                    registry: cluster.map(|cluster| cluster.registry().clone()),
                },
                hooks.clone(),
            );
            let sio_config = SioConfig {
                namespaces: config.namespaces.clone(),
                connect_timeout: config.connect_timeout,
                max_namespace_length: config.max_namespace_length,
                max_attachment_bytes: config.max_buffer,
                metrics: endpoint_metrics.clone(),
                recovery: config.recovery.as_ref().map(|recovery| RecoverySettings {
                    window: recovery.max_disconnection,
                    skip_connect_hook: recovery.skip_connect_hook,
                    max_buffer: recovery.max_buffer,
                    offsets: recovery.offsets,
                    max_parked,
                    metrics: metrics.recovery(&path),
                }),
            };
            let adapter = match cross_node {
                Some(cross_node) => EndpointAdapter::Cluster(cross_node.adapter(&path)),
                None => EndpointAdapter::InProcess(InProcess),
            };
            let server = SocketIo::with_adapter(sio_config, relay, adapter);
            if let Some(cross_node) = cross_node {
                cross_node.serve(&path, server.ops());
            }
            let engine = Engine::new(engine_config, SioHandler(server.ops()));
            EndpointHandle::SocketIo { engine, server }
        }
    };
    Ok(Endpoint::new(
        path,
        config.sio09_base(),
        Cors::from_config(config.cors_origins.as_deref()),
        handle,
    ))
}
