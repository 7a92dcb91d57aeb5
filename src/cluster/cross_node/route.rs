//! The node's reading of cross-node channels: answers go to the request waiting for them, requests to the
//! endpoint they name, Node-format messages to every endpoint (each applies those of namespaces it serves).

use super::node_format::{self, NodeOp, Skipped};
use super::wire::{Answer, Request};
use super::{CrossNode, Inbound};
use crate::cluster::Message;
use crate::log_escape::Escaped;
use std::sync::Weak;
use tokio::sync::mpsc;

/// The receivers of the node's cross-node subscriptions.
pub(super) struct Inboxes {
    /// iogate's requests, every endpoint's.
    pub requests: mpsc::Receiver<Message>,
    /// Answers to this node's requests.
    pub answers: mpsc::Receiver<Message>,
    /// The Node ecosystem's broadcasts.
    pub broadcasts: mpsc::Receiver<Message>,
    /// The Node ecosystem's requests.
    pub node_requests: mpsc::Receiver<Message>,
}

/// Reads every subscription until the node goes away.
pub(super) async fn run(cross: Weak<CrossNode>, mut inboxes: Inboxes) {
    loop {
        tokio::select! {
            Some(message) = inboxes.answers.recv() => {
                let Some(cross) = cross.upgrade() else { return };
                match serde_json::from_slice::<Answer>(&message.payload) {
                    Ok(answer) => cross.deliver_answer(answer),
                    Err(error) => malformed(&message, &error.to_string()),
                }
            }
            Some(message) = inboxes.requests.recv() => {
                let Some(cross) = cross.upgrade() else { return };
                peer_request(&cross, &message).await;
            }
            Some(message) = inboxes.broadcasts.recv() => {
                let Some(cross) = cross.upgrade() else { return };
                let read = node_format::broadcast(&message.payload, &cross.node_uid);
                node_message(&cross, &message, read).await;
            }
            Some(message) = inboxes.node_requests.recv() => {
                let Some(cross) = cross.upgrade() else { return };
                let head = cross.cluster.keys().node_requests();
                let read = match node_format::request_namespace(&message.channel, &head) {
                    Some(namespace) => node_format::request(namespace, &message.payload),
                    None => Err(Skipped::Ignored),
                };
                node_message(&cross, &message, read).await;
            }
            else => return,
        }
    }
}

/// Hands another node's request to the endpoint it names.
async fn peer_request(cross: &CrossNode, message: &Message) {
    let request: Request = match serde_json::from_slice(&message.payload) {
        Ok(request) => request,
        Err(error) => return malformed(message, &error.to_string()),
    };
    if request.from == cross.cluster.instance().as_str() {
        return;
    }
    let expected = cross
        .cluster
        .keys()
        .endpoint_requests(&request.endpoint, &request.namespace);
    if message.channel != expected {
        return malformed(message, "the request names another channel");
    }
    if let Some(inbox) = cross.inboxes(Some(&request.endpoint)).into_iter().next() {
        let _ = inbox.send(Inbound::Peer(request)).await;
    }
}

/// Hands a Node-format operation to every endpoint.
async fn node_message(cross: &CrossNode, message: &Message, read: Result<NodeOp, Skipped>) {
    match read {
        Ok(op) => {
            for inbox in cross.inboxes(None) {
                let _ = inbox.send(Inbound::Node(op.clone())).await;
            }
        }
        Err(Skipped::Ignored) => {}
        Err(Skipped::Malformed(why)) => malformed(message, &why),
    }
}

fn malformed(message: &Message, why: &str) {
    tracing::warn!(
        channel = %Escaped(&message.channel),
        error = %Escaped(why),
        "cluster: a message from Redis was ignored"
    );
}
