//! Restoring a parked socket for a CONNECT that names its private id: checked (window, offset), the backend
//! asked unless configured otherwise, the missed packets written before the CONNECT reply (as Node does), and
//! the socket attached to its new session. A restore that cannot be exact is refused: the CONNECT gets a new
//! socket and the parked one ends with its `disconnect` hook.

use super::RemoteClaim;
use super::log::Replay;
use super::parked::Claim;
use crate::log_escape::Escaped;
use crate::metrics::RecoveryMetrics;
use crate::socketio::app::{Accepted, ConnectRequest, SocketApp};
use crate::socketio::ops::{Adapter, Operation, Ops};
use crate::socketio::outgoing;
use crate::socketio::packet::PacketKind;
use crate::socketio::server::SioSession;
use crate::socketio::socket::Socket;
use crate::socketio::version::SioVersion;
use serde_json::value::RawValue;
use std::sync::Arc;

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Tries to recover the socket `pid` names in namespace `name`. True when the CONNECT has been answered
    /// (recovered, or the backend refused it); false when a new socket is to be made for it.
    pub(crate) async fn restore(
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        name: &str,
        auth: &RawValue,
        pid: &str,
        offset: Option<&str>,
    ) -> bool {
        let Some(settings) = &self.config.recovery else {
            return false;
        };
        let metrics = &settings.metrics;
        let parked = match self.parked.claim(pid, name) {
            Claim::Parked(parked) => parked,
            Claim::Live => {
                metrics.outcome("live");
                return false;
            }
            // Not held here: another node of a cluster may hold it.
            Claim::Unknown => match self.adapter().claim_remote(name, pid, offset).await {
                RemoteClaim::Moved(handed) => {
                    return self.adopt(session, name, auth, offset, handed).await;
                }
                RemoteClaim::Refused(outcome) => {
                    metrics.outcome(outcome);
                    return false;
                }
                RemoteClaim::Unknown => {
                    metrics.outcome("unknown_pid");
                    return false;
                }
            },
        };
        self.parked_changed();
        let sid = parked.socket.id();
        let refused = |outcome: &'static str| {
            metrics.outcome(outcome);
            tracing::debug!(sid = %Escaped(&sid), outcome, "recovery refused; a new socket instead");
        };
        if parked.since.elapsed() > settings.window {
            refused("expired");
            self.end_parked(parked);
            return false;
        }
        let seq = match offset {
            None => None,
            Some(text) => match parked.socket.resolve_offset(text) {
                Some(seq) => seq,
                None => {
                    refused("offset_not_found");
                    self.end_parked(parked);
                    return false;
                }
            },
        };
        let Some(missed) = parked.socket.missed_since(seq) else {
            refused("offset_not_found");
            self.end_parked(parked);
            return false;
        };
        let socket = parked.socket.clone();
        let version = SioVersion::from_engine(session.version());
        let mut accepted = None;
        if !settings.skip_connect_hook {
            let rooms = socket.rooms();
            let data = socket.data();
            let handshake = session.state().handshake().clone();
            let request = ConnectRequest {
                sid: socket.id(),
                namespace: name,
                auth,
                handshake: &handshake,
                recovered: Some(true),
                rooms: &rooms,
                data: data.as_deref(),
            };
            match self.app().connect(request).await {
                Ok(yes) => accepted = Some(yes),
                Err(rejected) => {
                    session.state().lock().connect_decided(name);
                    let refusal = outgoing::plain(
                        PacketKind::ConnectError,
                        name,
                        Some(&rejected.payload(version)),
                    );
                    session.send_all(refusal.0);
                    metrics.outcome("rejected");
                    self.end_parked(parked);
                    return true;
                }
            }
        }
        if !socket.is_connected() {
            // The backend or the API disconnected it meanwhile (its hook went then): a new socket instead.
            metrics.outcome("unknown_pid");
            return false;
        }
        let through = missed.last().map(|(seq, _)| *seq).or(seq).unwrap_or(0);
        self.attach_restored(session, name, &socket, through, missed, accepted, metrics)
    }

    /// Ends a restore (local, or of a socket handed over by another node) once the backend accepted it: writes
    /// `batch` (the missed packets after offset number `through`), then whatever was logged while they were being
    /// queued, attaches the socket to `session` (events go to it directly from then: none twice, none lost), and
    /// answers the CONNECT with the socket's id and pid, then the backend's `connect` reply's emits. When the new
    /// session ended meanwhile, the socket is parked again, or ends. Answers true (the CONNECT is answered).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn attach_restored(
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        name: &str,
        socket: &Arc<Socket<A::SocketState>>,
        mut through: u64,
        mut batch: Replay,
        accepted: Option<Accepted<A::SocketState>>,
        metrics: &RecoveryMetrics,
    ) -> bool {
        loop {
            for (seq, packets) in &batch {
                session.send_all(packets.0.iter().cloned());
                through = *seq;
            }
            match socket.attach_after(through, session) {
                Ok(()) => break,
                Err(newer) => batch = newer,
            }
        }
        let closed = {
            let mut inner = session.state().lock();
            inner.connect_decided(name);
            if inner.closed.is_none() {
                inner.sockets.push(socket.clone());
                inner.ever_connected = true;
                inner.connect_timeout = None;
            }
            inner.closed
        };
        self.timers.drop_cancelled();
        let Some(pid) = socket.recovery_pid() else {
            return true;
        };
        self.parked.live(pid.clone());
        if let Some(reason) = closed {
            // The new session ended meanwhile: the socket is parked again, or ends.
            socket.park();
            if session.overflowed() || !self.park(socket, reason) {
                self.end_socket(socket, reason);
            }
            return true;
        }
        metrics.outcome("recovered");
        self.app().connected(socket);
        let emits = match accepted {
            Some(Accepted {
                data, join, emit, ..
            }) => {
                if let Some(data) = data {
                    let _ = self.apply_to_socket(socket, Operation::SetData(Some(data)));
                }
                socket.join(join.iter().map(String::as_str));
                emit
            }
            None => Vec::new(),
        };
        let reply = format!("{{\"sid\":\"{}\",\"pid\":\"{pid}\"}}", socket.id());
        session.send_all(outgoing::plain(PacketKind::Connect, name, Some(&reply)).0);
        for emit in emits {
            if let Err(error) = self.apply_to_socket(socket, Operation::Emit(emit)) {
                tracing::warn!(sid = %Escaped(socket.id()), error = %Escaped(&error), "connect emit dropped");
            }
        }
        true
    }
}
