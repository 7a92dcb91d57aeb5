//! Building the Engine.IO packets of an outgoing Socket.IO packet, binary attachments included.

use super::app::Emit;
use super::binary::binary_to_placeholders;
use super::packet::{PacketKind, encode, is_valid_event_name, join_array};
use crate::engineio::{Message, Packet, Text};
use serde_json::value::RawValue;

/// An outgoing packet, encoded once: the text packet then its binary attachments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded(pub Vec<Packet>);

/// Encodes an EVENT (or BINARY_EVENT when `args` hold `{"$binary":...}`) with raw `event` and `args` JSON.
/// An event name a client would refuse (not a string or number, or reserved such as `"connect"`) is an error.
pub fn event(
    namespace: &str,
    event: &RawValue,
    args: &[&RawValue],
    id: Option<u64>,
) -> Result<Encoded, String> {
    if !is_valid_event_name(event) {
        return Err(format!(
            "invalid event name {}: a string that is not reserved, or a number",
            event.get()
        ));
    }
    let mut items = Vec::with_capacity(args.len() + 1);
    items.push(event);
    items.extend_from_slice(args);
    build(
        PacketKind::Event,
        PacketKind::BinaryEvent,
        namespace,
        id,
        &join_array(&items),
    )
}

/// Encodes an ACK (or BINARY_ACK) with a raw JSON array of arguments.
pub fn ack(namespace: &str, id: u64, args: &str) -> Result<Encoded, String> {
    build(
        PacketKind::Ack,
        PacketKind::BinaryAck,
        namespace,
        Some(id),
        args,
    )
}

/// Encodes a packet without binary handling (CONNECT, CONNECT_ERROR, DISCONNECT).
pub fn plain(kind: PacketKind, namespace: &str, payload: Option<&str>) -> Encoded {
    Encoded(vec![text_packet(&encode(
        kind, namespace, 0, None, payload,
    ))])
}

fn build(
    text_kind: PacketKind,
    binary_kind: PacketKind,
    namespace: &str,
    id: Option<u64>,
    payload: &str,
) -> Result<Encoded, String> {
    if !payload.contains("\"$binary\"") {
        return Ok(Encoded(vec![text_packet(&encode(
            text_kind,
            namespace,
            0,
            id,
            Some(payload),
        ))]));
    }
    let (payload, attachments) = binary_to_placeholders(payload)?;
    if attachments.is_empty() {
        return Ok(Encoded(vec![text_packet(&encode(
            text_kind,
            namespace,
            0,
            id,
            Some(&payload),
        ))]));
    }
    let mut packets = Vec::with_capacity(1 + attachments.len());
    packets.push(text_packet(&encode(
        binary_kind,
        namespace,
        attachments.len(),
        id,
        Some(&payload),
    )));
    packets.extend(attachments.into_iter().map(Packet::Binary));
    Ok(Encoded(packets))
}

fn text_packet(text: &str) -> Packet {
    Packet::message(&Message::Text(Text::from(text)))
}

/// Encodes an EVENT without ack id from an [`Emit`], once for any number of sockets.
pub fn encode_event(namespace: &str, emit: &Emit) -> Result<Encoded, String> {
    let args: Vec<&RawValue> = emit.args.iter().map(|a| a.as_ref()).collect();
    event(namespace, &emit.event, &args, None)
}

/// Encodes an EVENT without ack id from an [`Emit`] with `offset` appended as its last argument (connection
/// state recovery: the client keeps the last one it got).
pub fn encode_event_with_offset(
    namespace: &str,
    emit: &Emit,
    offset: &str,
) -> Result<Encoded, String> {
    let offset = serde_json::value::to_raw_value(offset).map_err(|e| e.to_string())?;
    let mut args: Vec<&RawValue> = emit.args.iter().map(|a| a.as_ref()).collect();
    args.push(&offset);
    event(namespace, &emit.event, &args, None)
}

/// Splits a raw JSON array into its elements; `None` when it is not an array.
pub fn array_items(raw: &str) -> Option<Vec<&RawValue>> {
    serde_json::from_str(raw).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_string()).unwrap()
    }

    #[test]
    fn plain_events_and_binary_events() {
        let name = raw("\"hi\"");
        let arg = raw("{\"b\":1,\"a\":2.50}");
        let encoded = event("/", &name, &[&arg], None).unwrap();
        assert_eq!(
            encoded.0,
            vec![text_packet("2[\"hi\",{\"b\":1,\"a\":2.50}]")]
        );
        let bin = raw("{\"$binary\":\"AQI=\"}");
        let encoded = event("/chat", &name, &[&bin], Some(4)).unwrap();
        assert_eq!(
            encoded.0,
            vec![
                text_packet("51-/chat,4[\"hi\",{\"_placeholder\":true,\"num\":0}]"),
                Packet::Binary(Bytes::from_static(&[1, 2]))
            ]
        );
        for refused in [
            "\"connect\"",
            "\"disconnect\"",
            "{\"x\":1}",
            "null",
            "[1]",
            "true",
        ] {
            assert!(event("/", &raw(refused), &[], None).is_err(), "{refused}");
        }
        let emit = Emit {
            event: name.clone(),
            args: vec![bin.clone()],
        };
        let encoded = encode_event_with_offset("/", &emit, "tag-7").unwrap();
        assert_eq!(
            encoded.0[0],
            text_packet("51-[\"hi\",{\"_placeholder\":true,\"num\":0},\"tag-7\"]")
        );
        let acked = ack("/", 9, "[{\"$binary\":\"AQ==\"}]").unwrap();
        assert_eq!(
            acked.0[0],
            text_packet("61-9[{\"_placeholder\":true,\"num\":0}]")
        );
    }
}
