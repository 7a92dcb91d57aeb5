//! Engine.IO packets: types, the text encoding `<type digit><data>`, and binary messages.

use super::text::Text;
use bytes::{BufMut, Bytes, BytesMut};

/// The Engine.IO packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: the handshake, sent by the server.
    Open,
    /// `1`: end of the session.
    Close,
    /// `2`: heartbeat request.
    Ping,
    /// `3`: heartbeat answer.
    Pong,
    /// `4`: application data.
    Message,
    /// `5`: completes a transport upgrade.
    Upgrade,
    /// `6`: no operation (used to release a poll during upgrade).
    Noop,
}

impl PacketType {
    /// The ASCII digit that encodes this type.
    pub fn digit(self) -> u8 {
        b'0' + self as u8
    }

    /// Decodes a type digit.
    pub fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Open,
            b'1' => Self::Close,
            b'2' => Self::Ping,
            b'3' => Self::Pong,
            b'4' => Self::Message,
            b'5' => Self::Upgrade,
            b'6' => Self::Noop,
            _ => return None,
        })
    }
}

/// An application message carried by a `4` packet or a binary frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

/// An outgoing packet, encoded once and shared by every transport that sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// A text packet, already encoded as `<type digit><data>`.
    Text(Text),
    /// A binary message (Engine.IO type 4 with binary data).
    Binary(Bytes),
}

impl Packet {
    /// A packet of `kind` with text `data` (may be empty).
    pub fn text(kind: PacketType, data: &str) -> Self {
        let mut out = String::with_capacity(1 + data.len());
        out.push(kind.digit() as char);
        out.push_str(data);
        Packet::Text(Text::from(out))
    }

    /// A packet of `kind` without data.
    pub fn bare(kind: PacketType) -> Self {
        const BARE: [&str; 7] = ["0", "1", "2", "3", "4", "5", "6"];
        Packet::Text(Text::from_static(BARE[kind as usize]))
    }

    /// A message packet for `message`.
    pub fn message(message: &Message) -> Self {
        match message {
            Message::Text(text) => {
                let mut out = BytesMut::with_capacity(1 + text.len());
                out.put_u8(b'4');
                out.put_slice(text.as_bytes());
                // The buffer is a digit followed by valid UTF-8.
                Packet::Text(Text::from_utf8(out.freeze()).unwrap_or_default())
            }
            Message::Binary(data) => Packet::Binary(data.clone()),
        }
    }

    /// The bytes of the encoded packet (text or binary), as counted against a session's `max_buffer`.
    pub fn wire_len(&self) -> usize {
        match self {
            Packet::Text(text) => text.len(),
            Packet::Binary(data) => data.len(),
        }
    }

    /// The packet type.
    pub fn kind(&self) -> PacketType {
        match self {
            Packet::Text(text) => text
                .as_bytes()
                .first()
                .and_then(|d| PacketType::from_digit(*d))
                .unwrap_or(PacketType::Message),
            Packet::Binary(_) => PacketType::Message,
        }
    }
}

/// A packet received from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A control packet with its (possibly empty) text data, e.g. `2probe`.
    Control(PacketType, Text),
    /// An application message.
    Message(Message),
}

/// A packet the client sent could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The packet was empty.
    #[error("empty packet")]
    Empty,
    /// The first character is not a packet type.
    #[error("unknown packet type {0:?}")]
    UnknownType(char),
    /// A `b<base64>` packet held bad base64.
    #[error("invalid base64 in binary packet")]
    Base64,
    /// The payload was not valid UTF-8 where text was required.
    #[error("payload is not valid UTF-8")]
    Utf8,
    /// A v3 length prefix was missing or wrong.
    #[error("bad length prefix in payload")]
    Length,
    /// A Socket.IO 0.9 message was malformed.
    #[error("invalid Socket.IO 0.9 message: {0}")]
    Sio09(&'static str),
}

/// Decodes one text packet `<type digit><data>`.
pub fn decode_text(packet: Text) -> Result<Incoming, DecodeError> {
    let first = *packet.as_bytes().first().ok_or(DecodeError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(DecodeError::UnknownType(first as char))?;
    let data = packet.slice_from(1);
    Ok(match kind {
        PacketType::Message => Incoming::Message(Message::Text(data)),
        other => Incoming::Control(other, data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_text_and_bare_packets() {
        assert_eq!(
            Packet::text(PacketType::Pong, "probe"),
            Packet::Text(Text::from("3probe"))
        );
        assert_eq!(
            Packet::bare(PacketType::Noop),
            Packet::Text(Text::from("6"))
        );
        let hello = Packet::message(&Message::Text(Text::from("héllo")));
        assert_eq!(hello, Packet::Text(Text::from("4héllo")));
        assert_eq!(hello.kind(), PacketType::Message);
    }

    #[test]
    fn decodes_text_packets() {
        assert_eq!(
            decode_text(Text::from("2probe")).unwrap(),
            Incoming::Control(PacketType::Ping, Text::from("probe"))
        );
        assert_eq!(
            decode_text(Text::from("4€uro")).unwrap(),
            Incoming::Message(Message::Text(Text::from("€uro")))
        );
        assert_eq!(decode_text(Text::from("")), Err(DecodeError::Empty));
        assert_eq!(
            decode_text(Text::from("9x")),
            Err(DecodeError::UnknownType('9'))
        );
        assert_eq!(
            decode_text(Text::from("é")),
            Err(DecodeError::UnknownType('\u{c3}'))
        );
    }
}
