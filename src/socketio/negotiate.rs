//! Connect negotiation for the three client generations: where the namespace and auth come from (v5: the CONNECT
//! payload; v4: a query after the namespace; 0.9: the handshake query), the checks before the application is
//! asked, and the CONNECT or CONNECT_ERROR reply each generation expects.

use super::app::{Accepted, ConnectRequest, DisconnectReason, Rejected, SocketApp};
use super::name_limit;
use super::namespace::Namespace;
use super::ops::{Adapter, Operation, Ops};
use super::outgoing;
use super::packet::{Packet, PacketKind};
use super::recovery::RecoveryClaim;
use super::server::SioSession;
use super::socket::Socket;
use super::socket_id::SocketId;
use super::version::SioVersion;
use crate::engineio::CloseReason;
use crate::log_escape::Escaped;
use serde_json::value::RawValue;
use std::sync::Arc;

/// Query keys that belong to Engine.IO, not to the application's auth.
const ENGINE_QUERY_KEYS: [&str; 6] = ["EIO", "transport", "t", "b64", "j", "sid"];

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// A CONNECT packet from the client.
    pub(super) fn connect(&self, session: &Arc<SioSession<A::SocketState>>, packet: Packet) {
        // v4 clients (socket.io 1.x/2.x) put the auth in a query after the namespace: `40/admin?token=abc,`.
        // Socket.IO 0.9 clients send none: their endpoints were authorized with the handshake's query.
        let version = SioVersion::from_engine(session.version());
        let (name, auth) = if version.v4_packets() {
            let (name, query) = packet
                .namespace
                .split_once('?')
                .unwrap_or((&packet.namespace, ""));
            let auth = if query.is_empty() && version == SioVersion::V09 {
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

    /// Checks a CONNECT to `name` and, if it may go on, asks the application in a task of its own.
    pub(super) fn start_connect(
        &self,
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
        self,
        session: Arc<SioSession<A::SocketState>>,
        name: String,
        auth: Box<RawValue>,
    ) {
        let version = SioVersion::from_engine(session.version());
        // Connection state recovery is for Socket.IO v5 sockets only.
        let recovery = self
            .config
            .recovery
            .as_ref()
            .filter(|_| version == SioVersion::V5);
        let claim = match recovery {
            Some(_) => RecoveryClaim::from_auth(&auth),
            None => RecoveryClaim::default(),
        };
        if let Some(pid) = &claim.pid {
            if self
                .restore(&session, &name, &auth, pid, claim.offset.as_deref())
                .await
            {
                return;
            }
        }
        let sid = if version.v4_packets() {
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
            recovered: recovery.map(|_| false),
            rooms: &[],
            data: None,
        };
        let decision = self.app().connect(request).await;
        let conn = session.state();
        let accepted = match decision {
            Ok(accepted) => accepted,
            Err(rejected) => {
                conn.lock().connect_decided(&name);
                session.send_all(
                    outgoing::plain(
                        PacketKind::ConnectError,
                        &name,
                        Some(&rejected.payload(version)),
                    )
                    .0,
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
        // With recovery on, every v5 socket gets a private id in its CONNECT reply; only those that get offsets
        // can be recovered with it.
        let pid: Option<Arc<str>> = recovery.map(|_| Arc::from(self.adapter().mint_pid().as_str()));
        let offsets = recovery.filter(|settings| settings.offsets_for(&claim, &handshake));
        let make = |namespace| {
            let socket = Arc::new(Socket::new(
                sid.clone(),
                namespace,
                Arc::downgrade(&session),
                handshake,
                state,
                data,
            ));
            if let (Some(settings), Some(pid)) = (offsets, &pid) {
                socket.enable_recovery(pid.clone(), settings.log_limits());
            }
            socket
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
                self.app()
                    .disconnect(&self, &socket, DisconnectReason::Session(reason));
                return;
            }
            let socket = self.table().add(&name, make);
            inner.sockets.push(socket.clone());
            inner.ever_connected = true;
            inner.connect_timeout = None;
            self.config.metrics.sockets.inc();
            socket
        };
        // The connect deadline no longer counts: it leaves the queue once those ahead of it have.
        self.timers.drop_cancelled();
        if let (Some(_), Some(pid)) = (offsets, &pid) {
            self.parked.live(pid.clone());
        }
        self.app().connected(&socket);
        socket.join(join.iter().map(String::as_str));
        // v5 clients learn their id from the reply; v4 clients derive it from the engine id.
        let reply = match &pid {
            Some(pid) => format!("{{\"sid\":\"{sid}\",\"pid\":\"{pid}\"}}"),
            None => format!("{{\"sid\":\"{sid}\"}}"),
        };
        let reply = (!version.v4_packets()).then_some(reply.as_str());
        session.send_all(outgoing::plain(PacketKind::Connect, &name, reply).0);
        for emit in emit {
            if let Err(error) = self.apply_to_socket(&socket, Operation::Emit(emit)) {
                tracing::warn!(sid = %Escaped(&sid), error = %Escaped(&error), "connect emit dropped");
            }
        }
    }
}

/// The handshake query as auth (a v4 or 0.9 client's), without the keys that belong to Engine.IO.
pub(super) fn handshake_auth<S: Send + Sync + 'static>(session: &SioSession<S>) -> Box<RawValue> {
    let query = session
        .state()
        .handshake()
        .query()
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

/// Refuses a CONNECT to `name` with "Invalid namespace".
fn refuse_invalid<S: Send + Sync + 'static>(session: &Arc<SioSession<S>>, name: &str) {
    let invalid = Rejected {
        message: "Invalid namespace".to_string(),
        data: None,
    };
    let version = SioVersion::from_engine(session.version());
    let refusal = outgoing::plain(
        PacketKind::ConnectError,
        name,
        Some(&invalid.payload(version)),
    );
    session.send_all(refusal.0);
}
