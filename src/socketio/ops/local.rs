//! The local delivery step: operations applied to this node's sockets, through the namespace table and room index
//! of the endpoint's Socket.IO server.

use super::Ops;
use super::adapter::{Adapter, LocalNode};
use super::operation::{
    AckOutcome, AckReply, OpError, Operation, RoomCount, SocketHandshake, SocketSummary,
};
use super::selector::{Reach, Selection, Selector};
use crate::socketio::app::{Emit, SocketApp};
use crate::socketio::namespace::Namespace;
use crate::socketio::outgoing::{Encoded, encode_event, encode_event_with_offset};
use crate::socketio::recovery::OffsetSource;
use crate::socketio::socket::Socket;
use std::sync::Arc;
use std::time::Duration;

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// The namespace `name` if the endpoint serves it: `None` while nobody is connected to it.
    fn served(&self, name: &str) -> Result<Option<Arc<Namespace<A::SocketState>>>, OpError> {
        // Every namespace in the table is served; only a name missing from it needs the globs.
        match self.namespace(name) {
            Some(namespace) => Ok(Some(namespace)),
            None if self.allows(name) => Ok(None),
            None => Err(OpError::NamespaceNotServed),
        }
    }
}

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Applies `operation` to `socket` itself, the socket the application was handed (it is on this node), even
    /// if it has left its namespace meanwhile: stored data and rooms still change, as its disconnect hook reports
    /// them; an emit reaches it only while it is connected.
    pub fn apply_to_socket(
        &self,
        socket: &Arc<Socket<A::SocketState>>,
        operation: Operation,
    ) -> Result<usize, OpError> {
        self.apply_to(socket.namespace(), std::slice::from_ref(socket), operation)
    }

    /// Applies `operation` to `sockets` of `namespace`.
    fn apply_to(
        &self,
        namespace: &str,
        sockets: &[Arc<Socket<A::SocketState>>],
        operation: Operation,
    ) -> Result<usize, OpError> {
        match operation {
            Operation::Emit(emit) => {
                // Encoded once for every socket, and refused even when it reaches nobody. Sockets that get
                // offsets share one offset and one packet carrying it, made when the first of them needs it.
                let encoded = encode_event(namespace, &emit).map_err(OpError::Encode)?;
                let mut with_offset: Option<Option<(u64, Arc<Encoded>)>> = None;
                let mut make = || {
                    with_offset
                        .get_or_insert_with(|| {
                            let offset = OffsetSource::process().next();
                            encode_event_with_offset(namespace, &emit, &offset.text)
                                .ok()
                                .map(|packets| (offset.seq, Arc::new(packets)))
                        })
                        .clone()
                };
                let mut reached = 0;
                let mut trimmed = 0;
                for socket in sockets {
                    let sent = socket.send_event(&encoded, &mut make);
                    reached += usize::from(sent.reached);
                    trimmed += u64::from(sent.trimmed);
                }
                if trimmed > 0 {
                    if let Some(settings) = &self.config.recovery {
                        settings.metrics.trimmed.inc_by(trimmed);
                    }
                }
                return Ok(reached);
            }
            Operation::Join(rooms) => {
                for socket in sockets {
                    socket.join(rooms.iter().map(String::as_str));
                }
            }
            Operation::Leave(rooms) => {
                for socket in sockets {
                    socket.leave(rooms.iter().map(String::as_str));
                }
            }
            Operation::Disconnect { close_session } => {
                for socket in sockets {
                    self.disconnect(socket, close_session);
                }
            }
            Operation::SetData(data) => {
                // The last socket takes the data itself: one socket (the usual case) costs no copy.
                if let Some((last, others)) = sockets.split_last() {
                    for socket in others {
                        socket.set_data(data.clone());
                        self.app().data_changed(socket);
                    }
                    last.set_data(data);
                    self.app().data_changed(last);
                }
            }
        }
        Ok(sockets.len())
    }
}

impl<A: SocketApp, D: Adapter> LocalNode for Ops<A, D> {
    fn apply_local(
        &self,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<usize, OpError> {
        let namespace = self.served(selection.namespace)?;
        let sockets = namespace.map_or_else(Vec::new, |ns| ns.select(&selection.selector));
        self.apply_to(selection.namespace, &sockets, operation)
    }

    async fn emit_with_ack_local(
        &self,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> Result<Vec<AckReply>, OpError> {
        let namespace = self.served(selection.namespace)?;
        // Encoded once up front, so a bad emit is refused even when it reaches nobody.
        encode_event(selection.namespace, emit).map_err(OpError::Encode)?;
        let targets = namespace.map_or_else(Vec::new, |ns| ns.select(&selection.selector));
        let mut waits = Vec::with_capacity(targets.len());
        for socket in &targets {
            if let Some((id, receiver)) = socket.emit_with_ack(emit).map_err(OpError::Encode)? {
                waits.push(async move {
                    let outcome = match tokio::time::timeout(timeout, receiver).await {
                        Ok(Ok(args)) => AckOutcome::Answered(args),
                        Ok(Err(_)) => AckOutcome::Disconnected,
                        Err(_) => {
                            socket.forget_ack(id);
                            AckOutcome::TimedOut
                        }
                    };
                    AckReply {
                        sid: socket.id(),
                        outcome,
                    }
                });
            }
        }
        Ok(futures_util::future::join_all(waits).await)
    }

    fn sockets_local(
        &self,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Vec<SocketSummary>, OpError> {
        let Some(namespace) = self.served(namespace)? else {
            return Ok(Vec::new());
        };
        let selector = Selector {
            to: match room {
                Some(room) => Reach::Listed {
                    rooms: vec![room.to_string()],
                    sockets: Vec::new(),
                },
                None => Reach::Everyone,
            },
            ..Selector::default()
        };
        let mut sockets = namespace.select(&selector);
        sockets.sort_by(|a, b| a.id_ref().cmp(b.id_ref()));
        Ok(sockets
            .iter()
            .map(|socket| SocketSummary {
                sid: socket.id(),
                rooms: socket.rooms(),
                data: socket.data(),
                handshake: SocketHandshake::Local(socket.handshake()),
            })
            .collect())
    }

    fn rooms_local(&self, namespace: &str) -> Result<Vec<RoomCount>, OpError> {
        let Some(namespace) = self.served(namespace)? else {
            return Ok(Vec::new());
        };
        Ok(namespace
            .rooms()
            .into_iter()
            .map(|(name, sockets)| RoomCount { name, sockets })
            .collect())
    }
}
