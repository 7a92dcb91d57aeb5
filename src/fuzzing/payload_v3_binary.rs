//! The Engine.IO v3 XHR2 binary payload decoder (`engineio::payload_v3::decode_binary_payload`).
//!
//! Asserts: each packet takes at least three bytes of the payload (kind, a length digit, `0xFF`), and the
//! packets encoded again decode to the same packets.

use super::support::outgoing;
use crate::engineio::codec::payload_v3::{decode_binary_payload, encode_binary};
use bytes::Bytes;

/// Runs the checks on `data`, an `application/octet-stream` POST body.
pub fn check(data: &[u8]) {
    let Ok(packets) = decode_binary_payload(&Bytes::copy_from_slice(data)) else {
        return;
    };
    assert!(packets.len() * 3 <= data.len(), "more packets than framing");
    let encoded = encode_binary(&packets.iter().map(outgoing).collect::<Vec<_>>());
    match decode_binary_payload(&encoded) {
        Ok(again) => assert_eq!(again, packets, "re-encoded as {encoded:?}"),
        Err(error) => panic!("re-encoded payload {encoded:?} refused: {error}"),
    }
}
