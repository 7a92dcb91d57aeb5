//! Socket.IO packets (protocol v5): `<type>[<attachments>-][/<nsp>,][<ack id>][<json>]`.
//! Payloads stay raw JSON text: never parsed into a tree and re-serialized.

use serde_json::value::RawValue;
use std::fmt::Write as _;

/// The Socket.IO packet types.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PacketKind {
    /// `0`: connect to a namespace (client) / accepted (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event.
    Event,
    /// `3`: an acknowledgement.
    Ack,
    /// `4`: the connection to a namespace was refused.
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketKind {
    fn from_digit(digit: u8) -> Option<Self> {
        Some(match digit {
            b'0' => Self::Connect,
            b'1' => Self::Disconnect,
            b'2' => Self::Event,
            b'3' => Self::Ack,
            b'4' => Self::ConnectError,
            b'5' => Self::BinaryEvent,
            b'6' => Self::BinaryAck,
            _ => return None,
        })
    }

    /// The digit that encodes this type.
    pub fn digit(self) -> char {
        (b'0' + self as u8) as char
    }

    /// Whether binary attachments follow packets of this type.
    pub fn is_binary(self) -> bool {
        matches!(self, Self::BinaryEvent | Self::BinaryAck)
    }
}

/// A decoded Socket.IO packet header and its raw JSON payload.
#[derive(Debug, Clone)]
pub struct Packet {
    /// The packet type.
    pub kind: PacketKind,
    /// The namespace, `/` when omitted.
    pub namespace: String,
    /// Binary attachments that follow (binary types only).
    pub attachments: usize,
    /// The ack id, if any.
    pub id: Option<u64>,
    /// The raw JSON payload, if any.
    pub payload: Option<Box<RawValue>>,
}

/// Why a Socket.IO packet was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    /// Unknown or missing type digit.
    #[error("unknown packet type")]
    UnknownType,
    /// The attachment count is missing, malformed or over the limit.
    #[error("illegal attachments")]
    Attachments,
    /// The ack id is not a number that fits.
    #[error("invalid ack id")]
    AckId,
    /// The payload is not JSON.
    #[error("invalid payload JSON")]
    Json,
    /// The payload does not fit the packet type (e.g. an EVENT that is not a non-empty array).
    #[error("invalid payload for packet type")]
    Payload,
}

/// Most binary attachments one packet may announce.
pub const MAX_ATTACHMENTS: usize = 10;

/// Event names a client may not emit.
const RESERVED_EVENTS: [&str; 6] = [
    "connect",
    "connect_error",
    "disconnect",
    "disconnecting",
    "newListener",
    "removeListener",
];

/// Decodes the text of an Engine.IO message as a Socket.IO packet and checks its payload shape.
pub fn decode(text: &str) -> Result<Packet, PacketError> {
    let bytes = text.as_bytes();
    let kind = bytes
        .first()
        .and_then(|d| PacketKind::from_digit(*d))
        .ok_or(PacketError::UnknownType)?;
    let mut at = 1;
    let mut attachments = 0;
    if kind.is_binary() {
        let end = text[at..]
            .find('-')
            .map(|i| at + i)
            .ok_or(PacketError::Attachments)?;
        let digits = &text[at..end];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PacketError::Attachments);
        }
        attachments = digits
            .parse::<usize>()
            .map_err(|_| PacketError::Attachments)?;
        if attachments > MAX_ATTACHMENTS {
            return Err(PacketError::Attachments);
        }
        at = end + 1;
    }
    let mut namespace = "/".to_string();
    if bytes.get(at) == Some(&b'/') {
        let end = text[at..].find(',').map_or(text.len(), |i| at + i);
        namespace = text[at..end].to_string();
        at = (end + 1).min(text.len());
    }
    let digits = text[at..].bytes().take_while(u8::is_ascii_digit).count();
    let id = if digits > 0 {
        let id = text[at..at + digits]
            .parse::<u64>()
            .map_err(|_| PacketError::AckId)?;
        at += digits;
        Some(id)
    } else {
        None
    };
    let rest = &text[at..];
    let payload = if rest.is_empty() {
        None
    } else {
        Some(serde_json::from_str::<Box<RawValue>>(rest).map_err(|_| PacketError::Json)?)
    };
    let packet = Packet {
        kind,
        namespace,
        attachments,
        id,
        payload,
    };
    check_payload(&packet)?;
    Ok(packet)
}

fn first_byte(payload: &Option<Box<RawValue>>) -> Option<u8> {
    payload.as_ref().and_then(|raw| raw.get().bytes().next())
}

fn check_payload(packet: &Packet) -> Result<(), PacketError> {
    let valid = match packet.kind {
        PacketKind::Connect => {
            packet.payload.is_none() || first_byte(&packet.payload) == Some(b'{')
        }
        PacketKind::Disconnect => packet.payload.is_none(),
        PacketKind::ConnectError => matches!(first_byte(&packet.payload), Some(b'{' | b'"')),
        PacketKind::Ack | PacketKind::BinaryAck => first_byte(&packet.payload) == Some(b'['),
        PacketKind::Event | PacketKind::BinaryEvent => {
            let Some(raw) = &packet.payload else {
                return Err(PacketError::Payload);
            };
            event_name_is_valid(raw)
        }
    };
    if valid {
        Ok(())
    } else {
        Err(PacketError::Payload)
    }
}

fn event_name_is_valid(raw: &RawValue) -> bool {
    let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
        return false;
    };
    items
        .first()
        .is_some_and(|first| is_valid_event_name(first))
}

/// Whether raw JSON is an event name a peer accepts: a number, or a string that is not a reserved name.
/// Both sides refuse other EVENT packets, so they are neither accepted nor sent.
pub fn is_valid_event_name(name: &RawValue) -> bool {
    match name.get().as_bytes().first() {
        // Borrowed when the name has no escapes (the usual case), so nothing is allocated.
        Some(b'"') => match serde_json::from_str::<&str>(name.get()) {
            Ok(name) => !RESERVED_EVENTS.contains(&name),
            Err(_) => serde_json::from_str::<String>(name.get())
                .is_ok_and(|name| !RESERVED_EVENTS.contains(&name.as_str())),
        },
        Some(b'-' | b'0'..=b'9') => true,
        _ => false,
    }
}

/// Splits an EVENT payload into the event name (JSON text of the first element) and the raw arguments array.
pub fn split_event(payload: &RawValue) -> Option<(&RawValue, String)> {
    let items: Vec<&RawValue> = serde_json::from_str(payload.get()).ok()?;
    let (first, rest) = items.split_first()?;
    Some((first, join_array(rest)))
}

/// Joins raw JSON values into the text of one array, each element byte for byte.
pub fn join_array(items: &[&RawValue]) -> String {
    let mut out = String::with_capacity(2 + items.iter().map(|i| i.get().len() + 1).sum::<usize>());
    out.push('[');
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        out.push_str(item.get());
    }
    out.push(']');
    out
}

/// Encodes a packet for the wire. `payload` is raw JSON text.
pub fn encode(
    kind: PacketKind,
    namespace: &str,
    attachments: usize,
    id: Option<u64>,
    payload: Option<&str>,
) -> String {
    let mut out = String::with_capacity(8 + namespace.len() + payload.map_or(0, str::len));
    out.push(kind.digit());
    if kind.is_binary() {
        let _ = write!(out, "{attachments}-");
    }
    if namespace != "/" {
        out.push_str(namespace);
        out.push(',');
    }
    if let Some(id) = id {
        let _ = write!(out, "{id}");
    }
    if let Some(payload) = payload {
        out.push_str(payload);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_reference_examples() {
        let p = decode("0").unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.payload.is_none()),
            (PacketKind::Connect, "/", true)
        );
        let p = decode("0/admin,{\"token\":\"123\"}").unwrap();
        assert_eq!(p.namespace, "/admin");
        assert_eq!(p.payload.unwrap().get(), "{\"token\":\"123\"}");
        let p = decode("2/chat,12[\"hello\",1.50,{\"b\":1,\"a\":2}]").unwrap();
        assert_eq!((p.kind, p.id), (PacketKind::Event, Some(12)));
        let (name, args) = split_event(p.payload.as_ref().unwrap()).unwrap();
        assert_eq!(name.get(), "\"hello\"");
        assert_eq!(args, "[1.50,{\"b\":1,\"a\":2}]");
        let p = decode("51-[\"up\",{\"_placeholder\":true,\"num\":0}]").unwrap();
        assert_eq!((p.kind, p.attachments), (PacketKind::BinaryEvent, 1));
        let p = decode("3/nsp,7[]").unwrap();
        assert_eq!(
            (p.kind, p.id, p.namespace.as_str()),
            (PacketKind::Ack, Some(7), "/nsp")
        );
        assert_eq!(decode("1/x,").unwrap().kind, PacketKind::Disconnect);
    }

    #[test]
    fn refuses_what_the_reference_refuses() {
        for bad in [
            "",
            "9",
            "2",
            "2{}",
            "2[]",
            "2[\"connect\"]",
            "2[{}]",
            "2[\"a\"",
            "0[]",
            "0\"x\"",
            "1{}",
            "3{}",
            "5[\"a\"]",
            "5x-[\"a\"]",
            "511-[\"a\"]",
            "299999999999999999999999[\"a\"]",
        ] {
            assert!(decode(bad).is_err(), "{bad:?} must be refused");
        }
        assert!(decode("2[42]").is_ok(), "numeric event names are allowed");
    }

    #[test]
    fn encodes_with_optional_parts() {
        assert_eq!(
            encode(PacketKind::Connect, "/", 0, None, Some("{\"sid\":\"x\"}")),
            "0{\"sid\":\"x\"}"
        );
        assert_eq!(
            encode(PacketKind::Ack, "/chat", 0, Some(3), Some("[1]")),
            "3/chat,3[1]"
        );
        assert_eq!(
            encode(PacketKind::BinaryEvent, "/", 2, None, Some("[]")),
            "52-[]"
        );
        assert_eq!(encode(PacketKind::Disconnect, "/a", 0, None, None), "1/a,");
    }
}
