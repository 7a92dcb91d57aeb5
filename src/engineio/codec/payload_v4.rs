//! Engine.IO v4 polling payloads: packets joined by `\x1e`, binary as `b<base64>`.

use super::packet::{DecodeError, Incoming, Message, Packet, decode_text};
use super::text::Text;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};

/// The record separator between packets.
pub const SEPARATOR: u8 = 0x1e;

/// Encodes packets into one v4 payload.
pub fn encode(packets: &[Packet]) -> Bytes {
    // One text packet (a poll's usual answer) is its own payload: its bytes are shared, not copied.
    if let [Packet::Text(text)] = packets {
        return text.as_bytes().clone();
    }
    let separators = packets.len().saturating_sub(1);
    let size: usize = packets
        .iter()
        .map(|p| match p {
            Packet::Text(text) => text.len(),
            Packet::Binary(data) => data.len().div_ceil(3) * 4 + 1,
        })
        .sum::<usize>()
        + separators;
    // Exactly the size written, so that freezing it takes the buffer over instead of allocating a header for it.
    let mut out = BytesMut::with_capacity(size);
    for (index, packet) in packets.iter().enumerate() {
        if index > 0 {
            out.put_u8(SEPARATOR);
        }
        match packet {
            Packet::Text(text) => out.put_slice(text.as_bytes()),
            Packet::Binary(data) => {
                out.put_u8(b'b');
                out.put_slice(STANDARD.encode(data).as_bytes());
            }
        }
    }
    out.freeze()
}

/// Decodes a v4 payload from a POST body.
pub fn decode(body: Bytes) -> Result<Vec<Incoming>, DecodeError> {
    let text = Text::from_utf8(body).map_err(|_| DecodeError::Utf8)?;
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut packets = Vec::new();
    let mut start = 0;
    for part in text.as_str().split(SEPARATOR as char) {
        let end = start + part.len();
        packets.push(decode_one(text.slice(start, end))?);
        start = end + 1;
    }
    Ok(packets)
}

fn decode_one(part: Text) -> Result<Incoming, DecodeError> {
    match part.as_str().strip_prefix('b') {
        Some(encoded) => {
            let data = STANDARD.decode(encoded).map_err(|_| DecodeError::Base64)?;
            Ok(Incoming::Message(Message::Binary(Bytes::from(data))))
        }
        None => decode_text(part),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engineio::codec::packet::PacketType;

    #[test]
    fn round_trips_mixed_payload() {
        let packets = vec![
            Packet::message(&Message::Text(Text::from("hello €"))),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
            Packet::bare(PacketType::Ping),
        ];
        let encoded = encode(&packets);
        assert_eq!(&encoded[..], "4hello €\x1ebAQIDBA==\x1e2".as_bytes());
        let decoded = decode(encoded).unwrap();
        assert_eq!(
            decoded[0],
            Incoming::Message(Message::Text(Text::from("hello €")))
        );
        assert_eq!(
            decoded[1],
            Incoming::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        );
        assert_eq!(
            decoded[2],
            Incoming::Control(PacketType::Ping, Text::default())
        );
    }

    #[test]
    fn rejects_bad_payloads() {
        assert_eq!(decode(Bytes::new()), Err(DecodeError::Empty));
        assert_eq!(
            decode(Bytes::from_static(b"4a\x1e")),
            Err(DecodeError::Empty)
        );
        assert_eq!(decode(Bytes::from_static(b"b!!")), Err(DecodeError::Base64));
        assert_eq!(decode(Bytes::from_static(b"\xff")), Err(DecodeError::Utf8));
        assert_eq!(
            decode(Bytes::from_static(b"x")),
            Err(DecodeError::UnknownType('x'))
        );
    }

    #[test]
    fn empty_message_is_allowed() {
        assert_eq!(
            decode(Bytes::from_static(b"4")).unwrap(),
            vec![Incoming::Message(Message::Text(Text::default()))]
        );
    }

    #[test]
    fn one_text_packet_is_its_own_payload_and_many_are_joined() {
        let one = Packet::message(&Message::Text(Text::from("tick")));
        let Packet::Text(text) = &one else {
            panic!("a text message is a text packet")
        };
        let encoded = encode(std::slice::from_ref(&one));
        assert_eq!(&encoded[..], b"4tick");
        assert_eq!(
            encoded.as_ptr(),
            text.as_bytes().as_ptr(),
            "shared, not copied"
        );
        for packets in [
            vec![one.clone(), one.clone()],
            vec![Packet::Binary(Bytes::from_static(&[9; 7])), one.clone()],
            vec![Packet::Binary(Bytes::new())],
            vec![],
        ] {
            let written = encode(&packets);
            let expected: Vec<u8> = packets
                .iter()
                .map(|packet| match packet {
                    Packet::Text(text) => text.as_bytes().to_vec(),
                    Packet::Binary(data) => format!("b{}", STANDARD.encode(data)).into_bytes(),
                })
                .collect::<Vec<_>>()
                .join(&SEPARATOR);
            assert_eq!(&written[..], &expected[..]);
        }
    }
}
