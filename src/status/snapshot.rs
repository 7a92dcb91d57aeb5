//! One snapshot of what the process keeps, as the status page shows it: sessions by transport and protocol
//! version, sockets per namespace, the largest rooms, the counters behind the per-second rates, the webhook URLs'
//! calls, retries pending, queue overflows and the cluster's nodes. Reading it walks the session tables and the
//! namespaces' rooms once (the sampler shares one snapshot per second between every viewer).

use crate::engineio::{Engine, EngineVersion, Handler};
use crate::metrics::EndpointMetrics;
use crate::server::EndpointHandle;
use crate::server::FrontDoor;
use crate::webhook_stats::UrlCounts;
use serde::Serialize;

/// How many rooms the snapshot lists (the largest).
pub const TOP_ROOMS: usize = 10;
/// How many namespaces the snapshot lists (the most sockets first); the rest are summed in `other_namespaces`.
pub const MAX_NAMESPACES: usize = 50;

/// Sessions by transport and protocol version.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct Sessions {
    /// Every open session.
    pub total: u64,
    /// On long-polling.
    pub polling: u64,
    /// On WebSocket.
    pub websocket: u64,
    /// Engine.IO v3 clients (socket.io-client 1.x/2.x).
    pub eio3: u64,
    /// Engine.IO v4 clients.
    pub eio4: u64,
    /// Socket.IO 0.9 clients.
    pub sio09: u64,
}

impl Sessions {
    fn add(&mut self, other: &Sessions) {
        self.total += other.total;
        self.polling += other.polling;
        self.websocket += other.websocket;
        self.eio3 += other.eio3;
        self.eio4 += other.eio4;
        self.sio09 += other.sio09;
    }
}

/// Counters that only grow; the sampler turns them into rates.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq)]
pub struct Totals {
    /// Sessions opened.
    pub connects: u64,
    /// Sessions closed.
    pub disconnects: u64,
    /// Messages received from clients.
    pub events_in: u64,
    /// Packets queued for clients.
    pub packets_out: u64,
    /// Sessions closed because their outbound queue overflowed.
    pub outbound_overflows: u64,
    /// Times a client was paused because its webhook queue was full.
    pub hook_overflows: u64,
    /// Webhook deliveries given up (retried for the whole window, or past `max_retrying_hooks`).
    pub webhooks_given_up: u64,
}

impl Totals {
    fn add_endpoint(&mut self, metrics: &EndpointMetrics) {
        self.connects += metrics.sessions_opened.get();
        self.disconnects += metrics.sessions_closed.get();
        self.events_in += metrics.packets_in.get();
        self.packets_out += metrics.packets_out.get();
        self.outbound_overflows += metrics.outbound_overflows.get();
        self.hook_overflows += metrics.hook_overflows.get();
        self.webhooks_given_up += metrics.hooks.given_up_total();
    }
}

/// One endpoint.
#[derive(Debug, Serialize)]
pub struct EndpointView {
    /// Its path.
    pub path: String,
    /// `socket.io` or `engine.io`.
    pub protocol: &'static str,
    /// Its sessions.
    pub sessions: Sessions,
    /// Connected Socket.IO sockets.
    pub sockets: i64,
    /// Webhook deliveries waiting for a retry now.
    pub retries_pending: i64,
    /// Bytes queued for its clients that they have not taken yet.
    pub buffered_bytes: i64,
}

/// One namespace of a socket.io endpoint.
#[derive(Debug, Serialize)]
pub struct NamespaceView {
    /// The endpoint's path.
    pub endpoint: String,
    /// The namespace.
    pub name: String,
    /// Its connected sockets on this node.
    pub sockets: usize,
}

/// One room.
#[derive(Debug, Serialize)]
pub struct RoomView {
    /// The endpoint's path.
    pub endpoint: String,
    /// The namespace.
    pub namespace: String,
    /// The room.
    pub room: String,
    /// Its sockets on this node.
    pub sockets: usize,
}

/// Refusals of one reason.
#[derive(Debug, Serialize)]
pub struct Refused {
    /// Why (`max_connections`, `body_timeout`, `cors_origin`, ...: docs/security.md lists them).
    pub reason: &'static str,
    /// How many times since start.
    pub count: u64,
}

/// Everything read at one moment (rates and percentiles are the sampler's).
#[derive(Debug, Serialize)]
pub struct Snapshot {
    /// Sessions over every endpoint.
    pub sessions: Sessions,
    /// Connected Socket.IO sockets over every endpoint.
    pub sockets: i64,
    /// Per endpoint.
    pub endpoints: Vec<EndpointView>,
    /// Namespaces, the most sockets first (at most [`MAX_NAMESPACES`]).
    pub namespaces: Vec<NamespaceView>,
    /// Sockets of the namespaces past [`MAX_NAMESPACES`].
    pub other_namespaces: usize,
    /// The largest rooms (a socket's own room is not listed), at most [`TOP_ROOMS`].
    pub top_rooms: Vec<RoomView>,
    /// Counters that only grow.
    pub totals: Totals,
    /// Webhook deliveries waiting for a retry now, over every endpoint.
    pub retries_pending: i64,
    /// Hook workers running now.
    pub webhook_workers: usize,
    /// `[server] max_sessions`, resolved.
    pub max_sessions: usize,
    /// Whether a shutdown has begun.
    pub draining: bool,
    /// Connections, requests and sessions refused by a limit or a security check, by reason (since start; only
    /// reasons that happened).
    pub refused: Vec<Refused>,
    /// Calls per webhook URL since start (not serialized: the sampler shows windows of it).
    #[serde(skip)]
    pub webhook_urls: Vec<(String, UrlCounts)>,
}

/// Reads everything `app` keeps now.
pub fn read(app: &FrontDoor) -> Snapshot {
    let mut snapshot = Snapshot {
        sessions: Sessions::default(),
        sockets: 0,
        endpoints: Vec::new(),
        namespaces: Vec::new(),
        other_namespaces: 0,
        top_rooms: Vec::new(),
        totals: Totals::default(),
        retries_pending: 0,
        webhook_workers: app.webhook_workers(),
        max_sessions: app.max_sessions(),
        draining: app.is_draining(),
        refused: app
            .metrics()
            .refused_counts()
            .into_iter()
            .map(|(reason, count)| Refused { reason, count })
            .collect(),
        webhook_urls: app.metrics().webhook_urls().counts(),
    };
    for endpoint in app.endpoints() {
        let (protocol, sessions, metrics) = match &endpoint.handle {
            EndpointHandle::SocketIo { engine, server } => {
                for namespace in server.namespaces() {
                    snapshot.namespaces.push(NamespaceView {
                        endpoint: endpoint.path.clone(),
                        name: namespace.name().to_string(),
                        sockets: namespace.len(),
                    });
                    for (room, sockets) in namespace.rooms() {
                        if namespace.get(&room).is_some() {
                            continue;
                        }
                        keep_largest(
                            &mut snapshot.top_rooms,
                            RoomView {
                                endpoint: endpoint.path.clone(),
                                namespace: namespace.name().to_string(),
                                room,
                                sockets,
                            },
                        );
                    }
                }
                ("socket.io", sessions_of(engine), &engine.config().metrics)
            }
            EndpointHandle::EngineIo { engine } => {
                ("engine.io", sessions_of(engine), &engine.config().metrics)
            }
        };
        snapshot.sessions.add(&sessions);
        snapshot.totals.add_endpoint(metrics);
        let sockets = metrics.sockets.get();
        let retries_pending = metrics.hooks.retrying_now();
        snapshot.sockets += sockets;
        snapshot.retries_pending += retries_pending;
        snapshot.endpoints.push(EndpointView {
            path: endpoint.path.clone(),
            protocol,
            sessions,
            sockets,
            retries_pending,
            buffered_bytes: metrics.buffered_bytes.get(),
        });
    }
    snapshot
        .namespaces
        .sort_by(|a, b| b.sockets.cmp(&a.sockets).then(a.name.cmp(&b.name)));
    if snapshot.namespaces.len() > MAX_NAMESPACES {
        snapshot.other_namespaces = snapshot.namespaces[MAX_NAMESPACES..]
            .iter()
            .map(|n| n.sockets)
            .sum();
        snapshot.namespaces.truncate(MAX_NAMESPACES);
    }
    snapshot
}

/// Adds `room` to `top` when it is among the [`TOP_ROOMS`] largest (kept sorted, largest first).
fn keep_largest(top: &mut Vec<RoomView>, room: RoomView) {
    let at = top
        .iter()
        .position(|kept| room.sockets > kept.sockets)
        .unwrap_or(top.len());
    if at < TOP_ROOMS {
        top.insert(at, room);
        top.truncate(TOP_ROOMS);
    }
}

/// The sessions of one engine, by transport (its gauges) and by protocol version (its session table).
fn sessions_of<H: Handler>(engine: &Engine<H>) -> Sessions {
    let metrics = &engine.config().metrics;
    let mut sessions = Sessions {
        polling: u64::try_from(metrics.sessions_polling.get()).unwrap_or(0),
        websocket: u64::try_from(metrics.sessions_websocket.get()).unwrap_or(0),
        ..Sessions::default()
    };
    for session in engine.sessions() {
        // A closed session may stay in the table for a moment (its last answers are written); it is gone.
        if session.is_closed() {
            continue;
        }
        sessions.total += 1;
        match session.version() {
            EngineVersion::V3 => sessions.eio3 += 1,
            EngineVersion::V4 => sessions.eio4 += 1,
            EngineVersion::Sio09 => sessions.sio09 += 1,
        }
    }
    sessions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(name: &str, sockets: usize) -> RoomView {
        RoomView {
            endpoint: "/socket.io".into(),
            namespace: "/".into(),
            room: name.into(),
            sockets,
        }
    }

    #[test]
    fn only_the_largest_rooms_are_kept() {
        let mut top = Vec::new();
        for i in 0..100 {
            keep_largest(&mut top, room(&format!("r{i}"), i % 37));
        }
        assert_eq!(top.len(), TOP_ROOMS);
        assert_eq!(top[0].sockets, 36);
        assert!(top.windows(2).all(|w| w[0].sockets >= w[1].sockets));
    }
}
