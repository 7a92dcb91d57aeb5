//! The Engine.IO v4 polling payload decoder (`engineio::payload_v4::decode`).
//!
//! Asserts: a payload decodes to one packet per `\x1e`-separated part, and the packets encoded again decode to
//! the same packets.

use super::support::outgoing;
use crate::engineio::codec::payload_v4::{SEPARATOR, decode, encode};
use bytes::Bytes;

/// Runs the checks on `data`, a POST body.
pub fn check(data: &[u8]) {
    let Ok(packets) = decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let parts = data.iter().filter(|&&b| b == SEPARATOR).count() + 1;
    assert_eq!(packets.len(), parts, "one packet per part");
    let encoded = encode(&packets.iter().map(outgoing).collect::<Vec<_>>());
    match decode(encoded.clone()) {
        Ok(again) => assert_eq!(again, packets, "re-encoded as {encoded:?}"),
        Err(error) => panic!("re-encoded payload {encoded:?} refused: {error}"),
    }
}
