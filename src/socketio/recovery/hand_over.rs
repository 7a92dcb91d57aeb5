//! Recovery across the nodes of a cluster: a CONNECT naming a private id another node minted asks that node to
//! hand its parked socket over. The owner checks it exactly as a local restore does, takes it out of its store
//! and namespace without its `disconnect` hook (it moves, it is not gone) and answers with what the socket is:
//! id, private id, rooms, data, and the packets its client missed. The asking node then restores it as a local
//! restore would ([`Ops::adopt`]).

use super::parked::{Claim, Parked};
use crate::engineio::{CloseReason, Packet, Text};
use crate::log_escape::Escaped;

use crate::socketio::app::{ConnectRequest, DisconnectReason, SocketApp};
use crate::socketio::ops::{Adapter, Ops};
use crate::socketio::outgoing::{self, Encoded};
use crate::socketio::packet::PacketKind;
use crate::socketio::server::SioSession;
use crate::socketio::socket::Socket;
use crate::socketio::socket_id::SocketId;
use crate::socketio::version::SioVersion;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Where the socket a private id names is, when this node does not hold it, as the endpoint's adapter sees it.
pub enum RemoteClaim {
    /// No node holds it.
    Unknown,
    /// Another node handed it over.
    Moved(HandOver),
    /// Another node minted it and it cannot be recovered; the outcome says why (as the metrics name it).
    Refused(&'static str),
}

/// A parked socket moving from the node that parked it to the node its client came back through.
#[derive(Debug, Serialize, Deserialize)]
pub struct HandOver {
    /// The socket id.
    pub sid: String,
    /// The private id.
    pub pid: String,
    /// Its rooms (its own id left out), in join order.
    pub rooms: Vec<String>,
    /// Its stored data.
    pub data: Option<Box<RawValue>>,
    /// Why its session ended (the reason of its `disconnect` hook if the new node's backend refuses it).
    pub reason: String,
    /// The events its client missed, in order.
    pub missed: Vec<MissedEvent>,
}

/// One event a handed-over socket's client missed.
#[derive(Debug, Serialize, Deserialize)]
pub struct MissedEvent {
    /// The offset the event carries (the client sends it back on its next recovery, wherever it lands).
    pub offset: String,
    /// Its Engine.IO packets (one, or the event and its binary attachments), as written.
    pub packets: Vec<WirePacket>,
}

/// One Engine.IO packet on the wire.
#[derive(Debug, Serialize, Deserialize)]
pub enum WirePacket {
    /// A text packet as written (`4...`).
    Text(String),
    /// A binary packet, base64.
    Binary(String),
}

impl MissedEvent {
    /// The event as a log entry: its offset and its packets; `None` when a packet does not decode.
    fn into_logged(self) -> Option<(String, Arc<Encoded>)> {
        let packets: Option<Vec<Packet>> = self
            .packets
            .into_iter()
            .map(WirePacket::into_packet)
            .collect();
        Some((self.offset, Arc::new(Encoded(packets?))))
    }
}

impl WirePacket {
    fn of(packet: &Packet) -> Self {
        match packet {
            Packet::Text(text) => Self::Text(text.as_str().to_string()),
            Packet::Binary(data) => {
                Self::Binary(base64::engine::general_purpose::STANDARD.encode(data))
            }
        }
    }

    fn into_packet(self) -> Option<Packet> {
        match self {
            Self::Text(text) => Some(Packet::Text(Text::from(text))),
            Self::Binary(data) => base64::engine::general_purpose::STANDARD
                .decode(data)
                .ok()
                .map(|bytes| Packet::Binary(bytes.into())),
        }
    }
}

/// The outcome name of a refusal another node sent (anything unknown counts as an unknown pid).
pub fn refusal_outcome(text: &str) -> &'static str {
    match text {
        "live" => "live",
        "expired" => "expired",
        "offset_not_found" => "offset_not_found",
        _ => "unknown_pid",
    }
}

fn close_reason(text: &str) -> CloseReason {
    [CloseReason::TransportError, CloseReason::PingTimeout]
        .into_iter()
        .find(|reason| reason.as_str() == text)
        .unwrap_or(CloseReason::TransportClose)
}

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Another node asks for the parked socket `pid` of `namespace`, its client's last offset being `offset`:
    /// checked as a local restore checks it (a socket that expired or whose offset is gone ends here with its
    /// hook), then taken out of this node's namespace without its hook. It is kept aside (lent) until the asking
    /// node confirms it took it ([`Self::hand_over_confirmed`]); without a confirmation within `confirm_within`
    /// it ends here with its hook, so a lost or late answer never loses the hook. `Err` with the outcome name
    /// when refused.
    pub fn hand_over_local(
        &self,
        namespace: &str,
        pid: &str,
        offset: Option<&str>,
        confirm_within: Duration,
    ) -> Result<HandOver, &'static str> {
        let Some(settings) = &self.config.recovery else {
            return Err("unknown_pid");
        };
        let parked = match self.parked.claim(pid, namespace) {
            Claim::Unknown => return Err("unknown_pid"),
            Claim::Live => return Err("live"),
            Claim::Parked(parked) => parked,
        };
        self.parked_changed();
        let refuse = |outcome: &'static str, parked| {
            self.end_parked(parked);
            Err(outcome)
        };
        if parked.since.elapsed() > settings.window {
            return refuse("expired", parked);
        }
        let seq = match offset.map(|text| parked.socket.resolve_offset(text)) {
            None => None,
            Some(Some(seq)) => seq,
            Some(None) => return refuse("offset_not_found", parked),
        };
        if parked.socket.missed_since(seq).is_none() {
            return refuse("offset_not_found", parked);
        }
        let socket = parked.socket.clone();
        // Out of the namespace first: nothing reaches the log once it is read below.
        if !self.table().remove(&socket) {
            // The backend or the API disconnected it meanwhile (its hook went then).
            return Err("unknown_pid");
        }
        self.config.metrics.sockets.dec();
        self.app().moved(&socket);
        let Some(missed) = socket.missed_since(seq) else {
            // Trimmed between the check and the removal: it ends here, as it would locally.
            self.app()
                .disconnect(self, &socket, DisconnectReason::Session(parked.reason));
            return Err("offset_not_found");
        };
        let own = socket.id();
        let handed = HandOver {
            sid: own.as_str().to_string(),
            pid: pid.to_string(),
            rooms: socket
                .rooms()
                .iter()
                .filter(|room| ***room != *own.as_str())
                .map(|room| room.to_string())
                .collect(),
            data: socket.data(),
            reason: parked.reason.as_str().to_string(),
            missed: missed
                .iter()
                .map(|(seq, packets)| MissedEvent {
                    offset: socket.offset_text(*seq),
                    packets: packets.0.iter().map(WirePacket::of).collect(),
                })
                .collect(),
        };
        let pid: Arc<str> = Arc::from(pid);
        let expiry = self.expiry_timer(&pid);
        let generation = self.parked.lend(pid, parked, Some(expiry.clone()));
        self.parked_changed();
        self.schedule_expiry(&expiry, confirm_within, generation);
        settings.metrics.outcome("handed_over");
        Ok(handed)
    }

    /// The node the socket `pid` was handed to confirmed it took it: nothing more happens to it here. False
    /// when it is not waiting (confirmed already, or its confirmation came too late and its hook went).
    pub fn hand_over_confirmed(&self, pid: &str) -> bool {
        let settled = self.parked.settle(pid).is_some();
        if settled {
            self.parked_changed();
        }
        settled
    }

    /// A socket handed over to a node that did not confirm it in time: the answer may never have arrived, so
    /// it ends here, with its `disconnect` hook.
    pub(super) fn end_lent(&self, lent: Parked<A::SocketState>) {
        self.parked_changed();
        if let Some(settings) = &self.config.recovery {
            settings.metrics.outcome("hand_over_unconfirmed");
        }
        tracing::warn!(
            sid = %Escaped(lent.socket.id()),
            "recovery: the node a parked socket was handed to did not confirm it; it ends here with its disconnect hook"
        );
        self.app()
            .disconnect(self, &lent.socket, DisconnectReason::Session(lent.reason));
    }

    /// Restores on this node the socket another node handed over, for the CONNECT to `name` of `session`: it
    /// enters its namespace and rooms at once (events to it are logged from then on), the backend is asked
    /// unless configured otherwise, the missed packets and what was logged meanwhile are written before the
    /// CONNECT reply. A refusal by the backend ends it with its `disconnect` hook, sent from here.
    pub(crate) async fn adopt(
        &self,
        session: &Arc<SioSession<A::SocketState>>,
        name: &str,
        auth: &RawValue,
        client_offset: Option<&str>,
        handed: HandOver,
    ) -> bool {
        let Some(settings) = &self.config.recovery else {
            return false;
        };
        let metrics = &settings.metrics;
        let sid = SocketId::from_text(&handed.sid);
        let pid: Arc<str> = Arc::from(handed.pid.as_str());
        let reason = close_reason(&handed.reason);
        let handshake = session.state().handshake().clone();
        // Parked here until attached below: what reaches it meanwhile goes to its log.
        let socket = self.table().add(name, |namespace| {
            let socket = Arc::new(Socket::new(
                sid.clone(),
                namespace,
                Weak::new(),
                handshake.clone(),
                A::SocketState::default(),
                handed.data,
            ));
            socket.enable_recovery(pid.clone(), settings.log_limits());
            socket
        });
        self.config.metrics.sockets.inc();
        // The missed events are logged first, with the offsets the client saw, then the rooms joined: what
        // reaches it from then on is logged after them.
        let missed: Vec<(String, Arc<Encoded>)> = handed
            .missed
            .into_iter()
            .filter_map(MissedEvent::into_logged)
            .collect();
        let batch = socket.adopt_log(client_offset, missed);
        socket.join(handed.rooms.iter().map(String::as_str));
        let version = SioVersion::from_engine(session.version());
        let mut accepted = None;
        if !settings.skip_connect_hook {
            let rooms = socket.rooms();
            let data = socket.data();
            let request = ConnectRequest {
                sid: sid.clone(),
                namespace: name,
                auth,
                handshake: &handshake,
                recovered: Some(true),
                rooms: &rooms,
                data: data.as_deref(),
            };
            match self.app().connect(request).await {
                Ok(yes) => accepted = Some(yes),
                Err(rejected) => {
                    session.state().lock().connect_decided(name);
                    let refusal = outgoing::plain(
                        PacketKind::ConnectError,
                        name,
                        Some(&rejected.payload(version)),
                    );
                    session.send_all(refusal.0);
                    metrics.outcome("rejected");
                    if self.table().remove(&socket) {
                        self.config.metrics.sockets.dec();
                        self.app()
                            .disconnect(self, &socket, DisconnectReason::Session(reason));
                    }
                    return true;
                }
            }
        }
        if !socket.is_connected() {
            // The backend or the API disconnected it meanwhile (its hook went then): a new socket instead.
            metrics.outcome("unknown_pid");
            return false;
        }
        self.attach_restored(session, name, &socket, 0, batch, accepted, metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packets_and_reasons_survive_the_wire() {
        let packets = [
            Packet::Text(Text::from("42[\"news\",1,\"ab-3\"]".to_string())),
            Packet::Binary(vec![0u8, 1, 255].into()),
        ];
        let handed = HandOver {
            sid: "s".into(),
            pid: "p".into(),
            rooms: vec!["r".into()],
            data: RawValue::from_string("{\"n\":1.50}".into()).ok(),
            reason: CloseReason::PingTimeout.as_str().into(),
            missed: vec![MissedEvent {
                offset: "ab-3".into(),
                packets: packets.iter().map(WirePacket::of).collect(),
            }],
        };
        let back: HandOver = serde_json::from_slice(&serde_json::to_vec(&handed).unwrap()).unwrap();
        let logged: Vec<(String, Arc<Encoded>)> = back
            .missed
            .into_iter()
            .filter_map(MissedEvent::into_logged)
            .collect();
        assert_eq!(logged.len(), 1);
        assert_eq!(logged[0].0, "ab-3");
        assert_eq!(logged[0].1.0, packets);
        assert_eq!(back.data.unwrap().get(), "{\"n\":1.50}");
        assert_eq!(close_reason(&back.reason), CloseReason::PingTimeout);
        assert_eq!(close_reason("junk"), CloseReason::TransportClose);
        assert!(WirePacket::Binary("!".into()).into_packet().is_none());
        let broken = MissedEvent {
            offset: "ab-4".into(),
            packets: vec![
                WirePacket::Text("4x".into()),
                WirePacket::Binary("!".into()),
            ],
        };
        assert!(
            broken.into_logged().is_none(),
            "an event is taken whole or not at all"
        );
    }

    #[test]
    fn refusals_from_the_wire_map_to_outcomes() {
        for outcome in ["live", "expired", "offset_not_found", "unknown_pid"] {
            assert_eq!(refusal_outcome(outcome), outcome);
        }
        assert_eq!(refusal_outcome("anything else"), "unknown_pid");
    }
}
