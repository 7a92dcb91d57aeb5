//! The adapter: where an operation goes before it reaches sockets. The in-process adapter hands it straight to
//! this node's sockets; an adapter spanning several nodes would also publish it to the others and merge what they
//! answer, calling the same local step for its own sockets.
//!
//! One adapter per endpoint's Socket.IO server, not per namespace: glob-matched namespaces come and go with their
//! sockets, while a cluster channel, its subscription and its request ids belong to the endpoint for its whole
//! life; an operation names its namespace in its [`Selection`].

use super::operation::{AckReply, Covered, OpError, Operation, RoomCount, SocketSummary};
use super::selector::Selection;
use crate::engineio::Sid;
use crate::socketio::app::Emit;
use crate::socketio::recovery::RemoteClaim;
use std::future::Future;
use std::time::Duration;

/// This node's sockets of one endpoint: the local delivery step an adapter calls.
pub trait LocalNode: Send + Sync {
    /// Applies `operation` to this node's sockets that `selection` reaches.
    fn apply_local(
        &self,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<usize, OpError>;

    /// Sends `emit` with an ack id to this node's selected sockets and waits up to `timeout` for each answer.
    fn emit_with_ack_local(
        &self,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> impl Future<Output = Result<Vec<AckReply>, OpError>> + Send;

    /// This node's sockets of `namespace` (only those in `room` when given).
    fn sockets_local(
        &self,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Vec<SocketSummary>, OpError>;

    /// This node's rooms of `namespace` with their member counts, sorted by name.
    fn rooms_local(&self, namespace: &str) -> Result<Vec<RoomCount>, OpError>;
}

/// Routes operations to the nodes that hold the selected sockets. Every method may span nodes, so each returns a
/// future; each answer says which nodes it covers ([`Covered`]).
pub trait Adapter: Send + Sync + 'static {
    /// Applies `operation` to every socket `selection` reaches; answers the count (see [`Operation`]).
    fn apply<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> impl Future<Output = Result<Covered<usize>, OpError>> + Send;

    /// Sends `emit` to every socket `selection` reaches and collects each one's ack within `timeout`.
    fn emit_with_ack<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> impl Future<Output = Result<Covered<Vec<AckReply>>, OpError>> + Send;

    /// Every socket of `namespace` (only those in `room` when given), sorted by id.
    fn sockets<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
        room: Option<&str>,
    ) -> impl Future<Output = Result<Covered<Vec<SocketSummary>>, OpError>> + Send;

    /// Every room of `namespace` with its member count, sorted by name.
    fn rooms<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
    ) -> impl Future<Output = Result<Covered<Vec<RoomCount>>, OpError>> + Send;

    /// A new private id for a recoverable socket of this node (in a cluster it starts with the node's tag, so
    /// the node a client comes back through knows which node parked it).
    fn mint_pid(&self) -> Sid {
        Sid::random()
    }

    /// Where the socket that the private id `pid` names is held when this node does not hold it: on another
    /// node, which is asked to hand it over (its client's last offset is `offset`), or nowhere
    /// ([`RemoteClaim::Unknown`]: always, on a single node).
    fn claim_remote(
        &self,
        _namespace: &str,
        _pid: &str,
        _offset: Option<&str>,
    ) -> impl Future<Output = RemoteClaim> + Send {
        std::future::ready(RemoteClaim::Unknown)
    }
}

/// The adapter of a single node: every socket is local.
#[derive(Debug, Clone, Copy, Default)]
pub struct InProcess;

impl Adapter for InProcess {
    async fn apply<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<Covered<usize>, OpError> {
        node.apply_local(selection, operation).map(Covered::single)
    }

    async fn emit_with_ack<N: LocalNode>(
        &self,
        node: &N,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> Result<Covered<Vec<AckReply>>, OpError> {
        node.emit_with_ack_local(selection, emit, timeout)
            .await
            .map(Covered::single)
    }

    async fn sockets<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Covered<Vec<SocketSummary>>, OpError> {
        node.sockets_local(namespace, room).map(Covered::single)
    }

    async fn rooms<N: LocalNode>(
        &self,
        node: &N,
        namespace: &str,
    ) -> Result<Covered<Vec<RoomCount>>, OpError> {
        node.rooms_local(namespace).map(Covered::single)
    }
}
