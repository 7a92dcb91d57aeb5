//! The webhook relay for `protocol = "socket.io"` endpoints: `connect`, `event` and `disconnect` hooks, and the
//! actions their replies ask for.

use super::queue::{Limits, OrderedQueue, Pushed, backpressure};
use super::reply::{null, null_ref, parse_reply, to_json};
use super::retry::RetryPolicy;
use super::socket_bodies::{Common, ConnectBody, DisconnectBody, EventBody};
use super::socket_reply::{ConnectReply, EventReply, is_array};
use super::started::start_worker;
use super::webhook::{BusyGuard, Delivery, HookClient, HookTarget};
use crate::cluster::{Entry, SocketRegistry};
use crate::config::RouteMode;
use crate::engineio::{CloseReason, Wait};
use crate::log_escape::Escaped;
use crate::socketio::ops::{Adapter, Operation, Ops, Selection, Selector};
use crate::socketio::{
    Accepted, ClientEvent, ConnectRequest, DisconnectReason, Emit, Rejected, Socket, SocketApp,
    SocketId, outgoing,
};
use serde_json::value::RawValue;
use std::sync::Arc;

/// A route: events matching `namespace` and `event` globs go to `target` in `mode`.
#[derive(Debug, Clone)]
pub struct Route {
    /// Namespace glob; `None` = any.
    pub namespace: Option<String>,
    /// Event name glob; `None` = any.
    pub event: Option<String>,
    /// Where matching events go.
    pub target: HookTarget,
    /// Sync (reply acted on) or async (retried, reply ignored).
    pub mode: RouteMode,
}

/// Settings of the relay for one socket.io endpoint.
#[derive(Debug, Clone)]
pub struct SocketRelayConfig {
    /// The endpoint path, sent in every body.
    pub endpoint: String,
    /// Where hooks go unless a route says otherwise.
    pub target: HookTarget,
    /// Per-event overrides, first match wins.
    pub routes: Vec<Route>,
    /// Whether `connect` is sent (otherwise every connection is accepted).
    pub connect_hook: bool,
    /// Whether `disconnect` is sent.
    pub disconnect_hook: bool,
    /// What may wait per socket before the client is no longer read: hooks (`max_pending_hooks`) and the bytes
    /// they hold, event names and arguments (the endpoint's `max_buffer`).
    pub pending: Limits,
    /// How `disconnect` and async `event` deliveries are retried.
    pub retry: RetryPolicy,
    /// The endpoint's metric handles.
    pub metrics: crate::metrics::EndpointMetrics,
    /// This node's session registry, in a cluster: sockets are reported to it as they connect, change their data
    /// and disconnect.
    pub registry: Option<SocketRegistry>,
}

/// Relays Socket.IO sockets to a backend.
pub struct SocketRelay {
    shared: Arc<Shared>,
}

struct Shared {
    config: SocketRelayConfig,
    client: HookClient,
}

/// Per-socket state: the ordered queue of hooks to send.
#[derive(Default)]
pub struct SocketHookState {
    /// The hooks to send; its flag is raised when another node has already reported this socket gone (its
    /// `disconnect` hook is not sent again). The queue's flag rather than an `AtomicBool` here: the socket stays
    /// a 232-byte block, a malloc size class lower.
    hooks: OrderedQueue<Job>,
}

impl SocketHookState {
    /// Marks the socket as already reported gone (by the survivor of this node's declared departure): its
    /// `disconnect` hook is not sent.
    pub fn silence(&self) {
        self.hooks.raise_flag();
    }
}

enum Job {
    Event(ClientEvent, usize),
    Disconnect(DisconnectReason),
}

type RelaySocket = Socket<SocketHookState>;

impl SocketRelay {
    /// A relay sending through `client`.
    pub fn new(config: SocketRelayConfig, client: HookClient) -> Self {
        Self {
            shared: Arc::new(Shared { config, client }),
        }
    }

    /// Sends the `disconnect` hook of a socket a departed node held (reason `transport close`, or for a socket
    /// parked there the reason its session ended; no rooms; the data the registry kept), retried as any
    /// disconnect hook; resolves when it is delivered or given up. False when this endpoint sends no disconnect
    /// hooks.
    pub fn departed_disconnect(
        &self,
        namespace: String,
        sid: String,
        data: Option<Box<RawValue>>,
        parked: Option<String>,
    ) -> impl std::future::Future<Output = bool> + Send + 'static {
        let shared = self.shared.clone();
        async move {
            let config = &shared.config;
            if !config.disconnect_hook {
                return false;
            }
            let data = data.unwrap_or_else(null);
            let sid = SocketId::from_text(&sid);
            let body = DisconnectBody {
                common: Common {
                    kind: "disconnect",
                    endpoint: &config.endpoint,
                    namespace: &namespace,
                    sid: sid.clone(),
                    data: &data,
                    rooms: &[],
                },
                reason: DisconnectReason::Session(departed_reason(parked.as_deref())).as_str(),
            };
            let delivery = Delivery::new("disconnect", to_json(&body));
            let _busy = shared.client.busy();
            shared
                .client
                .send_with_retries(&config.target, &delivery, config.retry, &sid)
                .await;
            true
        }
    }

    /// Reports `socket` (connected, or its data changed) to the registry, unless it has left its namespace.
    fn register(&self, socket: &RelaySocket) {
        let Some(registry) = &self.shared.config.registry else {
            return;
        };
        if !socket.is_connected() {
            return;
        }
        let endpoint = &self.shared.config.endpoint;
        let sid = socket.id();
        registry.put(&Entry {
            endpoint: endpoint.clone(),
            namespace: Some(socket.namespace().to_string()),
            sid: sid.as_str().to_string(),
            data: socket.data(),
            parked: socket.parked_for().map(|r| r.as_str().to_string()),
        });
        // A disconnect between the check and the report queued its removal first: remove it again after.
        if !socket.is_connected() {
            registry.remove(endpoint, sid.as_str());
        }
    }

    /// Queues a hook of `socket`; a worker sending them starts if none runs, with `ops` to act on the replies.
    fn enqueue<D: Adapter>(
        &self,
        ops: &Ops<Self, D>,
        socket: &Arc<RelaySocket>,
        job: Job,
    ) -> Pushed {
        let (bytes, from_client) = match &job {
            Job::Event(event, _) => (event.event.get().len() + event.args.len(), true),
            Job::Disconnect(_) => (0, false),
        };
        let pushed = socket.state().hooks.push(job, bytes);
        if pushed.start_worker {
            // Counted before the spawn, so a shutdown that begins now waits for this worker.
            let busy = self.shared.client.busy();
            let worker = drain(self.shared.clone(), ops.clone(), socket.clone(), busy);
            start_worker(worker, from_client);
        }
        pushed
    }
}

/// The reason of a departed node's socket's hook: the one it was parked for (one a session can be parked for),
/// else `transport close`.
fn departed_reason(parked: Option<&str>) -> CloseReason {
    [CloseReason::TransportError, CloseReason::PingTimeout]
        .into_iter()
        .find(|reason| Some(reason.as_str()) == parked)
        .unwrap_or(CloseReason::TransportClose)
}

impl Shared {
    fn route(&self, namespace: &str, event: &RawValue) -> Option<(usize, &Route)> {
        if self.config.routes.is_empty() {
            return None;
        }
        let name =
            serde_json::from_str::<String>(event.get()).unwrap_or_else(|_| event.get().to_string());
        self.config.routes.iter().enumerate().find(|(_, route)| {
            route
                .namespace
                .as_deref()
                .is_none_or(|glob| crate::glob::matches(glob, namespace))
                && route
                    .event
                    .as_deref()
                    .is_none_or(|glob| crate::glob::matches(glob, &name))
        })
    }

    fn target(&self, route: Option<usize>) -> &HookTarget {
        route
            .and_then(|index| self.config.routes.get(index))
            .map_or(&self.config.target, |r| &r.target)
    }

    fn event_delivery(&self, socket: &RelaySocket, event: &ClientEvent) -> Delivery {
        let data = socket.data();
        let data = data.as_deref().unwrap_or_else(|| null_ref());
        let rooms = socket.rooms();
        // Borrowed from the event: the arguments were joined from checked JSON values, so this only finds their end.
        let args = serde_json::from_str::<&RawValue>(&event.args).ok();
        let args = args.unwrap_or_else(|| null_ref());
        let body = EventBody {
            common: common("event", &self.config.endpoint, socket, data, &rooms),
            event: &event.event,
            args,
            ack: event.ack.is_some(),
        };
        Delivery::new("event", to_json(&body))
    }
}

fn common<'a>(
    kind: &'static str,
    endpoint: &'a str,
    socket: &'a RelaySocket,
    data: &'a RawValue,
    rooms: &'a [Arc<str>],
) -> Common<'a> {
    Common {
        kind,
        endpoint,
        namespace: socket.namespace(),
        sid: socket.id(),
        data,
        rooms,
    }
}

fn refused() -> Rejected {
    Rejected {
        message: "Connection refused".to_string(),
        data: None,
    }
}

impl SocketApp for SocketRelay {
    type SocketState = SocketHookState;

    async fn connect(
        &self,
        request: ConnectRequest<'_>,
    ) -> Result<Accepted<Self::SocketState>, Rejected> {
        let config = &self.shared.config;
        let accepted = |reply: ConnectReply| Accepted {
            state: SocketHookState::default(),
            data: reply.data,
            join: reply.join,
            emit: reply.emit.into_iter().map(Emit::from).collect(),
        };
        if !config.connect_hook {
            return Ok(accepted(ConnectReply::default()));
        }
        let none = null();
        let body = ConnectBody {
            common: Common {
                kind: "connect",
                endpoint: &config.endpoint,
                namespace: request.namespace,
                sid: request.sid.clone(),
                data: request.data.unwrap_or(&none),
                rooms: request.rooms,
            },
            auth: request.auth,
            handshake: request.handshake,
            recovered: request.recovered,
        };
        let delivery = Delivery::new("connect", to_json(&body));
        let sid = &request.sid;
        let reply = match self.shared.client.send(&config.target, &delivery).await {
            Ok(reply) => reply,
            Err(error) => {
                tracing::debug!(sid = %Escaped(sid), endpoint = %config.endpoint, error = %Escaped(&error), "connect webhook failed; refusing");
                return Err(refused());
            }
        };
        let reply: ConnectReply = parse_reply(&reply).map_err(|error| {
            tracing::warn!(sid = %Escaped(sid), endpoint = %config.endpoint, error = %Escaped(&error), "connect webhook reply unusable; refusing");
            refused()
        })?;
        let mut reply = reply;
        if let Some(reject) = reply.reject.take() {
            return Err(reject.into_rejected());
        }
        Ok(accepted(reply))
    }

    fn event<D: Adapter>(
        &self,
        ops: &Ops<Self, D>,
        socket: &Arc<RelaySocket>,
        event: ClientEvent,
    ) -> Option<Wait> {
        let route = self.shared.route(socket.namespace(), &event.event);
        if let Some((index, route)) = route {
            if route.mode == RouteMode::Async {
                let delivery = self.shared.event_delivery(socket, &event);
                let shared = self.shared.clone();
                let busy = shared.client.busy();
                let sid = socket.id();
                tokio::spawn(async move {
                    let _busy = busy;
                    let target = shared.target(Some(index));
                    shared
                        .client
                        .send_with_retries(target, &delivery, shared.config.retry, &sid)
                        .await;
                });
                return None;
            }
        }
        let pushed = self.enqueue(
            ops,
            socket,
            Job::Event(event, route.map_or(usize::MAX, |(index, _)| index)),
        );
        let config = &self.shared.config;
        backpressure(
            socket,
            |s| &s.state().hooks,
            pushed,
            config.pending,
            &config.metrics.hook_overflows,
        )
    }

    fn busy(&self, socket: &Arc<RelaySocket>) -> bool {
        socket.state().hooks.awaits_answers()
    }

    fn disconnect<D: Adapter>(
        &self,
        ops: &Ops<Self, D>,
        socket: &Arc<RelaySocket>,
        reason: DisconnectReason,
    ) {
        if let Some(registry) = &self.shared.config.registry {
            registry.remove(&self.shared.config.endpoint, socket.id().as_str());
        }
        if self.shared.config.disconnect_hook && !socket.state().hooks.flag_raised() {
            self.enqueue(ops, socket, Job::Disconnect(reason));
        }
    }

    fn connected(&self, socket: &Arc<RelaySocket>) {
        self.register(socket);
    }

    fn data_changed(&self, socket: &Arc<RelaySocket>) {
        self.register(socket);
    }

    fn moved(&self, socket: &Arc<RelaySocket>) {
        if let Some(registry) = &self.shared.config.registry {
            registry.remove(&self.shared.config.endpoint, socket.id().as_str());
        }
    }
}

/// Sends a socket's hooks one after another, in order, then exits.
///
/// Started by an event the client sent, its first webhook is written before the packet's transport goes on
/// ([`spawn_started`](super::started::spawn_started)): a long-poll POST's `ok` then follows the webhook instead of
/// preceding it. Started by a disconnect, it is spawned: disconnects are queued from the paths that close sockets
/// and sessions, which it must not run inside.
async fn drain<D: Adapter>(
    shared: Arc<Shared>,
    ops: Ops<SocketRelay, D>,
    socket: Arc<RelaySocket>,
    _busy: BusyGuard,
) {
    while let Some(job) = socket.state().hooks.next() {
        match job {
            Job::Event(event, route) => {
                let delivery = shared.event_delivery(&socket, &event);
                let sent = shared
                    .client
                    .send(shared.target(Some(route)), &delivery)
                    .await;
                // What the reply brings is queued for the client below: nothing more is on its way for this job.
                socket.state().hooks.answered();
                match sent {
                    Ok(reply) => apply_event_reply(&ops, &socket, &event, &reply).await,
                    Err(error) => tracing::debug!(
                        sid = %Escaped(socket.id()), endpoint = %shared.config.endpoint, ack_pending = event.ack.is_some(), error = %Escaped(&error),
                        "event webhook failed"
                    ),
                }
            }
            Job::Disconnect(reason) => {
                let data = socket.data().unwrap_or_else(null);
                let rooms = socket.rooms();
                let body = DisconnectBody {
                    common: common(
                        "disconnect",
                        &shared.config.endpoint,
                        &socket,
                        &data,
                        &rooms,
                    ),
                    reason: reason.as_str(),
                };
                let delivery = Delivery::new("disconnect", to_json(&body));
                let sid = socket.id();
                shared
                    .client
                    .send_with_retries(&shared.config.target, &delivery, shared.config.retry, &sid)
                    .await;
            }
        }
    }
    // Polls holding packets while this socket was busy can answer now.
    if let Some(session) = socket.session() {
        session.wake();
    }
}

/// Acts on an `event` reply, in order: data, join, leave, the ack, emits to the socket, broadcasts, disconnect.
/// What concerns the socket itself goes to it (even if it disconnected meanwhile, so its disconnect hook reports
/// the reply's data and rooms); broadcasts go through the adapter.
async fn apply_event_reply<D: Adapter>(
    ops: &Ops<SocketRelay, D>,
    socket: &Arc<RelaySocket>,
    event: &ClientEvent,
    reply: &[u8],
) {
    let reply: EventReply = match parse_reply(reply) {
        Ok(reply) => reply,
        Err(error) => {
            tracing::warn!(sid = %Escaped(socket.id()), error = %Escaped(&error), "event webhook reply ignored");
            return;
        }
    };
    // Data, rooms and disconnect cannot fail on the socket itself; only emits are checked.
    if let Some(data) = reply.data {
        let _ = ops.apply_to_socket(
            socket,
            Operation::SetData((data.get() != "null").then_some(data)),
        );
    }
    if !reply.join.is_empty() {
        let _ = ops.apply_to_socket(socket, Operation::Join(reply.join));
    }
    if !reply.leave.is_empty() {
        let _ = ops.apply_to_socket(socket, Operation::Leave(reply.leave));
    }
    if let (Some(id), Some(args)) = (event.ack, &reply.ack) {
        let sent = if is_array(args) {
            outgoing::ack(socket.namespace(), id, args.get())
        } else {
            Err("ack must be an array".to_string())
        };
        match sent {
            Ok(encoded) => {
                socket.send(&encoded);
            }
            Err(error) => {
                tracing::warn!(sid = %Escaped(socket.id()), error = %Escaped(&error), "ack not sent")
            }
        }
    }
    for spec in reply.emit {
        if let Err(error) = ops.apply_to_socket(socket, Operation::Emit(Emit::from(spec))) {
            tracing::warn!(sid = %Escaped(socket.id()), error = %Escaped(&error), "emit not sent");
        }
    }
    for spec in reply.broadcast {
        let selection = Selection {
            namespace: socket.namespace(),
            selector: broadcast_selector(socket, spec.rooms, spec.except, spec.include_self),
        };
        let emit = Emit {
            event: spec.event,
            args: spec.args,
        };
        if let Err(error) = ops.apply(&selection, Operation::Emit(emit)).await {
            tracing::warn!(sid = %Escaped(socket.id()), error = %Escaped(&error), "broadcast not sent");
        }
    }
    if reply.disconnect {
        let _ = ops.apply_to_socket(
            socket,
            Operation::Disconnect {
                close_session: false,
            },
        );
    }
}

/// The sockets a reply's broadcast reaches: `rooms` (none = the whole namespace) minus `except`, and minus the
/// sender unless `include_self`.
fn broadcast_selector(
    sender: &RelaySocket,
    rooms: Vec<String>,
    except: Vec<String>,
    include_self: bool,
) -> Selector {
    let mut selector = Selector::rooms(rooms, except);
    if !include_self {
        selector.except_sockets.push(sender.id());
    }
    selector
}
