//! The Socket.IO server of one endpoint: decodes packets per Engine.IO session, connects namespaces through the
//! application, dispatches events and acks, and keeps namespaces and rooms.

use super::app::{Accepted, App, ClientEvent, ConnectRequest, DisconnectReason, Emit, Rejected};
use super::binary::placeholders_to_binary;
use super::conn::Conn;
use super::legacy::Legacy09;
use super::name_limit;
use super::namespace::Namespace;
use super::outgoing::{self, Encoded};
use super::packet::{self, Packet as SioPacket, PacketKind};
use super::socket::Socket;
use super::socket_id::SocketId;
use super::table::NamespaceTable;
use super::watch::{ConnectWatch, Unconnected};
use crate::engineio::EngineVersion;
use crate::engineio::legacy::{LEGACY_PROTOCOL, LegacyCodec};
use crate::engineio::timer::Timers;
use crate::engineio::{
    CloseReason, Handler, Handshake, Message, Opened, Refusal, Session, Sid, Wait,
};
use crate::log_escape::Escaped;
use crate::metrics::EndpointMetrics;
use bytes::Bytes;
use serde_json::value::RawValue;
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a socket.io endpoint.
#[derive(Debug, Clone)]
pub struct SioConfig {
    /// Namespaces clients may connect to: exact names or globs.
    pub namespaces: Vec<String>,
    /// Time a client has to connect a namespace after the handshake.
    pub connect_timeout: Duration,
    /// Longest namespace name (bytes) a CONNECT may name; longer ones are refused before any matching or webhook.
    pub max_namespace_length: usize,
    /// Most bytes of binary attachments one packet may have while they are reassembled (the endpoint's
    /// `max_buffer`); past it the session closes (`transport error`).
    pub max_attachment_bytes: usize,
    /// The endpoint's metric handles (the socket and namespace gauges).
    pub metrics: EndpointMetrics,
}

/// The Socket.IO server of one endpoint.
pub struct SocketIo<A: App> {
    app: A,
    config: SioConfig,
    namespaces: NamespaceTable<A::SocketState>,
    timers: Arc<Timers<ConnectWatch>>,
}

type SioSession<S> = Session<Conn<S>>;

impl<A: App> SocketIo<A> {
    /// Creates the server; must run inside a Tokio runtime (it starts the connect-timeout timer).
    pub fn new(config: SioConfig, app: A) -> Arc<Self> {
        let namespaces = NamespaceTable::new(&config.namespaces, config.metrics.namespaces.clone());
        Arc::new(Self {
            app,
            config,
            namespaces,
            timers: Timers::start(),
        })
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// Whether clients may connect to `name`.
    pub fn allows(&self, name: &str) -> bool {
        self.config
            .namespaces
            .iter()
            .any(|pattern| crate::glob::matches(pattern, name))
    }

    /// The namespace `name`, if it is configured by its exact name or a socket is connected to it.
    pub fn namespace(&self, name: &str) -> Option<Arc<Namespace<A::SocketState>>> {
        self.namespaces.get(name)
    }

    /// Every namespace in the table: the configured exact ones and those with a connected socket.
    pub fn namespaces(&self) -> Vec<Arc<Namespace<A::SocketState>>> {
        self.namespaces.all()
    }

    /// How many namespaces the table holds (also the `iogate_namespaces` gauge).
    pub fn namespace_count(&self) -> usize {
        self.namespaces.len()
    }

    /// A namespace name from a packet, as logged: at most `max_namespace_length` bytes of it (a packet may name
    /// anything up to `max_payload`).
    fn logged_name<'a>(&self, name: &'a str) -> &'a str {
        name_limit::cut(name, self.config.max_namespace_length)
    }

    /// Disconnects a socket from the server side: the client gets DISCONNECT, the application a
    /// `server namespace disconnect`; with `close_session` the whole Engine.IO session ends too.
    pub fn disconnect(&self, socket: &Arc<Socket<A::SocketState>>, close_session: bool) {
        let session = socket.session();
        if self.remove_socket(socket) {
            if let Some(session) = &session {
                session
                    .send_all(outgoing::plain(PacketKind::Disconnect, socket.namespace(), None).0);
            }
            self.app
                .disconnect(socket, DisconnectReason::ServerNamespaceDisconnect);
        }
        if let (true, Some(session)) = (close_session, session) {
            session.close(CloseReason::ForcedClose);
        }
    }

    /// Sends `emit` to every socket `sockets`, encoding it once. Returns how many were reached.
    pub fn emit_to(
        &self,
        namespace: &str,
        sockets: &[Arc<Socket<A::SocketState>>],
        emit: &Emit,
    ) -> Result<usize, String> {
        let args: Vec<&RawValue> = emit.args.iter().map(|a| a.as_ref()).collect();
        let encoded = outgoing::event(namespace, &emit.event, &args, None)?;
        Ok(sockets
            .iter()
            .filter(|socket| socket.send(&encoded))
            .count())
    }

    /// Removes a socket from its session and namespace; true if it was connected.
    fn remove_socket(&self, socket: &Arc<Socket<A::SocketState>>) -> bool {
        if let Some(session) = socket.session() {
            session
                .state()
                .lock()
                .sockets
                .retain(|s| !Arc::ptr_eq(s, socket));
        }
        let removed = self.namespaces.remove(socket);
        if removed {
            self.config.metrics.sockets.dec();
        }
        removed
    }

    fn on_message(
        self: &Arc<Self>,
        session: &Arc<SioSession<A::SocketState>>,
        message: Message,
    ) -> Option<Wait> {
        let conn = session.state();
        let (packet, attachments) = match message {
            Message::Text(text) => {
                if conn.lock().partial.is_some() {
                    return protocol_error(
                        session,
                        "text packet while binary attachments were expected",
                    );
                }
                match packet::decode(text.as_str()) {
                    Ok(packet) if packet.kind.is_binary() && packet.attachments > 0 => {
                        conn.lock().partial = Some(Box::new((packet, Vec::with_capacity(1))));
                        return None;
                    }
                    Ok(packet) => (packet, Vec::new()),
                    Err(error) => return protocol_error(session, &error.to_string()),
                }
            }
            Message::Binary(data) => {
                let mut inner = conn.lock();
                let Some((packet, attachments)) = inner.partial.as_deref_mut() else {
                    drop(inner);
                    return protocol_error(session, "unexpected binary message");
                };
                attachments.push(data);
                let held: usize = attachments.iter().map(Bytes::len).sum();
                if held > self.config.max_attachment_bytes {
                    inner.partial = None;
                    drop(inner);
                    self.config.metrics.refused("attachments_too_large");
                    tracing::debug!(sid = %session.id(), held, "binary attachments over max_buffer; closing");
                    session.close(CloseReason::TransportError);
                    return None;
                }
                if attachments.len() < packet.attachments {
                    return None;
                }
                *inner.partial.take()?
            }
        };
        self.dispatch(session, packet, attachments)
    }

    fn dispatch(
        self: &Arc<Self>,
        session: &Arc<SioSession<A::SocketState>>,
        packet: SioPacket,
        attachments: Vec<Bytes>,
    ) -> Option<Wait> {
        if packet.kind == PacketKind::Connect {
            self.connect(session, packet);
            return None;
        }
        let Some(socket) = session.state().socket(&packet.namespace) else {
            if is_v4(session)
                && session
                    .state()
                    .lock()
                    .connecting
                    .contains(&packet.namespace)
            {
                // socket.io 1.x/2.x clients are connected to `/` by the server and may send before they see the
                // CONNECT (python-socketio 4 does): hold this packet, and the client's next ones, until decided.
                return Some(self.after_connect(session, packet, attachments));
            }
            if session.version() == EngineVersion::Legacy {
                // A reconnecting 0.9 client flushes what it buffered before it joins its endpoints again, and 0.9
                // servers ignored messages for endpoints a client was not in: drop it, keep the connection.
                let namespace = self.logged_name(&packet.namespace);
                tracing::debug!(sid = %session.id(), namespace, "0.9 packet for a namespace not connected dropped");
                return None;
            }
            let namespace = self.logged_name(&packet.namespace);
            tracing::debug!(sid = %session.id(), namespace, "packet for a namespace not connected; closing");
            session.close(CloseReason::ForcedClose);
            return None;
        };
        match packet.kind {
            PacketKind::Disconnect => {
                if self.remove_socket(&socket) {
                    self.app
                        .disconnect(&socket, DisconnectReason::ClientNamespaceDisconnect);
                }
                None
            }
            PacketKind::Event | PacketKind::BinaryEvent => {
                let payload = packet.payload?;
                let Some((name, args)) = packet::split_event(&payload) else {
                    return protocol_error(session, "invalid event payload");
                };
                let args = match with_binary(args, &attachments) {
                    Ok(args) => args,
                    Err(error) => return protocol_error(session, &error),
                };
                let event = ClientEvent {
                    event: name.to_owned(),
                    args,
                    ack: packet.id,
                };
                self.app.event(&socket, event)
            }
            PacketKind::Ack | PacketKind::BinaryAck => {
                let (Some(id), Some(payload)) = (packet.id, packet.payload) else {
                    return protocol_error(session, "ack without id");
                };
                match with_binary(payload.get().to_string(), &attachments) {
                    Ok(args) => {
                        if !socket.resolve_ack(id, args) {
                            tracing::debug!(sid = %Escaped(socket.id()), id, "ack for no pending emit ignored");
                        }
                    }
                    Err(error) => return protocol_error(session, &error),
                }
                None
            }
            PacketKind::Connect | PacketKind::ConnectError => {
                protocol_error(session, "unexpected packet type from client")
            }
        }
    }

    /// Dispatches `packet` once its namespace's pending CONNECT is decided: dropped if refused (as the 2.x server
    /// drops packets for a namespace it has no socket for) or if the session closes meanwhile.
    fn after_connect(
        self: &Arc<Self>,
        session: &Arc<SioSession<A::SocketState>>,
        packet: SioPacket,
        attachments: Vec<Bytes>,
    ) -> Wait {
        let this = self.clone();
        let session = session.clone();
        Box::pin(async move {
            loop {
                // The decision queues CONNECT or CONNECT_ERROR, which wakes the session's waiters.
                let notified = session.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if session.is_closed() {
                    return;
                }
                let pending = session
                    .state()
                    .lock()
                    .connecting
                    .contains(&packet.namespace);
                if !pending {
                    break;
                }
                notified.await;
            }
            if session.state().socket(&packet.namespace).is_none() {
                let namespace = this.logged_name(&packet.namespace);
                tracing::debug!(sid = %session.id(), namespace, "packet for a refused namespace dropped");
                return;
            }
            if let Some(wait) = this.dispatch(&session, packet, attachments) {
                wait.await;
            }
        })
    }

    fn connect(self: &Arc<Self>, session: &Arc<SioSession<A::SocketState>>, packet: SioPacket) {
        // v4 clients (socket.io 1.x/2.x) put the auth in a query after the namespace: `40/admin?token=abc,`.
        // Socket.IO 0.9 clients send none: their endpoints were authorized with the handshake's query.
        let (name, auth) = if is_v4(session) {
            let (name, query) = packet
                .namespace
                .split_once('?')
                .unwrap_or((&packet.namespace, ""));
            let auth = if query.is_empty() && session.version() == EngineVersion::Legacy {
                handshake_auth(session)
            } else {
                query_as_json(form_urlencoded::parse(query.as_bytes()).into_owned())
            };
            (name.to_string(), auth)
        } else {
            (
                packet.namespace,
                packet.payload.unwrap_or_else(empty_object),
            )
        };
        self.start_connect(session, name, auth);
    }

    fn start_connect(
        self: &Arc<Self>,
        session: &Arc<SioSession<A::SocketState>>,
        name: String,
        auth: Box<RawValue>,
    ) {
        let max = self.config.max_namespace_length;
        if name.len() > max {
            // Before any glob matching (which would walk the whole name) or webhook.
            self.config.metrics.refused("namespace_too_long");
            tracing::info!(
                sid = %session.id(),
                length = name.len(),
                prefix = name_limit::cut(&name, 64),
                "namespace name longer than max_namespace_length; CONNECT refused"
            );
            refuse_invalid(session, name_limit::cut(&name, max));
            return;
        }
        if !self.allows(&name) {
            refuse_invalid(session, &name);
            return;
        }
        {
            let mut inner = session.state().lock();
            if inner.closed.is_some() {
                return;
            }
            if inner.connecting.contains(&name)
                || inner.sockets.iter().any(|s| s.namespace() == name)
            {
                drop(inner);
                tracing::debug!(sid = %session.id(), namespace = name.as_str(), "second CONNECT to one namespace; closing");
                session.close(CloseReason::ForcedClose);
                return;
            }
            inner.connecting.push(name.clone());
        }
        let this = self.clone();
        let session = session.clone();
        tokio::spawn(async move { this.finish_connect(session, name, auth).await });
    }

    async fn finish_connect(
        self: Arc<Self>,
        session: Arc<SioSession<A::SocketState>>,
        name: String,
        auth: Box<RawValue>,
    ) {
        let v4 = is_v4(&session);
        let sid = if v4 {
            SocketId::for_v4(&name, session.id())
        } else {
            SocketId::random()
        };
        let handshake = session.state().handshake().clone();
        let request = ConnectRequest {
            sid: sid.clone(),
            namespace: &name,
            auth: &auth,
            handshake: &handshake,
        };
        let decision = self.app.connect(request).await;
        let conn = session.state();
        let accepted = match decision {
            Ok(accepted) => accepted,
            Err(rejected) => {
                conn.lock().connect_decided(&name);
                session.send_all(
                    outgoing::plain(PacketKind::ConnectError, &name, Some(&rejected.payload(v4))).0,
                );
                return;
            }
        };
        let Accepted {
            state,
            data,
            join,
            emit,
        } = accepted;
        let make = |namespace| {
            Arc::new(Socket::new(
                sid.clone(),
                namespace,
                Arc::downgrade(&session),
                handshake,
                state,
                data,
            ))
        };
        let socket = {
            let mut inner = conn.lock();
            inner.connect_decided(&name);
            if let Some(reason) = inner.closed {
                drop(inner);
                // The backend accepted a socket whose session ended meanwhile: tell it the socket is gone, and why.
                // The socket never enters the namespace table.
                let socket = make(Arc::new(Namespace::new(&name)));
                socket.lock().connected = false;
                self.app
                    .disconnect(&socket, DisconnectReason::Session(reason));
                return;
            }
            let socket = self.namespaces.add(&name, make);
            inner.sockets.push(socket.clone());
            inner.ever_connected = true;
            inner.watch = None;
            self.config.metrics.sockets.inc();
            socket
        };
        socket.join(join.iter().map(String::as_str));
        // v5 clients learn their id from the reply; v4 clients derive it from the engine id.
        let reply = format!("{{\"sid\":\"{sid}\"}}");
        let reply = (!v4).then_some(reply.as_str());
        session.send_all(outgoing::plain(PacketKind::Connect, &name, reply).0);
        for emit in &emit {
            if let Err(error) = self.emit_to(&name, std::slice::from_ref(&socket), emit) {
                tracing::warn!(sid = %Escaped(&sid), error = %Escaped(&error), "connect emit dropped");
            }
        }
    }

    fn on_session_closed(&self, session: &Arc<SioSession<A::SocketState>>, reason: CloseReason) {
        let sockets = {
            let mut inner = session.state().lock();
            inner.closed = Some(reason);
            inner.partial = None;
            inner.watch = None;
            std::mem::take(&mut inner.sockets)
        };
        for socket in sockets {
            if self.namespaces.remove(&socket) {
                self.config.metrics.sockets.dec();
            }
            self.app
                .disconnect(&socket, DisconnectReason::Session(reason));
        }
    }
}

/// Query keys that belong to Engine.IO, not to the application's auth.
const ENGINE_QUERY_KEYS: [&str; 6] = ["EIO", "transport", "t", "b64", "j", "sid"];

/// Whether the session's client speaks Socket.IO protocol v4 (socket.io 1.x/2.x, over Engine.IO v3), or is a
/// Socket.IO 0.9 client, whose messages are translated to protocol v4 packets.
fn is_v4<S: Send + Sync + 'static>(session: &Session<Conn<S>>) -> bool {
    session.version() != EngineVersion::V4
}

/// The handshake query as auth (a v4 or 0.9 client's), without the keys that belong to Engine.IO.
fn handshake_auth<S: Send + Sync + 'static>(session: &Session<Conn<S>>) -> Box<RawValue> {
    let query = session
        .state()
        .handshake()
        .query
        .iter()
        .filter(|(key, _)| !ENGINE_QUERY_KEYS.contains(key));
    query_as_json(query)
}

/// Query pairs as a JSON object (a repeated key keeps its last value), used as a v4 client's auth.
fn query_as_json<K: Into<String>, V: Into<String>>(
    pairs: impl IntoIterator<Item = (K, V)>,
) -> Box<RawValue> {
    let mut object = serde_json::Map::new();
    for (key, value) in pairs {
        object.insert(key.into(), serde_json::Value::String(value.into()));
    }
    serde_json::value::to_raw_value(&object).unwrap_or_else(|_| empty_object())
}

fn empty_object() -> Box<RawValue> {
    RawValue::from_string("{}".to_string()).expect("a constant, valid JSON object")
}

fn with_binary(args: String, attachments: &[Bytes]) -> Result<String, String> {
    if attachments.is_empty() {
        Ok(args)
    } else {
        placeholders_to_binary(&args, attachments)
    }
}

/// Refuses a CONNECT to `name` with "Invalid namespace".
fn refuse_invalid<S: Send + Sync + 'static>(session: &Arc<Session<Conn<S>>>, name: &str) {
    let invalid = Rejected {
        message: "Invalid namespace".to_string(),
        data: None,
    };
    let refusal = outgoing::plain(
        PacketKind::ConnectError,
        name,
        Some(&invalid.payload(is_v4(session))),
    );
    session.send_all(refusal.0);
}

fn protocol_error<S: Send + Sync + 'static>(
    session: &Arc<Session<Conn<S>>>,
    why: &str,
) -> Option<Wait> {
    tracing::debug!(sid = %session.id(), why, "invalid Socket.IO packet; closing");
    session.close(CloseReason::ParseError);
    None
}

impl<S: Send + Sync + 'static> Unconnected for Session<Conn<S>> {
    fn close_if_unconnected(self: Arc<Self>) {
        let unconnected = !self.state().lock().ever_connected;
        if unconnected {
            tracing::debug!(sid = %self.id(), "no namespace connected in time; closing");
            self.close(CloseReason::ForcedClose);
        }
    }
}

/// The Engine.IO handler of a socket.io endpoint.
pub struct SioHandler<A: App>(pub Arc<SocketIo<A>>);

impl<A: App> Handler for SioHandler<A> {
    type State = Conn<A::SocketState>;

    async fn open(
        &self,
        _sid: Sid,
        mut handshake: Handshake,
    ) -> Result<Opened<Self::State>, Refusal> {
        // The engine put its own version; webhooks carry the Socket.IO protocol: 5, 4 over Engine.IO v3, and 1
        // for Socket.IO 0.9 clients.
        handshake.protocol = match handshake.protocol {
            3 => 4,
            LEGACY_PROTOCOL => LEGACY_PROTOCOL,
            _ => 5,
        };
        Ok(Opened {
            state: Conn::new(handshake),
            messages: Vec::new(),
        })
    }

    fn opened(&self, session: &Arc<Session<Self::State>>) {
        let target: Weak<dyn Unconnected> = Arc::downgrade(session) as Weak<dyn Unconnected>;
        let watch = Arc::new(ConnectWatch { target });
        self.0
            .timers
            .schedule(&watch, Instant::now() + self.0.config.connect_timeout, 0);
        session.state().lock().watch = Some(watch);
        if is_v4(session) {
            // socket.io 1.x/2.x clients are connected to `/` by the server, with the handshake query as auth.
            self.0
                .start_connect(session, "/".to_string(), handshake_auth(session));
        }
    }

    fn message(&self, session: &Arc<Session<Self::State>>, message: Message) -> Option<Wait> {
        self.0.on_message(session, message)
    }

    fn busy(&self, session: &Arc<Session<Self::State>>) -> bool {
        let app = self.0.app();
        session
            .state()
            .lock()
            .sockets
            .iter()
            .any(|socket| app.busy(socket))
    }

    fn peer(&self, session: &Arc<Session<Self::State>>) -> Option<IpAddr> {
        Some(session.state().handshake().address)
    }

    fn legacy(&self) -> Option<&dyn LegacyCodec> {
        Some(&Legacy09)
    }

    fn closed(&self, session: &Arc<Session<Self::State>>, reason: CloseReason) {
        self.0.on_session_closed(session, reason);
    }
}

/// Encodes an event once for many sockets.
pub fn encode_event(namespace: &str, emit: &Emit) -> Result<Encoded, String> {
    let args: Vec<&RawValue> = emit.args.iter().map(|a| a.as_ref()).collect();
    outgoing::event(namespace, &emit.event, &args, None)
}
