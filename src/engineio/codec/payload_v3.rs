//! Engine.IO v3 polling payloads (socket.io-client 1.x/2.x, python-engineio 3.x):
//! text `<length>:<packet>` with lengths in UTF-16 code units and binary as `b4<base64>`, and the XHR2 binary
//! framing `<0|1><length digits as bytes><0xFF><data>` with lengths in bytes.

use super::packet::{DecodeError, Incoming, Message, Packet, PacketType, decode_text};
use super::text::{Text, byte_offset_of_utf16, utf16_len};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::{BufMut, Bytes, BytesMut};

/// Encodes packets as a text payload (binary as `b4<base64>`), for `b64=1` and JSONP clients.
pub fn encode_text(packets: &[Packet]) -> String {
    let mut out = String::new();
    for packet in packets {
        match packet {
            Packet::Text(text) => {
                out.push_str(&utf16_len(text.as_str()).to_string());
                out.push(':');
                out.push_str(text.as_str());
            }
            Packet::Binary(data) => {
                let encoded = STANDARD.encode(data);
                out.push_str(&(encoded.len() + 2).to_string());
                out.push_str(":b4");
                out.push_str(&encoded);
            }
        }
    }
    out
}

/// Whether a response must use the binary framing: the client supports binary and a packet is binary.
pub fn needs_binary(packets: &[Packet]) -> bool {
    packets.iter().any(|p| matches!(p, Packet::Binary(_)))
}

/// Encodes packets with the XHR2 binary framing.
pub fn encode_binary(packets: &[Packet]) -> Bytes {
    let mut out = BytesMut::new();
    for packet in packets {
        let (kind, body): (u8, &[u8]) = match packet {
            Packet::Text(text) => (0, text.as_bytes()),
            Packet::Binary(data) => (1, data),
        };
        let length = body.len() + usize::from(kind == 1);
        out.put_u8(kind);
        out.extend(length.to_string().bytes().map(|digit| digit - b'0'));
        out.put_u8(0xff);
        if kind == 1 {
            out.put_u8(PacketType::Message as u8);
        }
        out.put_slice(body);
    }
    out.freeze()
}

/// Decodes a text payload.
pub fn decode_text_payload(body: &str) -> Result<Vec<Incoming>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut packets = Vec::new();
    let mut rest = body;
    while !rest.is_empty() {
        let colon = rest.find(':').ok_or(DecodeError::Length)?;
        let length: usize = rest[..colon].parse().map_err(|_| DecodeError::Length)?;
        let after = &rest[colon + 1..];
        let end = byte_offset_of_utf16(after, length).ok_or(DecodeError::Length)?;
        let packet = &after[..end];
        packets.push(decode_one_text(packet)?);
        rest = &after[end..];
    }
    Ok(packets)
}

fn decode_one_text(packet: &str) -> Result<Incoming, DecodeError> {
    if let Some(encoded) = packet.strip_prefix("b4") {
        let data = STANDARD.decode(encoded).map_err(|_| DecodeError::Base64)?;
        return Ok(Incoming::Message(Message::Binary(Bytes::from(data))));
    }
    decode_text(Text::from(packet))
}

/// Decodes an XHR2 binary payload (Content-Type `application/octet-stream`).
pub fn decode_binary_payload(body: &Bytes) -> Result<Vec<Incoming>, DecodeError> {
    if body.is_empty() {
        return Err(DecodeError::Empty);
    }
    let mut packets = Vec::new();
    let mut at = 0;
    while at < body.len() {
        let is_binary = match body[at] {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Length),
        };
        at += 1;
        let mut length: usize = 0;
        let mut digits = 0;
        loop {
            let byte = *body.get(at).ok_or(DecodeError::Length)?;
            at += 1;
            if byte == 0xff {
                break;
            }
            if byte > 9 || digits >= 10 {
                return Err(DecodeError::Length);
            }
            length = length * 10 + usize::from(byte);
            digits += 1;
        }
        if digits == 0 || at + length > body.len() {
            return Err(DecodeError::Length);
        }
        let chunk = body.slice(at..at + length);
        at += length;
        packets.push(if is_binary {
            // The first byte is the packet type (always a message for binary data).
            match chunk.first() {
                Some(&kind) if kind == PacketType::Message as u8 => {
                    Incoming::Message(Message::Binary(chunk.slice(1..)))
                }
                _ => return Err(DecodeError::Length),
            }
        } else {
            let text = Text::from_utf8(chunk).map_err(|_| DecodeError::Utf8)?;
            decode_one_text(text.as_str())?
        });
    }
    Ok(packets)
}

/// Wraps a text payload for a JSONP poll: `___eio[N]("...");`, with U+2028/U+2029 escaped.
pub fn jsonp_wrap(index: &str, payload: &str) -> String {
    format!("___eio[{index}]({});", js_string(payload))
}

/// `text` as a JavaScript string literal: JSON quoting, plus U+2028/U+2029 escaped (line ends in older engines).
pub(crate) fn js_string(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string());
    quoted
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The payload of a JSONP POST: the form field `d`, with escaped newlines turned back into newlines.
pub fn jsonp_body(form: &[u8]) -> Option<String> {
    Some(unescape_newlines(&jsonp_form_data(form)?))
}

/// The form field `d` of a JSONP POST (Engine.IO v3 and Socket.IO 0.9 clients post through a hidden form).
pub(crate) fn jsonp_form_data(form: &[u8]) -> Option<String> {
    form_urlencoded::parse(form)
        .find(|(key, _)| key == "d")
        .map(|(_, value)| value.into_owned())
}

/// Whether a JSONP callback index (`j=` for Engine.IO v3, `i=` / `jsonp=` for Socket.IO 0.9) is usable:
/// 1 to 9 digits, so it can be written into the script answer as it is.
pub(crate) fn is_jsonp_index(index: &str) -> bool {
    !index.is_empty() && index.len() <= 9 && index.bytes().all(|b| b.is_ascii_digit())
}

/// `\n` written as backslash-n by the JSONP client becomes a newline; an escaped backslash stays.
fn unescape_newlines(data: &str) -> String {
    let mut out = String::with_capacity(data.len());
    let mut chars = data.chars().peekable();
    while let Some(ch) = chars.next() {
        if ch != '\\' {
            out.push(ch);
            continue;
        }
        match chars.peek() {
            Some('\\') => {
                out.push_str("\\\\");
                chars.next();
            }
            Some('n') => {
                out.push('\n');
                chars.next();
            }
            _ => out.push('\\'),
        }
    }
    out
}

/// Whether a v3 packet is the client's ping.
pub fn is_ping(incoming: &Incoming) -> bool {
    matches!(incoming, Incoming::Control(PacketType::Ping, _))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str) -> Packet {
        Packet::message(&Message::Text(Text::from(text)))
    }

    #[test]
    fn text_payload_counts_utf16_units() {
        let packets = [
            message("hello"),
            message("é😀"),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        let encoded = encode_text(&packets);
        assert_eq!(encoded, "6:4hello4:4é😀10:b4AQIDBA==");
        let decoded = decode_text_payload(&encoded).unwrap();
        assert_eq!(
            decoded[1],
            Incoming::Message(Message::Text(Text::from("é😀")))
        );
        assert_eq!(
            decoded[2],
            Incoming::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        );
    }

    #[test]
    fn binary_framing_matches_the_reference_bytes() {
        let packets = [
            message("hello"),
            Packet::Binary(Bytes::from_static(&[1, 2, 3, 4])),
        ];
        let encoded = encode_binary(&packets);
        assert_eq!(
            &encoded[..],
            &[
                0x00, 0x06, 0xff, 0x34, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0x01, 0x05, 0xff, 0x04, 1, 2,
                3, 4
            ]
        );
        let decoded = decode_binary_payload(&encoded).unwrap();
        assert_eq!(
            decoded[0],
            Incoming::Message(Message::Text(Text::from("hello")))
        );
        assert_eq!(
            decoded[1],
            Incoming::Message(Message::Binary(Bytes::from_static(&[1, 2, 3, 4])))
        );
        let ping = decode_binary_payload(&Bytes::from_static(&[0, 1, 0xff, b'2'])).unwrap();
        assert!(is_ping(&ping[0]));
    }

    #[test]
    fn bad_payloads_are_errors() {
        for bad in ["", "abc", "5:4hi", "x:4hi", "2:4h3:"] {
            assert!(decode_text_payload(bad).is_err(), "{bad:?}");
        }
        for bad in [
            &[][..],
            &[2, 1, 0xff, b'2'],
            &[0, 5, 0xff, b'2'],
            &[0, 0xff],
            &[0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0xff],
        ] {
            assert!(
                decode_binary_payload(&Bytes::copy_from_slice(bad)).is_err(),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn jsonp_round_trip() {
        let wrapped = jsonp_wrap("0", "6:4he\"l\u{2028}");
        assert_eq!(wrapped, "___eio[0](\"6:4he\\\"l\\u2028\");");
        assert_eq!(jsonp_body(b"d=6%3A4hel%5Cnlo").unwrap(), "6:4hel\nlo");
        assert_eq!(jsonp_body(b"d=a%5C%5Cnb").unwrap(), "a\\\\nb");
        assert!(jsonp_body(b"x=1").is_none());
        assert!(is_jsonp_index("12") && !is_jsonp_index("") && !is_jsonp_index("1a"));
        assert!(!is_jsonp_index("1234567890"));
    }
}
