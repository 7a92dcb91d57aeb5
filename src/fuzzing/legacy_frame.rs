//! The Socket.IO 0.9 payload framing (`engineio::sio09::decode_payload`) and its JSONP form body
//! (`jsonp_post_body`).
//!
//! Asserts: a payload not starting with the separator is one message, as it is; the messages of a framed payload
//! lie within it, and framed again decode to the same messages; a payload posted through the JSONP form is read
//! back as posted; a JSONP answer wrapping the input is one JavaScript string literal that holds it exactly,
//! with no raw line terminator.

use super::support::script_string;
use crate::engineio::sio09::frame::{jsonp, jsonp_post_body};
use crate::engineio::sio09::{decode_payload, encode_payload};

/// The separator of framed payloads.
const SEPARATOR: char = '\u{fffd}';

/// Runs the checks on `data`, a POST body or a JSONP form body.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        round_trip(text);
        assert_eq!(script_string(&jsonp("3", text), "io.j[3]"), text);
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("d", &serde_json::Value::from(text).to_string())
            .finish();
        assert_eq!(jsonp_post_body(form.as_bytes()).as_deref(), Some(text));
    }
    if let Some(body) = jsonp_post_body(data) {
        round_trip(&body);
    }
}

fn round_trip(text: &str) {
    let Ok(messages) = decode_payload(text) else {
        return;
    };
    if !text.starts_with(SEPARATOR) {
        assert_eq!(messages, [text], "an unframed payload is one message");
        return;
    }
    assert!(messages.iter().map(|m| m.len()).sum::<usize>() <= text.len());
    let owned: Vec<String> = messages.iter().map(|m| m.to_string()).collect();
    // One message goes out unframed, so it reads back only when it cannot be taken for a frame.
    if let [only] = &owned[..] {
        if only.is_empty() || only.starts_with(SEPARATOR) {
            return;
        }
    }
    let encoded = encode_payload(&owned);
    match decode_payload(&encoded) {
        Ok(again) => assert_eq!(again, messages, "re-encoded as {encoded:?}"),
        Err(error) => panic!("re-encoded payload {encoded:?} refused: {error}"),
    }
}
