//! One endpoint's side of cross-node operations: other nodes' requests and Node-format messages applied to this
//! node's sockets through the local delivery step, exactly as local operations are.

use super::node_format::NodeOp;
use super::wire::{Ask, Outcome, Request, WireAck, WireSocket};
use super::{CrossNode, Inbound};
use crate::socketio::SocketApp;
use crate::socketio::ops::{Adapter, LocalNode, Operation, Ops, Selection};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Applies what arrives for the endpoint of `ops`, in order, until the node goes away.
pub(super) async fn run<A: SocketApp, D: Adapter>(
    cross: Arc<CrossNode>,
    ops: Ops<A, D>,
    mut inbox: mpsc::Receiver<Inbound>,
) {
    while let Some(inbound) = inbox.recv().await {
        match inbound {
            Inbound::Peer(request) => answer(&cross, &ops, request),
            Inbound::Node(op) => apply_node(&cross, &ops, op),
        }
    }
}

/// Applies another node's request to this node's sockets and answers it (an emit with ack once its acks are in).
fn answer<A: SocketApp, D: Adapter>(cross: &Arc<CrossNode>, ops: &Ops<A, D>, request: Request) {
    let namespace = request.namespace.as_str();
    let refused = |error: crate::socketio::ops::OpError| Outcome::Refused(error.to_string());
    let outcome = match request.ask {
        Ask::Apply(selector, operation) => {
            let selection = Selection {
                namespace,
                selector: selector.into_selector(),
            };
            ops.apply_local(&selection, operation.into_operation())
                .map_or_else(refused, Outcome::Count)
        }
        Ask::EmitWithAck(selector, emit, timeout_ms) => {
            let (cross, ops) = (cross.clone(), ops.clone());
            tokio::spawn(async move {
                let selection = Selection {
                    namespace: &request.namespace,
                    selector: selector.into_selector(),
                };
                let emit = emit.into_emit();
                let limit = Duration::from_millis(timeout_ms);
                let outcome = ops
                    .emit_with_ack_local(&selection, &emit, limit)
                    .await
                    .map_or_else(
                        |error| Outcome::Refused(error.to_string()),
                        |replies| Outcome::Acks(replies.iter().map(WireAck::of).collect()),
                    );
                cross.answer(&request.from, request.id, outcome);
            });
            return;
        }
        Ask::Sockets(room) => ops
            .sockets_local(namespace, room.as_deref())
            .map_or_else(refused, |sockets| {
                Outcome::Sockets(sockets.iter().map(WireSocket::of).collect())
            }),
        Ask::HandOver { pid, offset } => ops
            .hand_over_local(namespace, &pid, offset.as_deref(), cross.confirm_wait())
            .map_or_else(
                |outcome| Outcome::Refused(outcome.to_string()),
                Outcome::HandedOver,
            ),
        Ask::HandOverTaken { owner, pid } => {
            if !cross.is_owner(&owner) {
                return;
            }
            Outcome::Count(usize::from(ops.hand_over_confirmed(&pid)))
        }
        Ask::Rooms => ops
            .rooms_local(namespace)
            .map_or_else(refused, |rooms| Outcome::rooms(&rooms)),
    };
    cross.answer(&request.from, request.id, outcome);
}

/// Applies a Node-format message if this endpoint serves its namespace.
fn apply_node<A: SocketApp, D: Adapter>(cross: &CrossNode, ops: &Ops<A, D>, op: NodeOp) {
    if !ops.allows(&op.namespace) {
        return;
    }
    let selection = Selection {
        namespace: &op.namespace,
        selector: op.selector,
    };
    let operation: Operation = op.operation;
    match ops.apply_local(&selection, operation) {
        Ok(_) => {
            cross.metrics.node_messages.inc();
        }
        Err(error) => tracing::debug!(
            namespace = %crate::log_escape::Escaped(&op.namespace),
            error = %crate::log_escape::Escaped(&error.to_string()),
            "cluster: a Node-format message was not applied"
        ),
    }
}
