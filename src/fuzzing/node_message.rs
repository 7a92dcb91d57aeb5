//! The Node ecosystem's Redis messages as iogate reads them (`cluster::cross_node::node_format`): msgpack
//! broadcasts `[uid, packet, opts]` and JSON join/leave/disconnect requests, which anyone who can publish on the
//! Redis may send.
//!
//! The first byte picks the reader (even: broadcast, odd: request); the rest is the message. Asserts: reading never
//! panics; an emit read from a broadcast carries an event name and arguments that are JSON (they go to clients as
//! they are); a message published with this node's own uid is ignored.

use crate::cluster::cross_node::node_format::{self, Skipped};
use crate::socketio::ops::Operation;

/// The uid the checks read as this node's own.
const OWN_UID: &str = "iogate-fuzz";

/// Runs the checks on `data`.
pub fn check(data: &[u8]) {
    let Some((&pick, message)) = data.split_first() else {
        return;
    };
    if pick % 2 == 1 {
        let _ = node_format::request("/", message);
        return;
    }
    match node_format::broadcast(message, OWN_UID) {
        Ok(op) => {
            if let Operation::Emit(emit) = &op.operation {
                assert!(
                    serde_json::from_str::<serde_json::Value>(emit.event.get()).is_ok(),
                    "event name is not JSON: {}",
                    emit.event.get()
                );
                for arg in &emit.args {
                    assert!(
                        serde_json::from_str::<serde_json::Value>(arg.get()).is_ok(),
                        "argument is not JSON: {}",
                        arg.get()
                    );
                }
            }
            let uid =
                rmpv::decode::read_value(&mut &message[..])
                    .ok()
                    .and_then(|value| match value {
                        rmpv::Value::Array(parts) => parts.first().cloned(),
                        _ => None,
                    });
            assert_ne!(
                uid.as_ref().and_then(rmpv::Value::as_str),
                Some(OWN_UID),
                "a message with this node's own uid was applied"
            );
        }
        Err(Skipped::Ignored | Skipped::Malformed(_)) => {}
    }
}
