//! The Engine.IO server of one endpoint: request dispatch, the session registry, handshakes.

use super::{polling, websocket};
use crate::engineio::codec::packet::{Incoming, Packet, PacketType};
use crate::engineio::codec::poll_format::PollFormat;
use crate::engineio::error::EngineError;
use crate::engineio::handler::{Handler, Refusal, Wait};
use crate::engineio::http::RequestBody;
use crate::engineio::http::{self as responses, Body};
use crate::engineio::query::{EngineRequest, Query, SessionRequest};
use crate::engineio::registry::{Registered, Registry};
use crate::engineio::session::handshake::{ConnInfo, Handshake, open_packet_json};
use crate::engineio::session::sid::{CurrentTag, Sid};
use crate::engineio::session::timer::{Tick, Timers};
use crate::engineio::session::{CloseReason, Owner, Session, SessionSettings, TransportKind};
use crate::engineio::version::EngineVersion;
use crate::metrics::EndpointMetrics;
use futures_util::FutureExt;
use http::{Request, Response};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// Settings of one Engine.IO endpoint.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Heartbeat and buffering settings shared by sessions.
    pub session: SessionSettings,
    /// How long a WebSocket upgrade may take.
    pub upgrade_timeout: Duration,
    /// Largest body or message accepted, in bytes.
    pub max_payload: u64,
    /// How long a long-poll with packets may wait for more while the application is still working on the session.
    pub poll_coalesce: Duration,
    /// Whether long-polling is enabled.
    pub polling: bool,
    /// Whether WebSocket is enabled.
    pub websocket: bool,
    /// Whether Engine.IO v3 clients (socket.io-client 1.x/2.x) are accepted.
    pub eio3: bool,
    /// The endpoint's metric handles.
    pub metrics: EndpointMetrics,
    /// In a cluster, this node's current tag, which every session id it mints starts with; `None` on one node.
    pub node_tag: Option<Arc<CurrentTag>>,
}

/// An Engine.IO server for one endpoint, generic over the application handler.
pub struct Engine<H: Handler> {
    config: EngineConfig,
    handler: H,
    sessions: Mutex<Registry<H::State>>,
    timers: Arc<Timers<Session<H::State>>>,
    me: Weak<Self>,
}

impl<H: Handler> Engine<H> {
    /// Creates the engine; must be called inside a Tokio runtime (it starts the shared timer).
    pub fn new(config: EngineConfig, handler: H) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            config,
            handler,
            sessions: Mutex::new(Registry::default()),
            timers: Timers::start(),
            me: me.clone(),
        })
    }

    /// A new session id: random, starting with this node's tag in a cluster.
    pub fn new_sid(&self) -> Sid {
        self.config
            .node_tag
            .as_ref()
            .map_or_else(Sid::random, |tag| Sid::random_tagged(tag.get()))
    }

    /// The endpoint settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// The application handler.
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// Number of open sessions.
    pub fn session_count(&self) -> usize {
        self.registry().len()
    }

    /// The session with id `sid`, if open.
    pub fn session(&self, sid: Sid) -> Option<Arc<Session<H::State>>> {
        self.registry().get(&sid).map(|found| found.0.clone())
    }

    /// The session `sid` as a request of one protocol family may reach it: a Socket.IO 0.9 session only through
    /// its own transports (`sio09`), every other session only through Engine.IO requests.
    pub(crate) fn session_for(&self, sid: Sid, sio09: bool) -> Option<Arc<Session<H::State>>> {
        self.session(sid)
            .filter(|session| (session.version() == EngineVersion::Sio09) == sio09)
    }

    /// Every open session.
    pub fn sessions(&self) -> Vec<Arc<Session<H::State>>> {
        self.registry()
            .iter()
            .map(|found| found.0.clone())
            .collect()
    }

    /// Closes every session with `reason` (e.g. on shutdown).
    pub fn close_all(&self, reason: CloseReason) {
        for session in self.sessions() {
            session.close(reason);
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry<H::State>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Serves one HTTP request addressed to this endpoint, reading what it is from its method, headers and query.
    pub async fn handle(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        conn: &ConnInfo,
    ) -> Response<Body> {
        let query = Query::parse(req.uri().query());
        let request =
            EngineRequest::read(req.method(), websocket::is_upgrade_request(&req), &query);
        self.serve(req, query, request, conn).await
    }

    /// Serves a request already read as `request`, with its decoded `query`.
    pub async fn serve(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        query: Query,
        request: EngineRequest,
        conn: &ConnInfo,
    ) -> Response<Body> {
        match self.dispatch(req, query, request, conn).await {
            Ok(response) => response,
            Err(error) => responses::error(&error),
        }
    }

    /// For a long-poll GET of session `sid`, the future that serves it: it only waits for the session's packets (a
    /// parked poll holds nothing else), and the caller lets go of the request before it runs. `None` when the
    /// session is not open here or the query asks for a framing it cannot have; [`Engine::serve`] answers those.
    pub fn long_poll<'a>(
        self: &'a Arc<Self>,
        sid: Option<Sid>,
        query: &Query,
    ) -> Option<impl Future<Output = Response<Body>> + Send + use<'a, H>> {
        if !self.config.polling {
            return None;
        }
        let session = sid.and_then(|sid| self.session_for(sid, false))?;
        let format = PollFormat::from_query(session.version(), query)
            .ok()?
            .text_only_if(session.base64_only());
        // A combinator over the wait itself: an `async` block (or `polling::get`) would store the session and the
        // format a second time in the future a parked poll holds.
        Some(
            polling::wait_for_packets(self, session).map(move |packets| match packets {
                Ok(packets) => format.response(&packets),
                Err(error) => responses::error(&error),
            }),
        )
    }

    /// Whether this endpoint serves `transport`.
    fn serves(&self, transport: TransportKind) -> bool {
        match transport {
            TransportKind::Polling => self.config.polling,
            TransportKind::Websocket => self.config.websocket,
        }
    }

    async fn dispatch(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        query: Query,
        request: EngineRequest,
        conn: &ConnInfo,
    ) -> Result<Response<Body>, EngineError> {
        if !request
            .transport()
            .is_some_and(|transport| self.serves(transport))
        {
            return Err(EngineError::TransportUnknown);
        }
        let (sid, action) = match request {
            EngineRequest::UnknownTransport { .. } => return Err(EngineError::TransportUnknown),
            EngineRequest::NotAnUpgrade { .. } => return Err(EngineError::BadRequest),
            EngineRequest::HandshakeNotGet => return Err(EngineError::BadHandshakeMethod),
            EngineRequest::Handshake(transport) => {
                return self.handshake(req, &query, transport, conn).await;
            }
            EngineRequest::Session(sid, action) => (sid, action),
        };
        let session = sid
            .and_then(|sid| self.session_for(sid, false))
            .ok_or(EngineError::SessionUnknown)?;
        let format =
            PollFormat::from_query(session.version(), &query)?.text_only_if(session.base64_only());
        match action {
            SessionRequest::PollGet => {
                // A long poll may wait a whole ping interval: let go of the request first, since its headers
                // share hyper's read buffer and would keep it (and a second one) allocated meanwhile.
                drop(req);
                drop(query);
                polling::get(self, session, format).await
            }
            SessionRequest::PollPost => polling::post(self, session, req, format).await,
            SessionRequest::Upgrade => websocket::accept_upgrade(self, session, req),
            SessionRequest::PollOther => Err(EngineError::BadRequest),
        }
    }

    async fn handshake(
        self: &Arc<Self>,
        req: Request<RequestBody>,
        query: &Query,
        transport: TransportKind,
        conn: &ConnInfo,
    ) -> Result<Response<Body>, EngineError> {
        let version = EngineVersion::from_eio(query.get("EIO"), self.config.eio3)
            .ok_or(EngineError::UnsupportedProtocolVersion)?;
        let format = PollFormat::from_query(version, query)?;
        let handshake = Handshake::new(req.headers(), query, transport, version, conn);
        let base64 = format != PollFormat::V3 { binary: true } && version == EngineVersion::V3;
        let upgrades: &[&str] = if transport == TransportKind::Polling && self.config.websocket {
            &["websocket"]
        } else {
            &[]
        };
        let sid = self.new_sid();
        let open = Packet::text(
            PacketType::Open,
            &open_packet_json(
                sid.as_str(),
                upgrades,
                self.config.session.ping_interval,
                self.config.session.ping_timeout,
                self.config.max_payload,
            ),
        );
        match transport {
            TransportKind::Polling => {
                self.open_session(sid, handshake, (version, base64), transport, None)
                    .await?;
                Ok(format.response(&[open]))
            }
            TransportKind::Websocket => {
                let session = self
                    .open_session(sid, handshake, (version, base64), transport, Some(open))
                    .await?;
                websocket::accept_new(self, session, req)
            }
        }
    }

    /// Asks the application to accept a session, then registers it and starts its heartbeat. `first` is queued
    /// ahead of the application's opening messages and of anything it sends once told the session is open.
    pub(crate) async fn open_session(
        self: &Arc<Self>,
        sid: Sid,
        handshake: Handshake,
        (version, base64): (EngineVersion, bool),
        transport: TransportKind,
        first: Option<Packet>,
    ) -> Result<Arc<Session<H::State>>, EngineError> {
        let opened = self
            .handler
            .open(sid, handshake)
            .await
            .map_err(|refusal| match refusal {
                Refusal::Rejected { context } => EngineError::Forbidden {
                    status: 403,
                    context,
                },
                Refusal::Unavailable => EngineError::Forbidden {
                    status: 502,
                    context: None,
                },
            })?;
        let owner: Weak<dyn Owner<H::State>> = self.me.clone();
        let session = Arc::new(Session::new(
            sid,
            (version, base64),
            transport,
            opened.state,
            owner,
        ));
        self.registry().replace(Registered(session.clone()));
        self.config
            .metrics
            .sessions(transport == TransportKind::Websocket)
            .inc();
        self.config.metrics.sessions_opened.inc();
        session.send_all(
            first
                .into_iter()
                .chain(opened.messages.iter().map(Packet::message)),
        );
        session.start_heartbeat();
        self.handler.opened(&session);
        Ok(session)
    }

    /// Acts on one packet from the client. `Err` carries the reason the session must close.
    pub(crate) fn on_packet(
        &self,
        session: &Arc<Session<H::State>>,
        packet: Incoming,
    ) -> Result<Option<Wait>, CloseReason> {
        match packet {
            Incoming::Message(message) => {
                self.config.metrics.packets_in.inc();
                Ok(self
                    .handler
                    .message(session, message)
                    .map(|wait| paused_while(session, wait)))
            }
            Incoming::Control(PacketType::Pong, _) => {
                session.pong();
                Ok(None)
            }
            Incoming::Control(PacketType::Noop, _) => Ok(None),
            Incoming::Control(PacketType::Close, _) => {
                session.close_by_client();
                Ok(None)
            }
            // v3 clients ping; v4 clients never do. An upgrade or open packet here is out of sequence.
            Incoming::Control(PacketType::Ping, data) if session.version() == EngineVersion::V3 => {
                session.client_ping(data.as_str());
                Ok(None)
            }
            Incoming::Control(PacketType::Ping, _) => Err(CloseReason::TransportError),
            Incoming::Control(_, _) => Err(CloseReason::ParseError),
        }
    }
}

/// `wait`, with the session's reading marked as paused until it resolves (or is dropped), so the heartbeat does
/// not blame the client for a pong the transport has not read.
fn paused_while<S: Send + Sync + 'static>(session: &Arc<Session<S>>, wait: Wait) -> Wait {
    let paused = session.pause_reading();
    Box::pin(async move {
        wait.await;
        drop(paused);
    })
}

impl<H: Handler> Owner<H::State> for Engine<H> {
    fn settings(&self) -> &SessionSettings {
        &self.config.session
    }

    fn schedule(&self, session: &Arc<Session<H::State>>, at: Tick) {
        self.timers.schedule(session, at);
    }

    fn metrics(&self) -> &EndpointMetrics {
        &self.config.metrics
    }

    fn closed(&self, session: &Arc<Session<H::State>>, reason: CloseReason) {
        let websocket = session.transport() == TransportKind::Websocket;
        self.config.metrics.sessions(websocket).dec();
        self.config.metrics.sessions_closed.inc();
        tracing::debug!(sid = %session.id(), reason = reason.as_str(), "session closed");
        self.handler.closed(session, reason);
    }

    fn forget(&self, sid: Sid) {
        self.registry().remove(&sid);
    }

    fn peer(&self, session: &Arc<Session<H::State>>) -> Option<std::net::IpAddr> {
        self.handler.peer(session)
    }
}
