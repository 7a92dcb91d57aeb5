//! The Socket.IO 0.9 message decoder (`socketio::sio09_message::parse`) and the translation of client messages
//! into Socket.IO packets (`socketio::sio09::Sio09Translator`).
//!
//! Asserts: a message's parts encoded again parse to the same parts; every packet a 0.9 message becomes is one
//! the Socket.IO packet decoder takes (for endpoints without `,`, which the packet format cannot carry); the
//! automatic acknowledgement goes back to the client as one 0.9 ACK message of the same id; and every 0.9
//! message made from a packet (the input taken as Socket.IO packet text) is one a 0.9 client can parse.

use crate::engineio::sio09::Sio09Codec;
use crate::engineio::{Incoming, Message, Packet, Text};
use crate::socketio::packet;
use crate::socketio::sio09::Sio09Translator;
use crate::socketio::sio09_message::{Sio09Kind, encode, parse};

/// Runs the checks on `data`, one 0.9 message (or the text of a Socket.IO packet for the way back).
pub fn check(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(message) = parse(text) {
        let data = (!message.data.is_empty()).then_some(message.data);
        let encoded = encode(
            message.kind,
            message.id,
            message.data_ack,
            message.endpoint,
            data,
        );
        assert_eq!(
            parse(&encoded),
            Ok(message.clone()),
            "re-encoded as {encoded:?}"
        );
        translate(text, message.endpoint, message.id);
    }
    let packet = Packet::Text(Text::from(format!("4{text}")));
    for message in Sio09Translator.encode(&[packet]) {
        assert!(client_parses(&message), "{message:?} made of {text:?}");
    }
}

/// Whether a 0.9 client reads `message` as one: `type:[digits][+]:` then anything (its parser takes ids of any
/// length; ours, for client messages, at most 15 digits).
fn client_parses(message: &str) -> bool {
    let Some((kind, rest)) = message.split_once(':') else {
        return false;
    };
    let Some((id, _)) = rest.split_once(':') else {
        return false;
    };
    let digits = id.strip_suffix('+').unwrap_or(id);
    matches!(kind, "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8")
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Checks what the 0.9 message `text` from a client becomes.
fn translate(text: &str, endpoint: &str, id: Option<u64>) {
    let Ok(decoded) = Sio09Translator.decode(text) else {
        return;
    };
    // A namespace with `,` cannot be written in a Socket.IO packet (noticed by this target, left as it is: the
    // session ends with a parse error, as for any message the socket.io layer cannot read).
    if endpoint
        .split('?')
        .next()
        .is_some_and(|path| path.contains(','))
    {
        return;
    }
    for incoming in &decoded.packets {
        if let Incoming::Message(Message::Text(sio)) = incoming {
            if let Err(error) = packet::decode(sio.as_str()) {
                panic!("{text:?} became {sio:?}, refused: {error}");
            }
        }
    }
    if let Some(reply) = &decoded.reply {
        let messages = Sio09Translator.encode(std::slice::from_ref(reply));
        let [ack] = &messages[..] else {
            panic!("the automatic ack of {text:?} is {messages:?}");
        };
        let parsed = parse(ack);
        assert!(
            parsed.as_ref().is_ok_and(|m| m.kind == Sio09Kind::Ack),
            "the automatic ack of {text:?} is {ack:?}"
        );
        let id = id.map(|id| id.to_string());
        assert!(
            parsed.is_ok_and(|m| m.data.split('+').next() == id.as_deref()),
            "the automatic ack of {text:?} is {ack:?}"
        );
    }
}
