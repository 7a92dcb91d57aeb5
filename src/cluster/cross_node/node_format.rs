//! The Node ecosystem's Redis messages (`@socket.io/redis-emitter`, and servers with `@socket.io/redis-adapter`)
//! read as operations: msgpack broadcasts `[uid, packet, opts]` on `<prefix>#<nsp>#[<room>#]`, and the JSON
//! join/leave/disconnect requests on `<prefix>-request#<nsp>#`. Node's requests are never answered: iogate
//! subscribes to them by pattern, so Node servers do not count it as one of theirs (and wait for no answer).

use super::msgpack_json::{room_name, to_json};
use crate::socketio::Emit;
use crate::socketio::SocketId;
use crate::socketio::ops::{Operation, Reach, Selector};
use rmpv::Value;
use serde::Deserialize;
use serde_json::value::RawValue;

/// Socket.IO's EVENT and BINARY_EVENT packet types.
const EVENT: u64 = 2;
const BINARY_EVENT: u64 = 5;

/// Node's request types iogate applies.
const REMOTE_JOIN: u8 = 2;
const REMOTE_LEAVE: u8 = 3;
const REMOTE_DISCONNECT: u8 = 4;

/// One Node-format message as an operation on the sockets of a namespace.
#[derive(Debug, Clone)]
pub struct NodeOp {
    /// The namespace.
    pub namespace: String,
    /// The sockets it reaches.
    pub selector: Selector,
    /// What it does to them.
    pub operation: Operation,
    /// The broadcast's `volatile` flag (it may be dropped for a socket that cannot take it now).
    pub volatile: bool,
}

/// Why a message is not applied.
#[derive(Debug, PartialEq, Eq)]
pub enum Skipped {
    /// It is this node's own (its uid), or a kind iogate does not apply; nothing to report.
    Ignored,
    /// It cannot be read; the text says why.
    Malformed(String),
}

/// Reads a broadcast published on `channel` (under `<prefix>#`); `own_uid` is the uid this node publishes with.
pub fn broadcast(payload: &[u8], own_uid: &str) -> Result<NodeOp, Skipped> {
    let malformed = |why: &str| Skipped::Malformed(why.to_string());
    let value = rmpv::decode::read_value(&mut &payload[..])
        .map_err(|e| Skipped::Malformed(format!("msgpack: {e}")))?;
    let Value::Array(parts) = value else {
        return Err(malformed("not an array [uid, packet, opts]"));
    };
    let [uid, packet, opts, ..] = parts.as_slice() else {
        return Err(malformed("not an array [uid, packet, opts]"));
    };
    if uid.as_str() == Some(own_uid) {
        return Err(Skipped::Ignored);
    }
    let kind = field(packet, "type").and_then(Value::as_u64);
    if !matches!(kind, Some(EVENT | BINARY_EVENT)) {
        return Err(Skipped::Ignored);
    }
    let namespace = field(packet, "nsp")
        .and_then(Value::as_str)
        .unwrap_or("/")
        .to_string();
    let Some(Value::Array(data)) = field(packet, "data") else {
        return Err(malformed("packet without a data array"));
    };
    let Some((event, args)) = data.split_first() else {
        return Err(malformed("packet without an event name"));
    };
    let raw = |value: &Value| {
        RawValue::from_string(to_json(value)).map_err(|e| Skipped::Malformed(e.to_string()))
    };
    let emit = Emit {
        event: raw(event)?,
        args: args.iter().map(raw).collect::<Result<_, _>>()?,
    };
    let rooms = names(field(opts, "rooms"));
    let except = names(field(opts, "except"));
    let volatile = field(opts, "flags")
        .and_then(|flags| field(flags, "volatile"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Ok(NodeOp {
        namespace,
        selector: selector(rooms, except),
        operation: Operation::Emit(emit),
        volatile,
    })
}

/// A request as Node's emitter and adapter write it (JSON).
#[derive(Deserialize)]
struct NodeRequest {
    #[serde(rename = "type")]
    kind: u8,
    opts: Option<NodeTarget>,
    #[serde(default)]
    rooms: Vec<serde_json::Value>,
    #[serde(default)]
    close: bool,
    /// The legacy form: one socket id and one room.
    sid: Option<String>,
    room: Option<serde_json::Value>,
}

/// `opts` of a request.
#[derive(Deserialize)]
struct NodeTarget {
    #[serde(default)]
    rooms: Vec<serde_json::Value>,
    #[serde(default)]
    except: Vec<serde_json::Value>,
}

/// Reads a request published on `<prefix>-request#<namespace>#`: join, leave and disconnect are applied; every
/// other kind (counted requests, server-side emits, broadcasts with acks, msgpack requests) is ignored.
pub fn request(namespace: &str, payload: &[u8]) -> Result<NodeOp, Skipped> {
    if payload.first() != Some(&b'{') {
        return Err(Skipped::Ignored);
    }
    let request: NodeRequest =
        serde_json::from_slice(payload).map_err(|e| Skipped::Malformed(e.to_string()))?;
    if !matches!(request.kind, REMOTE_JOIN | REMOTE_LEAVE | REMOTE_DISCONNECT) {
        return Err(Skipped::Ignored);
    }
    let (selector, rooms) = match (request.opts, request.sid) {
        (Some(opts), _) => (
            selector(json_names(&opts.rooms), json_names(&opts.except)),
            json_names(&request.rooms),
        ),
        (None, Some(sid)) => (
            Selector {
                to: Reach::Socket(SocketId::from_text(&sid)),
                ..Selector::default()
            },
            json_names(request.room.as_slice()),
        ),
        (None, None) => return Err(Skipped::Malformed("request without opts".into())),
    };
    let operation = match request.kind {
        REMOTE_JOIN => Operation::Join(rooms),
        REMOTE_LEAVE => Operation::Leave(rooms),
        REMOTE_DISCONNECT => Operation::Disconnect {
            close_session: request.close,
        },
        _ => return Err(Skipped::Ignored),
    };
    Ok(NodeOp {
        namespace: namespace.to_string(),
        selector,
        operation,
        volatile: false,
    })
}

/// The namespace of a request channel `<prefix>-request#<nsp>#`, given `<prefix>-request#`.
pub fn request_namespace<'a>(channel: &'a str, head: &str) -> Option<&'a str> {
    channel.strip_prefix(head)?.strip_suffix('#')
}

/// Node's selection: `rooms` (none = everyone) minus sockets in `except` (socket ids are rooms).
fn selector(rooms: Vec<String>, except: Vec<String>) -> Selector {
    Selector::rooms(rooms, except)
}

/// The value of `key` in a msgpack map.
fn field<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(name, _)| name.as_str() == Some(key))
        .map(|(_, value)| value)
}

/// Room names from a msgpack array (numbers as their decimal text).
fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| items.iter().filter_map(room_name).collect())
        .unwrap_or_default()
}

/// Room names from a JSON array (numbers as their decimal text).
fn json_names(list: &[serde_json::Value]) -> Vec<String> {
    list.iter()
        .filter_map(|value| match value {
            serde_json::Value::String(text) => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(hex_text: &str) -> Vec<u8> {
        hex::decode(hex_text.replace(' ', "")).unwrap()
    }

    fn emitted(op: &NodeOp) -> (String, Vec<String>) {
        let Operation::Emit(emit) = &op.operation else {
            panic!("{op:?}")
        };
        (
            emit.event.get().to_string(),
            emit.args.iter().map(|a| a.get().to_string()).collect(),
        )
    }

    fn rooms(op: &NodeOp) -> Vec<String> {
        match &op.selector.to {
            Reach::Listed { rooms, .. } => rooms.clone(),
            other => panic!("{other:?}"),
        }
    }

    /// `emitter.emit("hello", "world", 1)`, as captured.
    const HELLO: &str = "93 a7 656d6974746572 83 a4 74797065 02 a4 64617461 93 a5 68656c6c6f a5 776f726c64 01 \
                         a3 6e7370 a1 2f 83 a5 726f6f6d73 90 a5 666c616773 80 a6 657863657074 90";

    #[test]
    fn the_emitters_broadcast_decodes() {
        let op = broadcast(&bytes(HELLO), "iogate-x").unwrap();
        assert_eq!(op.namespace, "/");
        assert!(matches!(op.selector.to, Reach::Everyone));
        assert_eq!(
            emitted(&op),
            (
                "\"hello\"".to_string(),
                vec!["\"world\"".to_string(), "1".to_string()]
            )
        );
        assert!(!op.volatile);
    }

    /// Builds `["emitter", {type:2, data, nsp}, opts]` from hex pieces.
    fn message(data: &str, nsp: &str, opts: &str) -> Vec<u8> {
        bytes(&format!(
            "93 a7 656d6974746572 83 a4 74797065 02 a4 64617461 {data} a3 6e7370 {nsp} {opts}"
        ))
    }

    #[test]
    fn rooms_except_flags_binary_and_namespaces_are_read_by_key() {
        let hello = "91 a5 68656c6c6f";
        let root = "a1 2f";
        // .to("room1"): emitter key order rooms, flags, except.
        let op = broadcast(
            &message(
                hello,
                root,
                "83 a5 726f6f6d73 91 a5 726f6f6d31 a5 666c616773 80 a6 657863657074 90",
            ),
            "u",
        )
        .unwrap();
        assert_eq!(rooms(&op), ["room1"]);
        // .except("r1"), adapter key order rooms, except, flags.
        let op = broadcast(
            &message(
                hello,
                root,
                "83 a5 726f6f6d73 90 a6 657863657074 91 a2 7231 a5 666c616773 80",
            ),
            "u",
        )
        .unwrap();
        assert!(matches!(op.selector.to, Reach::Everyone));
        assert_eq!(op.selector.except_rooms, ["r1"]);
        // .volatile
        let op = broadcast(
            &message(
                hello,
                root,
                "83 a5 726f6f6d73 90 a5 666c616773 81 a8 766f6c6174696c65 c3 a6 657863657074 90",
            ),
            "u",
        )
        .unwrap();
        assert!(op.volatile);
        // .of("/admin").emit(...)
        let op = broadcast(&message(hello, "a6 2f61646d696e", "80"), "u").unwrap();
        assert_eq!(op.namespace, "/admin");
        // binary
        let op = broadcast(&message("92 a3 62696e c4 03 010203", root, "80"), "u").unwrap();
        assert_eq!(emitted(&op).1, [r#"{"$binary":"AQID"}"#]);
        // .to(123).emit("n", 123): integer rooms.
        let op = broadcast(
            &message(
                "92 a1 6e 7b",
                root,
                "83 a5 726f6f6d73 91 7b a5 666c616773 80 a6 657863657074 90",
            ),
            "u",
        )
        .unwrap();
        assert_eq!(rooms(&op), ["123"]);
        assert_eq!(emitted(&op).1, ["123"]);
    }

    #[test]
    fn own_uid_other_packets_and_garbage_are_skipped() {
        assert_eq!(
            broadcast(&bytes(HELLO), "emitter").unwrap_err(),
            Skipped::Ignored
        );
        assert!(matches!(
            broadcast(b"\xc1", "u"),
            Err(Skipped::Malformed(_))
        ));
        assert!(matches!(
            broadcast(&bytes("93 a1 75 80 80"), "u"),
            Err(Skipped::Ignored)
        ));
        assert!(matches!(
            broadcast(&bytes("92 a1 75 80"), "u"),
            Err(Skipped::Malformed(_))
        ));
    }

    #[test]
    fn join_leave_and_disconnect_requests_apply_others_are_ignored() {
        let join = request(
            "/",
            br#"{"type":2,"opts":{"rooms":["r1"],"except":[]},"rooms":["r2","r3"]}"#,
        )
        .unwrap();
        assert_eq!(rooms(&join), ["r1"]);
        assert!(matches!(&join.operation, Operation::Join(r) if r == &["r2", "r3"]));
        let leave = request(
            "/admin",
            br#"{"type":3,"opts":{"rooms":[],"except":["r0"]},"rooms":["r1"]}"#,
        )
        .unwrap();
        assert_eq!(leave.namespace, "/admin");
        assert_eq!(leave.selector.except_rooms, ["r0"]);
        assert!(matches!(&leave.operation, Operation::Leave(r) if r == &["r1"]));
        let close = request(
            "/",
            br#"{"type":4,"opts":{"rooms":["r1"],"except":[]},"close":true}"#,
        )
        .unwrap();
        assert!(matches!(
            close.operation,
            Operation::Disconnect {
                close_session: true
            }
        ));
        let with_uid = request(
            "/",
            br#"{"uid":"ABCDEF","type":2,"opts":{"rooms":[],"except":[]},"rooms":["r2"]}"#,
        )
        .unwrap();
        assert!(matches!(with_uid.selector.to, Reach::Everyone));
        let ignored = [
            &br#"{"uid":"emitter","type":6,"data":["ping",1,{"x":"y"}]}"#[..],
            br#"{"uid":"ABCDEF","requestId":"rVkAkG","type":5,"opts":{"rooms":[],"except":[]}}"#,
            br#"{"uid":"ABCDEF","requestId":"MaiMjb","type":1}"#,
            &bytes("85 a3 756964 a6 414243444546"),
        ];
        for payload in ignored {
            assert_eq!(request("/", payload).unwrap_err(), Skipped::Ignored);
        }
        assert_eq!(
            request_namespace("socket.io-request#/chat#", "socket.io-request#"),
            Some("/chat")
        );
    }
}
