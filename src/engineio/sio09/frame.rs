//! Socket.IO 0.9 payloads: one message as it is, several as `\u{fffd}<length>\u{fffd}<message>...` with lengths
//! in UTF-16 code units (JavaScript string lengths); JSONP wrapping `io.j[N]("...");` and `d=` form posts.

use crate::engineio::codec::packet::DecodeError;
use crate::engineio::codec::payload_v3::{js_string, jsonp_form_data};
use crate::engineio::codec::text::{byte_offset_of_utf16, utf16_len};

/// Separates the frames of a multi-message payload.
const SEPARATOR: char = '\u{fffd}';

/// The payload carrying `messages`: a single message unframed, several framed.
pub fn encode_payload(messages: &[String]) -> String {
    if let [only] = messages {
        return only.clone();
    }
    let mut out = String::with_capacity(messages.iter().map(|m| m.len() + 12).sum());
    for message in messages {
        out.push(SEPARATOR);
        out.push_str(&utf16_len(message).to_string());
        out.push(SEPARATOR);
        out.push_str(message);
    }
    out
}

/// The messages of a payload. A payload that does not start with the separator is one message.
pub fn decode_payload(text: &str) -> Result<Vec<&str>, DecodeError> {
    if text.is_empty() {
        return Err(DecodeError::Empty);
    }
    let Some(mut rest) = text.strip_prefix(SEPARATOR) else {
        return Ok(vec![text]);
    };
    let mut messages = Vec::new();
    loop {
        let (digits, after) = rest
            .split_once(SEPARATOR)
            .ok_or(DecodeError::Sio09("frame length without its separator"))?;
        if digits.is_empty() || digits.len() > 10 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(DecodeError::Sio09("frame length is not a number"));
        }
        let units: usize = digits
            .parse()
            .map_err(|_| DecodeError::Sio09("frame length is not a number"))?;
        let end = byte_offset_of_utf16(after, units)
            .ok_or(DecodeError::Sio09("frame length runs past the payload"))?;
        messages.push(&after[..end]);
        rest = &after[end..];
        if rest.is_empty() {
            return Ok(messages);
        }
        rest = rest
            .strip_prefix(SEPARATOR)
            .ok_or(DecodeError::Sio09("frame not followed by a separator"))?;
    }
}

/// A JSONP answer: `io.j[index]("payload");`.
pub(crate) fn jsonp(index: &str, payload: &str) -> String {
    format!("io.j[{index}]({});", js_string(payload))
}

/// The payload of a JSONP POST: the form field `d` holds the payload as a JSON string.
pub(crate) fn jsonp_post_body(form: &[u8]) -> Option<String> {
    serde_json::from_str::<String>(&jsonp_form_data(form)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_is_unframed_and_several_are_framed_in_utf16_units() {
        assert_eq!(encode_payload(&["2::".into()]), "2::");
        let framed = encode_payload(&["1::".into(), "3:::h€llo😀".into()]);
        assert_eq!(framed, "\u{fffd}3\u{fffd}1::\u{fffd}11\u{fffd}3:::h€llo😀");
        assert_eq!(decode_payload(&framed).unwrap(), ["1::", "3:::h€llo😀"]);
        assert_eq!(decode_payload("5:::{}").unwrap(), ["5:::{}"]);
    }

    #[test]
    fn bad_frames_are_errors() {
        for bad in [
            "",
            "\u{fffd}",
            "\u{fffd}3",
            "\u{fffd}x\u{fffd}1::",
            "\u{fffd}9\u{fffd}1::",
            "\u{fffd}3\u{fffd}1::junk",
            "\u{fffd}1\u{fffd}😀",
            "\u{fffd}99999999999\u{fffd}1::",
        ] {
            assert!(decode_payload(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn jsonp_wraps_and_unwraps() {
        assert_eq!(
            jsonp("2", "1::\u{2028}\"x"),
            "io.j[2](\"1::\\u2028\\\"x\");"
        );
        assert_eq!(
            jsonp_post_body(b"d=%225%3A%3A%3A%7B%5C%22name%5C%22%3A1%7D%22").unwrap(),
            "5:::{\"name\":1}"
        );
        assert!(jsonp_post_body(b"d=not-json").is_none());
        assert!(jsonp_post_body(b"x=1").is_none());
    }
}
