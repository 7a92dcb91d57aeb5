//! The Socket.IO packet decoder (`socketio::packet::decode`) and the binary placeholders of its payloads
//! (`socketio::binary`).
//!
//! Asserts: a decoded packet has a namespace starting with `/` and no `,`, at most the attachments allowed and
//! none unless it is a binary type, an EVENT has a valid event name; encoding its parts again decodes to the
//! same parts; replacing placeholders with attachments, or `$binary` objects with placeholders, keeps the
//! payload valid JSON, and the attachments taken out are the ones put in.

use crate::socketio::binary::{binary_to_placeholders, placeholders_to_binary};
use crate::socketio::packet::{
    MAX_ATTACHMENTS, Packet, PacketKind, decode, encode, is_valid_event_name, split_event,
};
use bytes::Bytes;
use serde_json::value::RawValue;

/// Runs the checks on `data`, the text of an Engine.IO message.
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(packet) = decode(text) else {
        return;
    };
    assert!(packet.namespace.starts_with('/') && !packet.namespace.contains(','));
    assert!(packet.attachments <= MAX_ATTACHMENTS);
    assert!(packet.kind.is_binary() || packet.attachments == 0);
    let payload = packet.payload.as_ref().map(|raw| raw.get());
    if matches!(packet.kind, PacketKind::Event | PacketKind::BinaryEvent) {
        let Some((name, _)) = packet.payload.as_deref().and_then(split_event) else {
            panic!("an EVENT without name and arguments: {text:?}");
        };
        assert!(is_valid_event_name(name));
    }
    let encoded = encode(
        packet.kind,
        &packet.namespace,
        packet.attachments,
        packet.id,
        payload,
    );
    match decode(&encoded) {
        Ok(again) => assert_eq!(parts(&again), parts(&packet), "re-encoded as {encoded:?}"),
        Err(error) => panic!("re-encoded packet {encoded:?} refused: {error}"),
    }
    if let Some(payload) = payload {
        placeholders(payload, packet.attachments);
    }
}

fn parts(packet: &Packet) -> (PacketKind, &str, usize, Option<u64>, Option<&str>) {
    (
        packet.kind,
        &packet.namespace,
        packet.attachments,
        packet.id,
        packet.payload.as_ref().map(|raw| raw.get()),
    )
}

/// Checks both placeholder rewrites of `payload`, given `count` attachments.
fn placeholders(payload: &str, count: usize) {
    let attachments: Vec<Bytes> = (0..count)
        .map(|i| Bytes::from(vec![i as u8; i + 1]))
        .collect();
    if let Ok(webhook) = placeholders_to_binary(payload, &attachments) {
        assert_json(&webhook);
    }
    let Ok((wire, taken)) = binary_to_placeholders(payload) else {
        return;
    };
    assert_json(&wire);
    // Placeholders the payload held already would be rewritten too: the round trip is for payloads without.
    if !payload.contains("\"_placeholder\"") && !payload.contains("\"num\"") {
        let Ok(back) = placeholders_to_binary(&wire, &taken) else {
            panic!("placeholders just made are refused: {wire:?}");
        };
        assert_json(&back);
        let Ok((again, taken_again)) = binary_to_placeholders(&back) else {
            panic!("$binary objects just made are refused: {back:?}");
        };
        assert_eq!(again, wire);
        assert_eq!(taken_again, taken);
    }
}

fn assert_json(text: &str) {
    if let Err(error) = serde_json::from_str::<&RawValue>(text) {
        panic!("not JSON after a placeholder rewrite ({error}): {text:?}");
    }
}
