//! The cluster adapter: an operation is applied to this node's sockets through the local delivery step and
//! published to the other nodes, which apply their part; the answers merge into one, with the nodes it covers.
//! [`EndpointAdapter`] is what an endpoint's Socket.IO server holds: in-process on a single node, this on a
//! cluster.

use super::CrossNode;
use super::wire::{Ask, Outcome, WireEmit, WireOperation, WireSelector};
use crate::socketio::ops::{
    AckReply, Adapter, Covered, InProcess, LocalNode, OpError, Operation, RoomCount, Selection,
    SocketSummary,
};
use crate::socketio::{Emit, encode_event};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// The adapter of one endpoint of a cluster node.
pub struct ClusterAdapter {
    cross: Arc<CrossNode>,
    endpoint: Arc<str>,
}

impl ClusterAdapter {
    /// The adapter of endpoint `endpoint` (its path) on the node of `cross`.
    pub fn new(cross: Arc<CrossNode>, endpoint: &str) -> Self {
        Self {
            cross,
            endpoint: Arc::from(endpoint),
        }
    }
}

impl Adapter for ClusterAdapter {
    async fn apply<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<Covered<usize>, OpError> {
        let wire = WireOperation::of(&operation);
        let local = node.apply_local(selection, operation)?;
        let ask = Ask::Apply(WireSelector::of(&selection.selector), wire);
        let gathered = self
            .cross
            .ask(
                &self.endpoint,
                selection.namespace,
                ask,
                self.cross.peer_timeout(),
            )
            .await;
        let remote: usize = gathered
            .outcomes
            .iter()
            .map(|outcome| match outcome {
                Outcome::Count(count) => *count,
                _ => 0,
            })
            .sum();
        Ok(Covered {
            value: local + remote,
            coverage: Some(gathered.coverage),
        })
    }

    async fn emit_with_ack<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> Result<Covered<Vec<AckReply>>, OpError> {
        // A bad event is refused before any node is asked.
        encode_event(selection.namespace, emit).map_err(OpError::Encode)?;
        let timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        let ask = Ask::EmitWithAck(
            WireSelector::of(&selection.selector),
            WireEmit::of(emit),
            timeout_ms,
        );
        let wait = timeout + self.cross.peer_timeout();
        let (local, gathered) = tokio::join!(
            node.emit_with_ack_local(selection, emit, timeout),
            self.cross
                .ask(&self.endpoint, selection.namespace, ask, wait)
        );
        let mut replies = local?;
        for outcome in gathered.outcomes {
            if let Outcome::Acks(acks) = outcome {
                replies.extend(acks.into_iter().map(|ack| ack.into_reply()));
            }
        }
        Ok(Covered {
            value: replies,
            coverage: Some(gathered.coverage),
        })
    }

    async fn sockets<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Covered<Vec<SocketSummary>>, OpError> {
        let mut sockets = node.sockets_local(namespace, room)?;
        let ask = Ask::Sockets(room.map(str::to_string));
        let gathered = self
            .cross
            .ask(&self.endpoint, namespace, ask, self.cross.peer_timeout())
            .await;
        for outcome in gathered.outcomes {
            if let Outcome::Sockets(remote) = outcome {
                sockets.extend(remote.into_iter().map(|socket| socket.into_summary()));
            }
        }
        sockets.sort_by(|a, b| a.sid.cmp(&b.sid));
        Ok(Covered {
            value: sockets,
            coverage: Some(gathered.coverage),
        })
    }

    async fn rooms<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
    ) -> Result<Covered<Vec<RoomCount>>, OpError> {
        let local = node.rooms_local(namespace)?;
        let gathered = self
            .cross
            .ask(
                &self.endpoint,
                namespace,
                Ask::Rooms,
                self.cross.peer_timeout(),
            )
            .await;
        let mut merged: BTreeMap<String, usize> = BTreeMap::new();
        for room in local {
            *merged.entry(room.name).or_default() += room.sockets;
        }
        for outcome in gathered.outcomes {
            if let Outcome::Rooms(rooms) = outcome {
                for (name, sockets) in rooms {
                    *merged.entry(name).or_default() += sockets;
                }
            }
        }
        Ok(Covered {
            value: merged
                .into_iter()
                .map(|(name, sockets)| RoomCount { name, sockets })
                .collect(),
            coverage: Some(gathered.coverage),
        })
    }
}

/// The adapter an endpoint's Socket.IO server holds, chosen at start: a single node's, or a cluster node's.
pub enum EndpointAdapter {
    /// No `[cluster]`: every socket is local.
    InProcess(InProcess),
    /// A cluster node: operations span every live node.
    Cluster(ClusterAdapter),
}

impl Adapter for EndpointAdapter {
    async fn apply<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<Covered<usize>, OpError> {
        match self {
            Self::InProcess(adapter) => adapter.apply(node, selection, operation).await,
            Self::Cluster(adapter) => adapter.apply(node, selection, operation).await,
        }
    }

    async fn emit_with_ack<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> Result<Covered<Vec<AckReply>>, OpError> {
        match self {
            Self::InProcess(adapter) => adapter.emit_with_ack(node, selection, emit, timeout).await,
            Self::Cluster(adapter) => adapter.emit_with_ack(node, selection, emit, timeout).await,
        }
    }

    async fn sockets<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Covered<Vec<SocketSummary>>, OpError> {
        match self {
            Self::InProcess(adapter) => adapter.sockets(node, namespace, room).await,
            Self::Cluster(adapter) => adapter.sockets(node, namespace, room).await,
        }
    }

    async fn rooms<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
    ) -> Result<Covered<Vec<RoomCount>>, OpError> {
        match self {
            Self::InProcess(adapter) => adapter.rooms(node, namespace).await,
            Self::Cluster(adapter) => adapter.rooms(node, namespace).await,
        }
    }
}
