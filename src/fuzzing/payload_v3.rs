//! The Engine.IO v3 text payload decoder (`engineio::payload_v3::decode_text_payload`) and the JSONP form body
//! that carries it (`jsonp_body`).
//!
//! Asserts: packets of a text payload encoded again decode to the same packets; a payload posted through the
//! JSONP form (newlines escaped, as the client does) is read back as posted; a JSONP answer wrapping the input is
//! one JavaScript string literal that holds it exactly, with no raw line terminator.

use super::support::{outgoing, script_string};
use crate::engineio::codec::payload_v3::{
    decode_text_payload, encode_text, jsonp_body, jsonp_wrap,
};

/// Runs the checks on `data`, a text POST body or a JSONP form body.
pub fn check(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        round_trip(text);
        assert_eq!(script_string(&jsonp_wrap("7", text), "___eio[7]"), text);
    }
    if let Some(body) = jsonp_body(data) {
        round_trip(&body);
    }
}

/// Decodes `text`; when it is a payload, checks that its packets survive encoding, directly and through a form.
fn round_trip(text: &str) {
    let Ok(packets) = decode_text_payload(text) else {
        return;
    };
    let encoded = encode_text(&packets.iter().map(outgoing).collect::<Vec<_>>());
    match decode_text_payload(&encoded) {
        Ok(again) => assert_eq!(again, packets, "re-encoded as {encoded:?}"),
        Err(error) => panic!("re-encoded payload {encoded:?} refused: {error}"),
    }
    // The client escapes newlines as backslash-n; a backslash of its own is ambiguous in that scheme.
    if !encoded.contains('\\') {
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("d", &encoded.replace('\n', "\\n"))
            .finish();
        assert_eq!(jsonp_body(form.as_bytes()).as_deref(), Some(&encoded[..]));
    }
}
