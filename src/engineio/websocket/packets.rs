//! How Engine.IO packets travel in WebSocket messages, per protocol generation: the only two places that know.
//!
//! v4: one packet per message; text packets as text messages, binary packets as binary messages.
//! v3: the same, except that binary messages start with the packet type byte (4).
//! Socket.IO 0.9 (`EngineVersion::Sio09`): text messages only, each a `\u{fffd}`-framed batch of 0.9 messages,
//! translated by the layer above's [`Sio09Codec`](crate::engineio::sio09::Sio09Codec).

use crate::engineio::codec::packet::{Incoming, Message, Packet, PacketType, decode_text};
use crate::engineio::codec::text::Text;
use crate::engineio::engine::Engine;
use crate::engineio::handler::Handler;
use crate::engineio::session::{CloseReason, Session};
use crate::engineio::sio09::decode_payload;
use crate::engineio::version::EngineVersion;
use crate::engineio::ws_frame::WsMessage;
use std::sync::Arc;

/// The WebSocket messages that carry a batch of packets drained from `session`, in the session's protocol.
pub(crate) fn messages_for<H: Handler>(
    engine: &Engine<H>,
    session: &Session<H::State>,
    batch: Vec<Packet>,
) -> Vec<WsMessage> {
    let version = session.version();
    match engine.handler().sio09() {
        Some(codec) if version == EngineVersion::Sio09 => codec
            .encode(&batch)
            .into_iter()
            .map(|message| WsMessage::Text(Text::from(message)))
            .collect(),
        _ => engineio_messages(batch, version),
    }
}

/// The packets a message from the client of `session` carries, in order, or why the session must close. A
/// Socket.IO 0.9 message may hold several messages and ask for automatic acknowledgements, queued here.
pub(crate) fn packets_from<H: Handler>(
    engine: &Engine<H>,
    session: &Arc<Session<H::State>>,
    message: WsMessage,
) -> Result<Vec<Incoming>, CloseReason> {
    let version = session.version();
    let codec = match engine.handler().sio09() {
        Some(codec) if version == EngineVersion::Sio09 => codec,
        _ => return engineio_packets(message, version).map(|packet| vec![packet]),
    };
    let WsMessage::Text(text) = message else {
        return Err(CloseReason::ParseError);
    };
    let mut packets = Vec::new();
    for message in decode_payload(text.as_str()).map_err(|_| CloseReason::ParseError)? {
        let decoded = codec.decode(message).map_err(|_| CloseReason::ParseError)?;
        if let Some(reply) = decoded.reply {
            session.send(reply);
        }
        packets.extend(decoded.packets);
    }
    Ok(packets)
}

/// Engine.IO v3 / v4: one message per packet.
fn engineio_messages(batch: Vec<Packet>, version: EngineVersion) -> Vec<WsMessage> {
    batch
        .into_iter()
        .map(|packet| match packet {
            Packet::Text(text) => WsMessage::Text(text),
            Packet::Binary(data) if version == EngineVersion::V3 => {
                let mut framed = Vec::with_capacity(data.len() + 1);
                framed.push(PacketType::Message as u8);
                framed.extend_from_slice(&data);
                WsMessage::Binary(framed.into())
            }
            Packet::Binary(data) => WsMessage::Binary(data),
        })
        .collect()
}

/// Engine.IO v3 / v4: the one packet of a message.
fn engineio_packets(message: WsMessage, version: EngineVersion) -> Result<Incoming, CloseReason> {
    Ok(match message {
        WsMessage::Binary(data) if version == EngineVersion::V3 => match data.first() {
            Some(&kind) if kind == PacketType::Message as u8 => {
                Incoming::Message(Message::Binary(data.slice(1..)))
            }
            _ => return Err(CloseReason::ParseError),
        },
        WsMessage::Binary(data) => Incoming::Message(Message::Binary(data)),
        WsMessage::Text(text) => decode_text(text).map_err(|_| CloseReason::ParseError)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn v3_binary_messages_carry_the_type_byte() {
        let data = Bytes::from_static(&[1, 2]);
        let batch = vec![Packet::Binary(data.clone()), Packet::bare(PacketType::Ping)];
        assert_eq!(
            engineio_messages(batch.clone(), EngineVersion::V3),
            vec![
                WsMessage::Binary(Bytes::from_static(&[4, 1, 2])),
                WsMessage::Text(Text::from("2"))
            ]
        );
        assert_eq!(
            engineio_messages(batch, EngineVersion::V4)[0],
            WsMessage::Binary(data.clone())
        );
        let back = engineio_packets(
            WsMessage::Binary(Bytes::from_static(&[4, 1, 2])),
            EngineVersion::V3,
        );
        assert_eq!(back, Ok(Incoming::Message(Message::Binary(data))));
        assert_eq!(
            engineio_packets(
                WsMessage::Binary(Bytes::from_static(&[2])),
                EngineVersion::V3
            ),
            Err(CloseReason::ParseError)
        );
    }

    #[test]
    fn text_messages_are_decoded_as_packets() {
        assert_eq!(
            engineio_packets(WsMessage::Text(Text::from("3")), EngineVersion::V4),
            Ok(Incoming::Control(PacketType::Pong, Text::from("")))
        );
        assert_eq!(
            engineio_packets(WsMessage::Text(Text::from("hello")), EngineVersion::V4),
            Err(CloseReason::ParseError)
        );
    }
}
