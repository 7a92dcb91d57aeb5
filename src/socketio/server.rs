//! The Socket.IO server of one endpoint: its settings, namespace table, adapter and connect-timeout timer. What
//! it does lives beside it: packet reassembly (`reassembly`), dispatch (`dispatch`), connect negotiation
//! (`negotiate`), the Engine.IO handler (`handler`), and operations on sockets (`ops`).

use super::app::{DisconnectReason, SocketApp};
use super::connect_timeout::ConnectTimers;
use super::name_limit;
use super::namespace::Namespace;
use super::ops::{Adapter, InProcess, Ops};
use super::outgoing;
use super::packet::PacketKind;
use super::recovery::{ExpiryTimer, ParkedSessions, RecoverySettings};
use super::session_sockets::SessionSockets;
use super::socket::Socket;
use super::table::NamespaceTable;
use crate::engineio::session::timer::Timers;
use crate::engineio::{CloseReason, Session};
use crate::metrics::EndpointMetrics;
use std::sync::Arc;
use std::time::Duration;

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
    /// Connection state recovery; `None` when off.
    pub recovery: Option<RecoverySettings>,
}

/// The Socket.IO server of one endpoint, with adapter `D`.
pub struct SocketIo<A: SocketApp, D: Adapter = InProcess> {
    app: A,
    adapter: D,
    pub(super) config: SioConfig,
    namespaces: NamespaceTable<A::SocketState>,
    pub(super) timers: Arc<ConnectTimers>,
    /// The private ids of recoverable sockets, and the parked ones.
    pub(super) parked: ParkedSessions<A::SocketState>,
    /// The deadlines of parked sockets (with recovery on).
    pub(super) expiry_timers: Option<Arc<Timers<ExpiryTimer>>>,
}

/// An Engine.IO session carrying Socket.IO sockets.
pub(super) type SioSession<S> = Session<SessionSockets<S>>;

impl<A: SocketApp> SocketIo<A> {
    /// Creates a single-node server; must run inside a Tokio runtime (it starts the connect-timeout timer).
    pub fn new(config: SioConfig, app: A) -> Arc<Self> {
        Self::with_adapter(config, app, InProcess)
    }
}

impl<A: SocketApp, D: Adapter> SocketIo<A, D> {
    /// Creates the server with `adapter`; must run inside a Tokio runtime.
    pub fn with_adapter(config: SioConfig, app: A, adapter: D) -> Arc<Self> {
        let namespaces = NamespaceTable::new(&config.namespaces, config.metrics.namespaces.clone());
        let max_parked = config.recovery.as_ref().map_or(0, |r| r.max_parked);
        let expiry_timers = config.recovery.as_ref().map(|_| Timers::start());
        let timers = ConnectTimers::start(config.connect_timeout);
        Arc::new(Self {
            app,
            adapter,
            config,
            namespaces,
            timers,
            parked: ParkedSessions::new(max_parked),
            expiry_timers,
        })
    }

    /// The operations handle of this server.
    pub fn ops(self: &Arc<Self>) -> Ops<A, D> {
        Ops::new(self.clone())
    }

    /// The application.
    pub fn app(&self) -> &A {
        &self.app
    }

    /// The adapter operations go through.
    pub fn adapter(&self) -> &D {
        &self.adapter
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

    /// The namespace table.
    pub(super) fn table(&self) -> &NamespaceTable<A::SocketState> {
        &self.namespaces
    }

    /// A namespace name from a packet, as logged: at most `max_namespace_length` bytes of it (a packet may name
    /// anything up to `max_payload`).
    pub(super) fn logged_name<'a>(&self, name: &'a str) -> &'a str {
        name_limit::cut(name, self.config.max_namespace_length)
    }

    /// Removes a socket from its session and namespace; true if it was connected.
    pub(super) fn remove_socket(&self, socket: &Arc<Socket<A::SocketState>>) -> bool {
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
        self.forget_recovery(socket);
        removed
    }
}

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Disconnects a socket from the server side: the client gets DISCONNECT, the application a
    /// `server namespace disconnect`; with `close_session` the whole Engine.IO session ends too.
    pub(crate) fn disconnect(&self, socket: &Arc<Socket<A::SocketState>>, close_session: bool) {
        let session = socket.session();
        if self.remove_socket(socket) {
            if let Some(session) = &session {
                session
                    .send_all(outgoing::plain(PacketKind::Disconnect, socket.namespace(), None).0);
            }
            self.app()
                .disconnect(self, socket, DisconnectReason::ServerNamespaceDisconnect);
        }
        if let (true, Some(session)) = (close_session, session) {
            session.close(CloseReason::ForcedClose);
        }
    }

    /// The session ended: every socket it carried leaves its namespace, and the application learns why.
    pub(super) fn on_session_closed(
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        reason: CloseReason,
    ) {
        let sockets = {
            let mut inner = session.state().lock();
            inner.closed = Some(reason);
            inner.partial = None;
            inner.connect_timeout = None;
            std::mem::take(&mut inner.sockets)
        };
        self.timers.drop_cancelled();
        let recoverable = !session.overflowed();
        for socket in sockets {
            if recoverable && self.park(&socket, reason) {
                continue;
            }
            self.end_socket(&socket, reason);
        }
    }

    /// A socket whose session ended leaves its namespace, and the application learns why.
    pub(super) fn end_socket(&self, socket: &Arc<Socket<A::SocketState>>, reason: CloseReason) {
        if self.table().remove(socket) {
            self.config.metrics.sockets.dec();
        }
        self.forget_recovery(socket);
        self.app()
            .disconnect(self, socket, DisconnectReason::Session(reason));
    }
}
