//! Recovery through another node: a CONNECT names a private id minted by another live node, which is asked (one
//! request addressed to it, on the endpoint's request channel, answered within `peer_timeout`) to hand its parked
//! socket over.

use super::CrossNode;
use super::wire::{Ask, Outcome, Request};
use crate::engineio::{NodeTag, Sid};
use crate::log_escape::Escaped;
use crate::socketio::recovery::{RemoteClaim, refusal_outcome};
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

impl CrossNode {
    /// Whether `tag` names this node (now, or as it joined).
    pub(super) fn is_me(&self, tag: NodeTag) -> bool {
        tag == self.cluster.tag() || tag == self.cluster.instance()
    }

    /// Where the socket of private id `pid` of `namespace` of `endpoint` is: here, handed over by the live node
    /// that minted it, or refused (that node refused, is gone, or did not answer in time).
    pub(crate) async fn claim_remote(
        &self,
        endpoint: &str,
        namespace: &str,
        pid: &str,
        offset: Option<&str>,
    ) -> RemoteClaim {
        // Not an id a node mints: the local store does not know it either.
        let Some(owner) = Sid::parse(pid).map(|sid| sid.tag()) else {
            return RemoteClaim::Here;
        };
        if self.is_me(owner) {
            return RemoteClaim::Here;
        }
        if self.cluster.membership().peer(owner).is_none() {
            // A departed node's parked sockets are reported gone by the survivor that claims it.
            return RemoteClaim::Refused("owner_gone");
        }
        let ask = Ask::HandOver {
            owner: owner.as_str().to_string(),
            pid: pid.to_string(),
            offset: offset.map(str::to_string),
        };
        match self.ask_one(endpoint, namespace, ask).await {
            Some(Outcome::HandedOver(handed)) => RemoteClaim::Moved(handed),
            Some(Outcome::Refused(why)) => RemoteClaim::Refused(refusal_outcome(&why)),
            Some(_) => RemoteClaim::Refused("unknown_pid"),
            None => RemoteClaim::Refused("owner_silent"),
        }
    }

    /// Publishes `ask`, which one node answers, and waits up to `peer_timeout` for that answer.
    async fn ask_one(&self, endpoint: &str, namespace: &str, ask: Ask) -> Option<Outcome> {
        if !self.cluster.is_up() {
            return None;
        }
        let deadline = tokio::time::Instant::now() + self.peer_timeout();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (sender, mut answers) = mpsc::unbounded_channel();
        let _waiting = super::Waiting::register(self, id, sender);
        let request = Request {
            id,
            from: self.cluster.instance().as_str().to_string(),
            endpoint: endpoint.to_string(),
            namespace: namespace.to_string(),
            ask,
        };
        let payload = serde_json::to_vec(&request).ok()?;
        let channel = self.cluster.keys().endpoint_requests(endpoint, namespace);
        self.metrics.requests_sent.inc();
        match tokio::time::timeout_at(deadline, self.cluster.publish(&channel, &payload)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => {
                tracing::warn!(error = %Escaped(&error), "cluster: a hand-over request was not published");
                return None;
            }
            Err(_) => return None,
        }
        match tokio::time::timeout_at(deadline, answers.recv()).await {
            Ok(Some(answer)) => Some(answer.outcome),
            _ => {
                self.metrics.requests_partial.inc();
                None
            }
        }
    }
}
