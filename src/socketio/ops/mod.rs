//! The operations seam: one place that selects sockets ([`Selection`]) and applies an [`Operation`] to them, for
//! webhook replies and the push API alike. Operations go through the endpoint's [`Adapter`], which reaches the
//! sockets of every node; the in-process adapter ([`InProcess`]) only has this node's, reached through
//! [`LocalNode`], the local delivery step.
//!
//! [`Ops`] is the handle the application and the push API are given: the endpoint's Socket.IO server, shared.

mod adapter;
mod local;
mod operation;
mod selector;
#[cfg(test)]
mod tests;

pub use adapter::{Adapter, InProcess, LocalNode};
pub use operation::{
    AckOutcome, AckReply, Coverage, Covered, OpError, Operation, RoomCount, SocketHandshake,
    SocketSummary,
};
pub use selector::{Reach, Selection, Selector};

use super::app::{Emit, SocketApp};
use super::server::SocketIo;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

/// The operations handle of one endpoint's Socket.IO server. Cloning it shares the server.
pub struct Ops<A: SocketApp, D: Adapter = InProcess>(Arc<SocketIo<A, D>>);

impl<A: SocketApp, D: Adapter> Clone for Ops<A, D> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<A: SocketApp, D: Adapter> Deref for Ops<A, D> {
    type Target = SocketIo<A, D>;

    fn deref(&self) -> &SocketIo<A, D> {
        &self.0
    }
}

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// The handle of `server`.
    pub fn new(server: Arc<SocketIo<A, D>>) -> Self {
        Self(server)
    }

    /// The server, shared.
    pub fn server(&self) -> &Arc<SocketIo<A, D>> {
        &self.0
    }

    /// Applies `operation` to every socket `selection` reaches, on every node; answers the count (see
    /// [`Operation`]).
    pub async fn apply(
        &self,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<usize, OpError> {
        self.covered(selection, operation).await.map(|c| c.value)
    }

    /// [`Self::apply`], with the nodes the count covers.
    pub async fn covered(
        &self,
        selection: &Selection<'_>,
        operation: Operation,
    ) -> Result<Covered<usize>, OpError> {
        self.adapter().apply(self, selection, operation).await
    }

    /// Sends `emit` to every socket `selection` reaches and collects each one's ack within `timeout`.
    pub async fn emit_with_ack(
        &self,
        selection: &Selection<'_>,
        emit: &Emit,
        timeout: Duration,
    ) -> Result<Covered<Vec<AckReply>>, OpError> {
        self.adapter()
            .emit_with_ack(self, selection, emit, timeout)
            .await
    }

    /// Every socket of `namespace` (only those in `room` when given), sorted by id.
    pub async fn sockets(
        &self,
        namespace: &str,
        room: Option<&str>,
    ) -> Result<Covered<Vec<SocketSummary>>, OpError> {
        self.adapter().sockets(self, namespace, room).await
    }

    /// Every room of `namespace` with its member count, sorted by name.
    pub async fn rooms(&self, namespace: &str) -> Result<Covered<Vec<RoomCount>>, OpError> {
        self.adapter().rooms(self, namespace).await
    }
}
