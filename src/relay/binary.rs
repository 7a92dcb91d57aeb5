//! `{"$binary":"<base64>"}`: how binary data travels inside webhook JSON, both ways.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde::Deserialize;

/// The JSON text `{"$binary":"<base64>"}` for `data`.
pub fn to_json(data: &[u8]) -> String {
    format!("{{\"$binary\":\"{}\"}}", STANDARD.encode(data))
}

/// A `{"$binary": ...}` object as received from a backend.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryJson {
    /// The base64 text.
    #[serde(rename = "$binary")]
    pub base64: String,
}

impl BinaryJson {
    /// Decodes the base64 text.
    pub fn decode(&self) -> Result<Bytes, String> {
        STANDARD
            .decode(&self.base64)
            .map(Bytes::from)
            .map_err(|e| format!("invalid $binary base64: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let json = to_json(&[1, 2, 3]);
        assert_eq!(json, r#"{"$binary":"AQID"}"#);
        let parsed: BinaryJson = serde_json::from_str(&json).unwrap();
        assert_eq!(parsed.decode().unwrap(), Bytes::from_static(&[1, 2, 3]));
        let bad: BinaryJson = serde_json::from_str(r#"{"$binary":"!!"}"#).unwrap();
        assert!(bad.decode().is_err());
    }
}
