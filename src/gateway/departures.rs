//! What ties the cluster's session registry and departure handling to the endpoints: the live sessions a registry
//! rewrite reads, and the relays that send a departed node's hooks.

use crate::cluster::{DepartedSessions, Entry};
use crate::engineio::CloseReason;
use crate::server::{EndpointHandle, FrontDoor};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

/// Every live Socket.IO socket and `engine.io` session of `app`, as registry entries.
pub(super) fn live_sessions(app: &FrontDoor) -> Vec<Entry> {
    let mut entries = Vec::new();
    for endpoint in app.endpoints() {
        match &endpoint.handle {
            EndpointHandle::SocketIo { server, .. } => {
                for namespace in server.namespaces() {
                    for socket in namespace.sockets() {
                        entries.push(Entry {
                            endpoint: endpoint.path.clone(),
                            namespace: Some(namespace.name().to_string()),
                            sid: socket.id().as_str().to_string(),
                            data: socket.data(),
                            parked: socket.parked_for().map(|r| r.as_str().to_string()),
                        });
                    }
                }
            }
            EndpointHandle::EngineIo { engine } => {
                for session in engine.sessions() {
                    entries.push(Entry {
                        endpoint: endpoint.path.clone(),
                        namespace: None,
                        sid: session.id().as_str().to_string(),
                        data: None,
                        parked: None,
                    });
                }
            }
        }
    }
    entries
}

/// Sends a departed node's hooks through this node's endpoint of the same path, with its webhook, secret,
/// retries and limits.
pub(super) struct ThroughRelays(pub(super) Weak<FrontDoor>);

impl DepartedSessions for ThroughRelays {
    fn gone(&self, entry: Entry) -> Pin<Box<dyn Future<Output = bool> + Send>> {
        let Some(app) = self.0.upgrade() else {
            return Box::pin(async { false });
        };
        let endpoint = app.endpoints().iter().find(|e| e.path == entry.endpoint);
        match (endpoint.map(|e| &e.handle), entry.namespace) {
            (Some(EndpointHandle::SocketIo { server, .. }), Some(namespace)) => Box::pin(
                server
                    .app()
                    .departed_disconnect(namespace, entry.sid, entry.data, entry.parked),
            ),
            (Some(EndpointHandle::EngineIo { engine }), None) => {
                Box::pin(engine.handler().departed_close(entry.sid))
            }
            _ => {
                tracing::warn!(
                    endpoint = %crate::log_escape::Escaped(&entry.endpoint),
                    "cluster: a departed node's session belongs to an endpoint this node does not serve; no hook sent"
                );
                Box::pin(async { false })
            }
        }
    }
}

/// Wires `app`'s endpoints to its cluster, when it has one: the registry's rewrites read the live sessions, and
/// departed nodes' hooks go through the relays.
pub(super) fn wire(app: &Arc<FrontDoor>) {
    let Some(cluster) = app.cluster() else {
        return;
    };
    let weak = Arc::downgrade(app);
    let snapshot = weak.clone();
    cluster.registry().set_snapshot(Arc::new(move || {
        snapshot
            .upgrade()
            .map(|app| live_sessions(&app))
            .unwrap_or_default()
    }));
    let declared = weak.clone();
    cluster.on_declared_departed(Arc::new(move || {
        if let Some(app) = declared.upgrade() {
            close_reported_sessions(&app);
        }
    }));
    cluster.handle_departures(Arc::new(ThroughRelays(weak)));
}

/// Closes every session of `app` without its disconnect or close hooks, and ends its parked sockets likewise:
/// the survivor of this node's declared departure reported them gone already. Their clients reconnect (a client
/// that comes back for a parked socket gets a new one).
fn close_reported_sessions(app: &FrontDoor) {
    let mut closed = 0usize;
    for endpoint in app.endpoints() {
        match &endpoint.handle {
            EndpointHandle::SocketIo { engine, server } => {
                for namespace in server.namespaces() {
                    for socket in namespace.sockets() {
                        socket.state().silence();
                    }
                }
                // Parked sockets were reported too (the registry lists them): they end now, silenced, rather
                // than be recovered as if nothing had been reported.
                server.ops().end_parked_sockets();
                closed += engine.session_count();
                engine.close_all(CloseReason::ForcedClose);
            }
            EndpointHandle::EngineIo { engine } => {
                for session in engine.sessions() {
                    session.state().silence();
                }
                closed += engine.session_count();
                engine.close_all(CloseReason::ForcedClose);
            }
        }
    }
    tracing::warn!(
        sessions = closed,
        "cluster: closed this node's sessions without hooks (a survivor reported them gone); their clients reconnect"
    );
}
