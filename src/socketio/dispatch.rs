//! Packet dispatch: a whole packet of a session goes to its socket (events to the application, acks to the
//! emit waiting for them, DISCONNECT), or starts a CONNECT.

use super::app::{ClientEvent, DisconnectReason, SocketApp};
use super::binary::placeholders_to_binary;
use super::ops::{Adapter, Ops};
use super::packet::{self, Packet, PacketKind};
use super::server::SioSession;
use super::version::SioVersion;
use crate::engineio::{CloseReason, Wait};
use crate::log_escape::Escaped;
use bytes::Bytes;
use std::sync::Arc;

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Acts on one whole packet (its binary attachments reassembled).
    pub(super) fn dispatch(
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        packet: Packet,
        attachments: Vec<Bytes>,
    ) -> Option<Wait> {
        if packet.kind == PacketKind::Connect {
            self.connect(session, packet);
            return None;
        }
        let Some(socket) = session.state().socket(&packet.namespace) else {
            let version = SioVersion::from_engine(session.version());
            if version.v4_packets()
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
            if version == SioVersion::V09 {
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
                    self.app().disconnect(
                        self,
                        &socket,
                        DisconnectReason::ClientNamespaceDisconnect,
                    );
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
                self.app().event(self, &socket, event)
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
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        packet: Packet,
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
}

fn with_binary(args: String, attachments: &[Bytes]) -> Result<String, String> {
    if attachments.is_empty() {
        Ok(args)
    } else {
        placeholders_to_binary(&args, attachments)
    }
}

/// Closes the session over a packet it should not have sent (`parse error`).
pub(super) fn protocol_error<S: Send + Sync + 'static>(
    session: &Arc<SioSession<S>>,
    why: &str,
) -> Option<Wait> {
    tracing::debug!(sid = %session.id(), why, "invalid Socket.IO packet; closing");
    session.close(CloseReason::ParseError);
    None
}
