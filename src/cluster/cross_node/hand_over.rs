//! Recovery through another node: a CONNECT names a private id this node does not hold. Every other live node is
//! asked (one request on the endpoint's request channel, answered within `peer_timeout`): the node holding the
//! socket parked hands it over, the others refuse. A socket keeps its private id when it moves (the client checks
//! it), so the node that minted the id is not necessarily the one holding it. The asking node then confirms it took the socket (a second request, tried up to
//! [`CONFIRM_ATTEMPTS`] times); the owner keeps the socket aside until then, and ends it with its `disconnect`
//! hook if no confirmation comes within [`CrossNode::confirm_wait`] (the answer was late or lost).

use super::CrossNode;
use super::wire::{Answer, Ask, Outcome};
use crate::engineio::{NodeTag, Sid};
use crate::log_escape::Escaped;
use crate::socketio::recovery::{HandOver, RemoteClaim, refusal_outcome};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How many times the asking node sends its confirmation when no answer comes.
pub const CONFIRM_ATTEMPTS: u32 = 3;

/// What the other nodes said to a hand-over request.
struct Found {
    /// The node that handed the socket over (the tag it answered with), and the socket.
    handed: Option<(NodeTag, HandOver)>,
    /// The refusals' outcome names.
    refusals: Vec<String>,
    /// Every live node answered.
    everyone_answered: bool,
}

impl CrossNode {
    /// Whether `tag` names this node (now, or as it joined).
    pub(super) fn is_me(&self, tag: NodeTag) -> bool {
        tag == self.cluster.tag() || tag == self.cluster.instance()
    }

    /// Whether the tag text `owner` of a request names this node.
    pub(super) fn is_owner(&self, owner: &str) -> bool {
        NodeTag::parse(owner).is_some_and(|tag| self.is_me(tag))
    }

    /// How long an owner keeps a socket it handed over for the asking node's confirmation: every attempt's
    /// wait, and one more for the answer's way.
    pub(super) fn confirm_wait(&self) -> Duration {
        self.peer_timeout() * (CONFIRM_ATTEMPTS + 1)
    }

    /// Where the socket of private id `pid` of `namespace` of `endpoint` is, when this node does not hold it:
    /// every other live node is asked (a socket may have moved away from the node that minted its pid), and the
    /// one that holds it parked hands it over; or refused, with the outcome that says why.
    pub(crate) async fn claim_remote(
        self: &Arc<Self>,
        endpoint: &str,
        namespace: &str,
        pid: &str,
        offset: Option<&str>,
    ) -> RemoteClaim {
        // Not an id a node mints: no node knows it.
        let Some(minter) = Sid::parse(pid).map(|sid| sid.tag()) else {
            return RemoteClaim::Unknown;
        };
        let ask = Ask::HandOver {
            pid: pid.to_string(),
            offset: offset.map(str::to_string),
        };
        let found = self.find_holder(endpoint, namespace, ask).await;
        if let Some((holder, handed)) = found.handed {
            self.confirm_taken(endpoint, namespace, holder, &handed.pid);
            return RemoteClaim::Moved(handed);
        }
        let refusals: Vec<&'static str> = found
            .refusals
            .iter()
            .map(|why| refusal_outcome(why))
            .collect();
        let outcome = ["live", "expired", "offset_not_found"]
            .into_iter()
            .find(|outcome| refusals.contains(outcome));
        match outcome {
            Some(outcome) => RemoteClaim::Refused(outcome),
            // A node that did not answer may hold it.
            None if !found.everyone_answered => RemoteClaim::Refused("owner_silent"),
            // A departed node's parked sockets are reported gone by the survivor that claims it.
            None if !self.is_me(minter) && self.cluster.membership().peer(minter).is_none() => {
                RemoteClaim::Refused("owner_gone")
            }
            None => RemoteClaim::Unknown,
        }
    }

    /// Publishes a hand-over `ask` to every other live node and waits up to `peer_timeout` for the node that
    /// holds the socket, or for every node's refusal.
    async fn find_holder(&self, endpoint: &str, namespace: &str, ask: Ask) -> Found {
        let mut found = Found {
            handed: None,
            refusals: Vec::new(),
            everyone_answered: true,
        };
        let expected = self.cluster.membership().live_count().saturating_sub(1);
        if expected == 0 {
            return found;
        }
        found.everyone_answered = false;
        if !self.cluster.is_up() {
            return found;
        }
        let deadline = tokio::time::Instant::now() + self.peer_timeout();
        let Some((_waiting, mut answers)) = self.publish(endpoint, namespace, ask, deadline).await
        else {
            return found;
        };
        let mut answered = HashSet::new();
        while answered.len() < expected {
            let Ok(Some(answer)) = tokio::time::timeout_at(deadline, answers.recv()).await else {
                self.metrics.requests_partial.inc();
                return found;
            };
            if !answered.insert(answer.from.clone()) {
                continue;
            }
            match answer.outcome {
                Outcome::HandedOver(handed) => {
                    if let Some(holder) = NodeTag::parse(&answer.from) {
                        found.handed = Some((holder, handed));
                        return found;
                    }
                }
                Outcome::Refused(why) => found.refusals.push(why),
                _ => {}
            }
        }
        found.everyone_answered = true;
        found
    }

    /// Tells the owner that this node took the socket of private id `pid`, in the background: up to
    /// [`CONFIRM_ATTEMPTS`] times while no answer comes.
    fn confirm_taken(self: &Arc<Self>, endpoint: &str, namespace: &str, owner: NodeTag, pid: &str) {
        let cross = self.clone();
        let (endpoint, namespace, pid) =
            (endpoint.to_string(), namespace.to_string(), pid.to_string());
        tokio::spawn(async move {
            for _ in 0..CONFIRM_ATTEMPTS {
                let ask = Ask::HandOverTaken {
                    owner: owner.as_str().to_string(),
                    pid: pid.clone(),
                };
                match cross.ask_one(&endpoint, &namespace, ask).await {
                    Some(Outcome::Count(1)) => return,
                    Some(_) => {
                        tracing::warn!(
                            pid = %Escaped(&pid),
                            "cluster: a socket handed over was confirmed too late; the node that handed it over sent its disconnect hook"
                        );
                        return;
                    }
                    None => {}
                }
            }
            tracing::warn!(
                pid = %Escaped(&pid),
                "cluster: the node that handed a socket over did not answer its confirmation; it may send the socket's disconnect hook"
            );
        });
    }

    /// Publishes `ask`, which one node answers, and waits up to `peer_timeout` for that answer.
    async fn ask_one(&self, endpoint: &str, namespace: &str, ask: Ask) -> Option<Outcome> {
        if !self.cluster.is_up() {
            return None;
        }
        let deadline = tokio::time::Instant::now() + self.peer_timeout();
        let (_waiting, mut answers) = self.publish(endpoint, namespace, ask, deadline).await?;
        match tokio::time::timeout_at(deadline, answers.recv()).await {
            Ok(Some(answer)) => Some(answer.outcome),
            _ => {
                self.metrics.requests_partial.inc();
                None
            }
        }
    }

    /// Publishes `ask` as a new request of this node, registered for its answers; `None` when it could not be
    /// published by `deadline` (logged when Redis refused it).
    async fn publish(
        &self,
        endpoint: &str,
        namespace: &str,
        ask: Ask,
        deadline: tokio::time::Instant,
    ) -> Option<(super::Waiting<'_>, mpsc::UnboundedReceiver<Answer>)> {
        let request = self.new_request(endpoint, namespace, ask);
        let (sender, answers) = mpsc::unbounded_channel();
        let waiting = super::Waiting::register(self, request.id, sender);
        let payload = serde_json::to_vec(&request).ok()?;
        let channel = self.cluster.keys().endpoint_requests(endpoint, namespace);
        self.metrics.requests_sent.inc();
        match tokio::time::timeout_at(deadline, self.cluster.publish(&channel, &payload)).await {
            Ok(Ok(_)) => Some((waiting, answers)),
            Ok(Err(error)) => {
                tracing::warn!(error = %Escaped(&error), "cluster: a hand-over request was not published");
                None
            }
            Err(_) => None,
        }
    }
}
