//! This node's part of an answer merged with what other nodes answered: counts add up, acks and sockets are
//! concatenated (sockets sorted by id), rooms add their counts by name. Answers of another kind (a node that
//! refused) add nothing.

use super::wire::Outcome;
use crate::socketio::ops::{AckReply, RoomCount, SocketSummary};
use std::collections::BTreeMap;

/// `local` plus every node's count.
pub fn counts(local: usize, outcomes: Vec<Outcome>) -> usize {
    local
        + outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Count(count) => *count,
                _ => 0,
            })
            .sum::<usize>()
}

/// `local` acks followed by every node's.
pub fn acks(mut local: Vec<AckReply>, outcomes: Vec<Outcome>) -> Vec<AckReply> {
    for outcome in outcomes {
        if let Outcome::Acks(acks) = outcome {
            local.extend(acks.into_iter().map(|ack| ack.into_reply()));
        }
    }
    local
}

/// `local` sockets and every node's, sorted by id.
pub fn sockets(mut local: Vec<SocketSummary>, outcomes: Vec<Outcome>) -> Vec<SocketSummary> {
    for outcome in outcomes {
        if let Outcome::Sockets(remote) = outcome {
            local.extend(remote.into_iter().map(|socket| socket.into_summary()));
        }
    }
    local.sort_by(|a, b| a.sid.cmp(&b.sid));
    local
}

/// Every room of `local` and the nodes' answers with its members summed, sorted by name.
pub fn rooms(local: Vec<RoomCount>, outcomes: Vec<Outcome>) -> Vec<RoomCount> {
    let mut merged: BTreeMap<String, usize> = BTreeMap::new();
    for room in local {
        *merged.entry(room.name).or_default() += room.sockets;
    }
    for outcome in outcomes {
        if let Outcome::Rooms(rooms) = outcome {
            for (name, sockets) in rooms {
                *merged.entry(name).or_default() += sockets;
            }
        }
    }
    merged
        .into_iter()
        .map(|(name, sockets)| RoomCount { name, sockets })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::wire::{WireAck, WireSocket};
    use super::*;
    use crate::socketio::SocketId;
    use crate::socketio::ops::{AckOutcome, SocketHandshake};
    use serde_json::value::RawValue;

    fn room(name: &str, sockets: usize) -> RoomCount {
        RoomCount {
            name: name.into(),
            sockets,
        }
    }

    #[test]
    fn counts_and_rooms_add_up_and_refusals_add_nothing() {
        let outcomes = vec![
            Outcome::Count(2),
            Outcome::Refused("no".into()),
            Outcome::Count(1),
        ];
        assert_eq!(counts(3, outcomes), 6);
        // A partial answer: only what arrived.
        assert_eq!(counts(3, Vec::new()), 3);
        let merged = rooms(
            vec![room("r", 1), room("a", 1)],
            vec![Outcome::Rooms(vec![("r".into(), 2), ("b".into(), 1)])],
        );
        assert_eq!(merged, [room("a", 1), room("b", 1), room("r", 3)]);
    }

    #[test]
    fn acks_and_sockets_of_other_nodes_join_this_nodes() {
        let local = vec![AckReply {
            sid: SocketId::from_text("x"),
            outcome: AckOutcome::TimedOut,
        }];
        let remote = Outcome::Acks(vec![WireAck {
            sid: "y".into(),
            args: Some(RawValue::from_string("[1]".into()).unwrap()),
            disconnected: false,
        }]);
        let merged = acks(local, vec![remote]);
        assert_eq!(merged[1].outcome, AckOutcome::Answered("[1]".into()));
        let remote = Outcome::Sockets(vec![WireSocket {
            sid: "a".into(),
            rooms: vec!["a".into(), "r".into()],
            data: None,
            handshake: RawValue::from_string(r#"{"headers":{}}"#.into()).unwrap(),
        }]);
        let listed = sockets(Vec::new(), vec![remote]);
        assert_eq!(listed[0].sid.as_str(), "a");
        assert!(
            matches!(&listed[0].handshake, SocketHandshake::Remote(raw) if raw.get() == r#"{"headers":{}}"#)
        );
    }
}
