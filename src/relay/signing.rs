//! Webhook signatures: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, one `v1` per secret.

use crate::config::Secret;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `X-Iogate-Signature` value for `body` signed at unix time `timestamp` with every secret.
pub fn signature_header(secrets: &[Secret], timestamp: u64, body: &[u8]) -> String {
    let mut header = format!("t={timestamp}");
    for secret in secrets {
        header.push_str(",v1=");
        header.push_str(&hex::encode(sign(
            secret.expose().as_bytes(),
            timestamp,
            body,
        )));
    }
    header
}

fn sign(secret: &[u8], timestamp: u64, body: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => return [0; 32],
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().into()
}

/// Checks a signature header against `secret` (what a backend does); used by tests and examples.
pub fn verify(header: &str, secret: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<u64>().ok(),
            Some(("v1", value)) => candidates.push(value),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let expected = hex::encode(sign(secret.as_bytes(), timestamp, body));
    candidates
        .iter()
        .any(|candidate| constant_time_eq(candidate.as_bytes(), expected.as_bytes()))
}

/// Compares two byte strings in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_known_hmac_vector() {
        // HMAC-SHA256("key", "1700000000.{}") computed independently with Python's hmac module.
        let header = signature_header(&["key".into()], 1_700_000_000, b"{}");
        assert_eq!(
            header,
            "t=1700000000,v1=9d713ed406bb7076d4123f0dc2c39d2df5c654ed4b0cd56b52c8b4c940bd63ae"
        );
    }

    #[test]
    fn rotation_adds_one_signature_per_secret_and_both_verify() {
        let header = signature_header(&["old".into(), "new".into()], 42, b"body");
        assert_eq!(header.matches("v1=").count(), 2);
        assert!(verify(&header, "old", b"body"));
        assert!(verify(&header, "new", b"body"));
        assert!(!verify(&header, "other", b"body"));
        assert!(!verify(&header, "new", b"tampered"));
    }
}
