//! Binary reassembly: a BINARY_EVENT or BINARY_ACK arrives as a text packet then its attachments, one Engine.IO
//! message each; the packet is dispatched once the last one is in, within the endpoint's `max_buffer`.

use super::app::SocketApp;
use super::dispatch::protocol_error;
use super::ops::{Adapter, Ops};
use super::packet::{self, Packet};
use super::server::SioSession;
use crate::engineio::{Message, Wait};
use bytes::Bytes;

/// A binary packet waiting for its attachments.
pub(crate) struct PartialPacket {
    /// The decoded text part; `attachments` says how many follow.
    pub(crate) packet: Packet,
    /// The attachments received so far, in order.
    pub(crate) attachments: Vec<Bytes>,
}

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Takes one Engine.IO message of the session: a whole packet is dispatched, a binary one waits for its
    /// attachments.
    pub(super) fn on_message(
        &self,
        session: &std::sync::Arc<SioSession<A::SocketState>>,
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
                        conn.lock().partial = Some(Box::new(PartialPacket {
                            packet,
                            attachments: Vec::with_capacity(1),
                        }));
                        return None;
                    }
                    Ok(packet) => (packet, Vec::new()),
                    Err(error) => return protocol_error(session, &error.to_string()),
                }
            }
            Message::Binary(data) => {
                let mut inner = conn.lock();
                let Some(partial) = inner.partial.as_deref_mut() else {
                    drop(inner);
                    return protocol_error(session, "unexpected binary message");
                };
                partial.attachments.push(data);
                let held: usize = partial.attachments.iter().map(Bytes::len).sum();
                if held > self.config.max_attachment_bytes {
                    inner.partial = None;
                    drop(inner);
                    self.config.metrics.refused("attachments_too_large");
                    tracing::debug!(sid = %session.id(), held, "binary attachments over max_buffer; closing");
                    session.close_overflowed();
                    return None;
                }
                if partial.attachments.len() < partial.packet.attachments {
                    return None;
                }
                let PartialPacket {
                    packet,
                    attachments,
                } = *inner.partial.take()?;
                (packet, attachments)
            }
        };
        self.dispatch(session, packet, attachments)
    }
}
