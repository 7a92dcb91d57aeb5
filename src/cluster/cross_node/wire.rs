//! iogate's own messages between nodes, as JSON: a [`Request`] on the endpoint's request channel, an [`Answer`] on
//! the asking node's answer channel. Raw JSON (event arguments, stored data, handshakes) travels as it is.

use crate::socketio::Emit;
use crate::socketio::SocketId;
use crate::socketio::ops::{
    AckOutcome, AckReply, Operation, Reach, RoomCount, Selector, SocketHandshake, SocketSummary,
};
use crate::socketio::recovery::HandOver;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::Arc;

/// One node asks every other node of the cluster.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// Unique among the asking node's requests.
    pub id: u64,
    /// The tag the asking node joined with ([`crate::cluster::Cluster::instance`]): it names its answer channel.
    pub from: String,
    /// The endpoint path.
    pub endpoint: String,
    /// The namespace.
    pub namespace: String,
    /// What is asked.
    pub ask: Ask,
}

/// What a request asks of the other nodes.
#[derive(Debug, Serialize, Deserialize)]
pub enum Ask {
    /// Apply an operation to the selected sockets; answered with [`Outcome::Count`].
    Apply(WireSelector, WireOperation),
    /// Emit with an ack id and collect the acks within `timeout_ms`; answered with [`Outcome::Acks`].
    EmitWithAck(WireSelector, WireEmit, u64),
    /// List the sockets (of one room when given); answered with [`Outcome::Sockets`].
    Sockets(Option<String>),
    /// List the rooms with their counts; answered with [`Outcome::Rooms`].
    Rooms,
    /// Hand the parked socket of private id `pid` over to the asking node, its client's last offset being
    /// `offset`. Every node answers: [`Outcome::HandedOver`] from the node that holds it parked, else
    /// [`Outcome::Refused`] with the refusal's outcome name.
    HandOver {
        /// The private id.
        pid: String,
        /// The client's last offset.
        offset: Option<String>,
    },
    /// The asking node took the socket of private id `pid` that the node tagged `owner` handed over; only the
    /// owner answers, with [`Outcome::Count`] 1 (it was waiting) or 0 (it was not: confirmed already, or its
    /// wait ran out and its hook went).
    HandOverTaken {
        /// The tag of the node that handed it over.
        owner: String,
        /// The private id.
        pid: String,
    },
}

/// A node's answer to a [`Request`].
#[derive(Debug, Serialize, Deserialize)]
pub struct Answer {
    /// The request's id.
    pub id: u64,
    /// The tag the answering node joined with ([`crate::cluster::Cluster::instance`]).
    pub from: String,
    /// What it found.
    pub outcome: Outcome,
}

/// What one node found.
#[derive(Debug, Serialize, Deserialize)]
pub enum Outcome {
    /// Sockets selected or reached.
    Count(usize),
    /// One entry per socket the emit reached.
    Acks(Vec<WireAck>),
    /// The node's sockets.
    Sockets(Vec<WireSocket>),
    /// The node's rooms.
    Rooms(Vec<(String, usize)>),
    /// The node did not apply the request; the text says why.
    Refused(String),
    /// The parked socket, handed over.
    HandedOver(HandOver),
}

/// A [`Selector`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireSelector {
    /// `None` = everyone; else the listed rooms and socket ids.
    pub to: Option<(Vec<String>, Vec<String>)>,
    /// Excluded rooms.
    pub except_rooms: Vec<String>,
    /// Excluded socket ids.
    pub except_sockets: Vec<String>,
}

/// An [`Operation`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub enum WireOperation {
    /// [`Operation::Emit`].
    Emit(WireEmit),
    /// [`Operation::Join`].
    Join(Vec<String>),
    /// [`Operation::Leave`].
    Leave(Vec<String>),
    /// [`Operation::Disconnect`] (whether the sessions close too).
    Disconnect(bool),
    /// [`Operation::SetData`].
    SetData(Option<Box<RawValue>>),
}

/// An [`Emit`] on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireEmit {
    /// The event name's JSON.
    pub event: Box<RawValue>,
    /// Each argument's JSON.
    pub args: Vec<Box<RawValue>>,
}

/// One socket's ack outcome on the wire: its arguments, or `None` with `error` saying why not.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireAck {
    /// The socket id.
    pub sid: String,
    /// The ack's arguments (a JSON array).
    pub args: Option<Box<RawValue>>,
    /// `true` = disconnected first, `false` = timed out (when `args` is absent).
    pub disconnected: bool,
}

/// One listed socket on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireSocket {
    /// The socket id.
    pub sid: String,
    /// Its rooms, in join order.
    pub rooms: Vec<String>,
    /// Its stored data.
    pub data: Option<Box<RawValue>>,
    /// Its handshake, as the listing shows it.
    pub handshake: Box<RawValue>,
}

impl WireSelector {
    /// The wire form of `selector`.
    pub fn of(selector: &Selector) -> Self {
        let ids = |ids: &[SocketId]| ids.iter().map(|id| id.as_str().to_string()).collect();
        Self {
            to: match &selector.to {
                Reach::Everyone => None,
                Reach::Socket(sid) => Some((Vec::new(), vec![sid.as_str().to_string()])),
                Reach::Listed { rooms, sockets } => Some((rooms.clone(), ids(sockets))),
            },
            except_rooms: selector.except_rooms.clone(),
            except_sockets: ids(&selector.except_sockets),
        }
    }

    /// The selector it stands for.
    pub fn into_selector(self) -> Selector {
        let ids = |ids: Vec<String>| ids.iter().map(|id| SocketId::from_text(id)).collect();
        Selector {
            to: match self.to {
                None => Reach::Everyone,
                Some((rooms, sockets)) => Reach::Listed {
                    rooms,
                    sockets: ids(sockets),
                },
            },
            except_rooms: self.except_rooms,
            except_sockets: ids(self.except_sockets),
        }
    }
}

impl WireOperation {
    /// The wire form of `operation`.
    pub fn of(operation: &Operation) -> Self {
        match operation {
            Operation::Emit(emit) => Self::Emit(WireEmit::of(emit)),
            Operation::Join(rooms) => Self::Join(rooms.clone()),
            Operation::Leave(rooms) => Self::Leave(rooms.clone()),
            Operation::Disconnect { close_session } => Self::Disconnect(*close_session),
            Operation::SetData(data) => Self::SetData(data.clone()),
        }
    }

    /// The operation it stands for.
    pub fn into_operation(self) -> Operation {
        match self {
            Self::Emit(emit) => Operation::Emit(emit.into_emit()),
            Self::Join(rooms) => Operation::Join(rooms),
            Self::Leave(rooms) => Operation::Leave(rooms),
            Self::Disconnect(close_session) => Operation::Disconnect { close_session },
            Self::SetData(data) => Operation::SetData(data.filter(|data| data.get() != "null")),
        }
    }
}

impl WireEmit {
    /// The wire form of `emit`.
    pub fn of(emit: &Emit) -> Self {
        Self {
            event: emit.event.clone(),
            args: emit.args.clone(),
        }
    }

    /// The emit it stands for.
    pub fn into_emit(self) -> Emit {
        Emit {
            event: self.event,
            args: self.args,
        }
    }
}

impl WireAck {
    /// The wire form of `reply`.
    pub fn of(reply: &AckReply) -> Self {
        let (args, disconnected) = match &reply.outcome {
            AckOutcome::Answered(args) => (RawValue::from_string(args.clone()).ok(), false),
            AckOutcome::Disconnected => (None, true),
            AckOutcome::TimedOut => (None, false),
        };
        Self {
            sid: reply.sid.as_str().to_string(),
            args,
            disconnected,
        }
    }

    /// The reply it stands for.
    pub fn into_reply(self) -> AckReply {
        AckReply {
            sid: SocketId::from_text(&self.sid),
            outcome: match (self.args, self.disconnected) {
                (Some(args), _) => AckOutcome::Answered(args.get().to_string()),
                (None, true) => AckOutcome::Disconnected,
                (None, false) => AckOutcome::TimedOut,
            },
        }
    }
}

impl WireSocket {
    /// The wire form of `summary`.
    pub fn of(summary: &SocketSummary) -> Self {
        Self {
            sid: summary.sid.as_str().to_string(),
            rooms: summary.rooms.iter().map(|room| room.to_string()).collect(),
            data: summary.data.clone(),
            handshake: serde_json::value::to_raw_value(&summary.handshake)
                .unwrap_or_else(|_| null()),
        }
    }

    /// The listing entry it stands for.
    pub fn into_summary(self) -> SocketSummary {
        SocketSummary {
            sid: SocketId::from_text(&self.sid),
            rooms: self.rooms.into_iter().map(Arc::from).collect(),
            data: self.data.filter(|data| data.get() != "null"),
            handshake: SocketHandshake::Remote(self.handshake),
        }
    }
}

impl Outcome {
    /// The wire form of a room listing.
    pub fn rooms(rooms: &[RoomCount]) -> Self {
        Self::Rooms(
            rooms
                .iter()
                .map(|room| (room.name.clone(), room.sockets))
                .collect(),
        )
    }
}

/// JSON `null`.
fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip_with_raw_json_kept() {
        let selector = Selector {
            to: Reach::Listed {
                rooms: vec!["red".into()],
                sockets: vec![SocketId::from_text("s1")],
            },
            except_rooms: vec!["blue".into()],
            except_sockets: vec![SocketId::from_text("s2")],
        };
        let emit = Emit {
            event: RawValue::from_string("\"hi\"".into()).unwrap(),
            args: vec![RawValue::from_string(r#"{"n":1.50,"$binary":"AQI="}"#.into()).unwrap()],
        };
        let request = Request {
            id: 7,
            from: "abcd".into(),
            endpoint: "/socket.io".into(),
            namespace: "/chat".into(),
            ask: Ask::Apply(
                WireSelector::of(&selector),
                WireOperation::of(&Operation::Emit(emit)),
            ),
        };
        let bytes = serde_json::to_vec(&request).unwrap();
        let back: Request = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(
            (back.id, back.from.as_str(), back.namespace.as_str()),
            (7, "abcd", "/chat")
        );
        let Ask::Apply(selector, WireOperation::Emit(emit)) = back.ask else {
            panic!("{bytes:?}")
        };
        assert_eq!(emit.args[0].get(), r#"{"n":1.50,"$binary":"AQI="}"#);
        let selector = selector.into_selector();
        assert!(
            matches!(&selector.to, Reach::Listed { rooms, sockets } if rooms == &["red"] && sockets[0].as_str() == "s1")
        );
        assert_eq!(selector.except_sockets[0].as_str(), "s2");

        let answer = Answer {
            id: 7,
            from: "efgh".into(),
            outcome: Outcome::Acks(vec![WireAck::of(&AckReply {
                sid: SocketId::from_text("s1"),
                outcome: AckOutcome::Answered("[1.50,true]".into()),
            })]),
        };
        let back: Answer = serde_json::from_slice(&serde_json::to_vec(&answer).unwrap()).unwrap();
        let Outcome::Acks(mut acks) = back.outcome else {
            panic!()
        };
        let reply = acks.remove(0).into_reply();
        assert_eq!(reply.outcome, AckOutcome::Answered("[1.50,true]".into()));
    }
}
