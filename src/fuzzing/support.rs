//! Helpers the checks share.

use crate::engineio::{Incoming, Message, Packet};

/// The packet a server would send for what a client sent: the inverse of the payload decoders.
pub(super) fn outgoing(incoming: &Incoming) -> Packet {
    match incoming {
        Incoming::Control(kind, data) => Packet::text(*kind, data.as_str()),
        Incoming::Message(message @ Message::Text(_)) => Packet::message(message),
        Incoming::Message(Message::Binary(data)) => Packet::Binary(data.clone()),
    }
}

/// The first `N` bytes of `data` (parameters of the check, zero when missing) and the rest (the input).
pub(super) fn split_params<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut params = [0u8; N];
    let taken = data.len().min(N);
    params[..taken].copy_from_slice(&data[..taken]);
    (params, &data[taken..])
}

/// What a script answer `<prefix>(<string literal>);` carries, checking that the literal is one JSON string with
/// the line separators JavaScript engines end lines at escaped.
pub(super) fn script_string(answer: &str, prefix: &str) -> String {
    let Some(literal) = answer
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('('))
        .and_then(|rest| rest.strip_suffix(");"))
    else {
        panic!("script answer not shaped {prefix}(...);: {answer:?}");
    };
    assert!(
        !literal.contains(['\u{2028}', '\u{2029}', '\n', '\r']),
        "raw line terminator in a script answer: {answer:?}"
    );
    match serde_json::from_str::<String>(literal) {
        Ok(text) => text,
        Err(error) => panic!("script answer literal is not a JSON string ({error}): {answer:?}"),
    }
}
