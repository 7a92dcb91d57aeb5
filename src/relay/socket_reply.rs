//! Backend replies on socket.io endpoints and how they become actions.

use super::reply::present;
use crate::socketio::{Emit, Rejected};
use serde::Deserialize;
use serde_json::value::RawValue;

/// `{"event":..., "args":[...]}`.
#[derive(Deserialize, Debug)]
pub struct EmitSpec {
    /// Event name (JSON string or number).
    pub event: Box<RawValue>,
    /// Arguments; absent = none.
    #[serde(default)]
    pub args: Vec<Box<RawValue>>,
}

impl From<EmitSpec> for Emit {
    fn from(spec: EmitSpec) -> Self {
        Emit {
            event: spec.event,
            args: spec.args,
        }
    }
}

/// `{"rooms":[...], "except":[...], "self":false, "event":..., "args":[...]}`.
#[derive(Deserialize, Debug)]
pub struct BroadcastSpec {
    /// Target rooms; empty = the whole namespace.
    #[serde(default)]
    pub rooms: Vec<String>,
    /// Rooms excluded.
    #[serde(default)]
    pub except: Vec<String>,
    /// Whether the sender receives it too.
    #[serde(default, rename = "self")]
    pub include_self: bool,
    /// Event name (JSON string or number).
    pub event: Box<RawValue>,
    /// Arguments; absent = none.
    #[serde(default)]
    pub args: Vec<Box<RawValue>>,
}

/// `{"message": "...", "data": ...}` of a rejected connect.
#[derive(Deserialize, Debug)]
pub struct RejectSpec {
    /// Shown to the client as the error message.
    #[serde(default)]
    pub message: Option<String>,
    /// Extra data for the client.
    #[serde(default, deserialize_with = "present")]
    pub data: Option<Box<RawValue>>,
}

/// The reply to a `connect` webhook; absent keys take their [`Default`].
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct ConnectReply {
    /// Present = the connection is refused.
    pub reject: Option<RejectSpec>,
    /// Data to store.
    #[serde(deserialize_with = "present")]
    pub data: Option<Box<RawValue>>,
    /// Rooms to join.
    pub join: Vec<String>,
    /// Events to send after the CONNECT reply.
    pub emit: Vec<EmitSpec>,
}

/// The reply to an `event` webhook (sync mode); absent keys take their [`Default`].
#[derive(Deserialize, Debug, Default)]
#[serde(default)]
pub struct EventReply {
    /// Arguments of the ack, as a JSON array.
    #[serde(deserialize_with = "present")]
    pub ack: Option<Box<RawValue>>,
    /// Events to this socket.
    pub emit: Vec<EmitSpec>,
    /// Events to rooms or the namespace.
    pub broadcast: Vec<BroadcastSpec>,
    /// Rooms to join.
    pub join: Vec<String>,
    /// Rooms to leave.
    pub leave: Vec<String>,
    /// Data to store (`null` clears it).
    #[serde(deserialize_with = "present")]
    pub data: Option<Box<RawValue>>,
    /// Disconnect the socket after acting on the rest.
    pub disconnect: bool,
}

impl RejectSpec {
    /// The rejection the Socket.IO layer sends.
    pub fn into_rejected(self) -> Rejected {
        Rejected {
            message: self.message.unwrap_or_else(|| "Not authorized".to_string()),
            data: self.data,
        }
    }
}

/// Whether raw JSON is an array.
pub fn is_array(raw: &RawValue) -> bool {
    raw.get().trim_start().starts_with('[')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::relay::reply::parse_reply;

    #[test]
    fn event_reply_keeps_raw_json_and_null_data() {
        let reply: EventReply = parse_reply(
            br#"{"ack":[1.50,{"b":1,"a":2}],"data":null,"broadcast":[{"rooms":["r"],"event":"x","self":true}],"extra":1}"#,
        )
        .unwrap();
        assert_eq!(reply.ack.unwrap().get(), r#"[1.50,{"b":1,"a":2}]"#);
        assert_eq!(reply.data.unwrap().get(), "null");
        assert!(reply.broadcast[0].include_self);
        assert_eq!(reply.broadcast[0].event.get(), "\"x\"");
        let empty: EventReply = parse_reply(b"").unwrap();
        assert!(empty.ack.is_none() && empty.data.is_none());
    }

    #[test]
    fn rejections_keep_message_and_data() {
        let reply: ConnectReply =
            parse_reply(br#"{"reject":{"message":"no","data":{"code":7}}}"#).unwrap();
        let rejected = reply.reject.unwrap().into_rejected();
        assert_eq!(
            (rejected.message.as_str(), rejected.data.unwrap().get()),
            ("no", r#"{"code":7}"#)
        );
        let reply: ConnectReply = parse_reply(br#"{"reject":{}}"#).unwrap();
        assert_eq!(
            reply.reject.unwrap().into_rejected().message,
            "Not authorized"
        );
    }
}
