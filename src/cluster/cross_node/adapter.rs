//! The cluster adapter: an operation is applied to this node's sockets through the local delivery step and
//! published to the other nodes, which apply their part; the answers merge into one, with the nodes it covers.
//! [`EndpointAdapter`] is what an endpoint's Socket.IO server holds: in-process on a single node, this on a
//! cluster.

use super::wire::{Ask, WireEmit, WireOperation, WireSelector};
use super::{CrossNode, merge};
use crate::engineio::Sid;
use crate::socketio::ops::{
    AckReply, Adapter, Covered, InProcess, LocalNode, OpError, Operation, RoomCount, Selection,
    SocketSummary,
};
use crate::socketio::recovery::RemoteClaim;
use crate::socketio::{Emit, encode_event};
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
        Ok(Covered {
            value: merge::counts(local, gathered.outcomes),
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
        Ok(Covered {
            value: merge::acks(local?, gathered.outcomes),
            coverage: Some(gathered.coverage),
        })
    }

    async fn sockets<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Covered<Vec<SocketSummary>>, OpError> {
        let local = node.sockets_local(namespace, room)?;
        let ask = Ask::Sockets(room.map(str::to_string));
        let gathered = self
            .cross
            .ask(&self.endpoint, namespace, ask, self.cross.peer_timeout())
            .await;
        Ok(Covered {
            value: merge::sockets(local, gathered.outcomes),
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
        Ok(Covered {
            value: merge::rooms(local, gathered.outcomes),
            coverage: Some(gathered.coverage),
        })
    }

    fn mint_pid(&self) -> Sid {
        Sid::random_tagged(self.cross.cluster.tag())
    }

    async fn claim_remote(&self, namespace: &str, pid: &str, offset: Option<&str>) -> RemoteClaim {
        self.cross
            .claim_remote(&self.endpoint, namespace, pid, offset)
            .await
    }
}

/// The adapter an endpoint's Socket.IO server holds, chosen at start: a single node's, or a cluster node's. The
/// cluster's futures are boxed, so a single node's operations (a webhook reply's broadcast inside its socket's
/// hook worker, an API call) stay the size they were without a cluster.
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
            Self::Cluster(adapter) => Box::pin(adapter.apply(node, selection, operation)).await,
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
            Self::Cluster(adapter) => {
                Box::pin(adapter.emit_with_ack(node, selection, emit, timeout)).await
            }
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
            Self::Cluster(adapter) => Box::pin(adapter.sockets(node, namespace, room)).await,
        }
    }

    async fn rooms<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
    ) -> Result<Covered<Vec<RoomCount>>, OpError> {
        match self {
            Self::InProcess(adapter) => adapter.rooms(node, namespace).await,
            Self::Cluster(adapter) => Box::pin(adapter.rooms(node, namespace)).await,
        }
    }

    fn mint_pid(&self) -> Sid {
        match self {
            Self::InProcess(adapter) => adapter.mint_pid(),
            Self::Cluster(adapter) => adapter.mint_pid(),
        }
    }

    async fn claim_remote(&self, namespace: &str, pid: &str, offset: Option<&str>) -> RemoteClaim {
        match self {
            Self::InProcess(adapter) => adapter.claim_remote(namespace, pid, offset).await,
            Self::Cluster(adapter) => Box::pin(adapter.claim_remote(namespace, pid, offset)).await,
        }
    }
}
