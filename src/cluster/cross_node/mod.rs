//! Operations across the nodes of a cluster. Every node reads iogate's own requests (one channel per endpoint
//! and namespace, all read through one pattern), applies each to its own sockets through the local delivery
//! step and answers on the asking node's answer channel; the asking node applies its own part locally and merges
//! what the others answer within `peer_timeout` ([`ClusterAdapter`]). Beside them, the Node ecosystem's emitter
//! and adapter messages are read and applied the same way ([`node_format`]).
//!
//! One [`CrossNode`] per node owns the subscriptions and the requests waiting for answers; each socket.io
//! endpoint registers its operations handle with it ([`CrossNode::serve`]) and gets a [`ClusterAdapter`].

mod adapter;
mod hand_over;
mod merge;
pub mod msgpack_json;
pub mod node_format;
mod route;
mod serve;
pub mod wire;

pub use adapter::{ClusterAdapter, EndpointAdapter};

use super::{Cluster, Topic};
use crate::log_escape::Escaped;
use crate::metrics::{ClusterMetrics, Metrics};
use crate::socketio::SocketApp;
use crate::socketio::ops::{Adapter, Coverage, Ops};
use node_format::NodeOp;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use wire::{Answer, Ask, Outcome, Request};

/// Messages one endpoint may have waiting before the reading waits for it.
const INBOX_CAPACITY: usize = 4096;

/// What an endpoint's server task receives.
#[derive(Debug)]
enum Inbound {
    /// Another iogate node's request.
    Peer(Request),
    /// A Node-format broadcast or request, for every endpoint serving its namespace.
    Node(NodeOp),
}

/// This node's side of cross-node operations.
pub struct CrossNode {
    cluster: Arc<Cluster>,
    /// The uid this node would publish Node-format messages with; such messages are not applied twice.
    node_uid: String,
    next_id: AtomicU64,
    pending: Mutex<HashMap<u64, mpsc::UnboundedSender<Answer>>>,
    endpoints: Mutex<Vec<(String, mpsc::Sender<Inbound>)>>,
    metrics: ClusterMetrics,
}

/// What the other nodes answered to one request.
pub(crate) struct Gathered {
    /// One outcome per node that answered.
    pub outcomes: Vec<Outcome>,
    /// The nodes the answer covers, this one included.
    pub coverage: Coverage,
}

impl CrossNode {
    /// Starts reading the cluster's request, answer and Node-format channels for this node.
    pub fn start(cluster: Arc<Cluster>, metrics: &Arc<Metrics>) -> Arc<Self> {
        let keys = cluster.keys().clone();
        // The answer channel is named by the tag the node joined with, for the life of the process: a node that
        // rejoins under a new tag keeps reading (and asking on) the same one.
        let tag = cluster.instance();
        let requests = cluster.subscribe(Topic::Pattern(keys.requests_pattern()));
        let answers = cluster.subscribe(Topic::Channel(keys.answers(tag)));
        let broadcasts = cluster.subscribe(Topic::Pattern(keys.node_broadcasts_pattern()));
        let node_requests = cluster.subscribe(Topic::Pattern(keys.node_requests_pattern()));
        let cross = Arc::new(Self {
            node_uid: format!("iogate-{tag}"),
            cluster,
            next_id: AtomicU64::new(1),
            pending: Mutex::default(),
            endpoints: Mutex::default(),
            metrics: metrics.cluster(),
        });
        tokio::spawn(route::run(
            Arc::downgrade(&cross),
            route::Inboxes {
                requests,
                answers,
                broadcasts,
                node_requests,
            },
        ));
        cross
    }

    /// The adapter of the endpoint `endpoint` (its path).
    pub fn adapter(self: &Arc<Self>, endpoint: &str) -> ClusterAdapter {
        ClusterAdapter::new(self.clone(), endpoint)
    }

    /// Applies the requests of other nodes, and the Node-format messages, for endpoint `endpoint` to the sockets
    /// of `ops`, for as long as the process runs.
    pub fn serve<A: SocketApp, D: Adapter>(self: &Arc<Self>, endpoint: &str, ops: Ops<A, D>) {
        let (sender, inbox) = mpsc::channel(INBOX_CAPACITY);
        if let Ok(mut endpoints) = self.endpoints.lock() {
            endpoints.push((endpoint.to_string(), sender));
        }
        tokio::spawn(serve::run(self.clone(), ops, inbox));
    }

    /// How long cross-node calls wait for peers.
    pub fn peer_timeout(&self) -> Duration {
        self.cluster.peer_timeout()
    }

    /// Publishes `ask` about `namespace` of `endpoint` to every other node and gathers their answers: as many
    /// as there are other live nodes, or what arrived within `wait`.
    pub(crate) async fn ask(
        &self,
        endpoint: &str,
        namespace: &str,
        ask: Ask,
        wait: Duration,
    ) -> Gathered {
        let expected = self.cluster.membership().live_count().saturating_sub(1);
        let mut gathered = Gathered {
            outcomes: Vec::new(),
            coverage: Coverage {
                nodes: 1,
                partial: false,
            },
        };
        if expected == 0 {
            return gathered;
        }
        let deadline = tokio::time::Instant::now() + wait;
        let request = self.new_request(endpoint, namespace, ask);
        let (sender, mut answers) = mpsc::unbounded_channel();
        let _waiting = Waiting::register(self, request.id, sender);
        let channel = self.cluster.keys().endpoint_requests(endpoint, namespace);
        let published = match serde_json::to_vec(&request) {
            // Redis is known to be gone: answer at once for this node rather than wait for a publish to fail.
            Ok(_) if !self.cluster.is_up() => Err("Redis is unreachable".to_string()),
            Ok(payload) => {
                self.metrics.requests_sent.inc();
                tokio::time::timeout_at(deadline, self.cluster.publish(&channel, &payload))
                    .await
                    .unwrap_or_else(|_| Err("publishing timed out".to_string()))
            }
            Err(error) => Err(error.to_string()),
        };
        let mut answered = HashSet::new();
        match published {
            Ok(_) => {
                while answered.len() < expected {
                    match tokio::time::timeout_at(deadline, answers.recv()).await {
                        Ok(Some(answer)) => {
                            if answered.insert(answer.from) {
                                gathered.outcomes.push(answer.outcome);
                            }
                        }
                        _ => break,
                    }
                }
            }
            // The link already said that cross-node delivery is degraded.
            Err(_) if !self.cluster.is_up() => {}
            Err(error) => tracing::warn!(
                endpoint = %Escaped(endpoint),
                error = %Escaped(&error),
                "cluster: a cross-node request was not published; its answer covers this node only"
            ),
        }
        gathered.coverage = Coverage {
            nodes: 1 + answered.len(),
            partial: answered.len() < expected,
        };
        if gathered.coverage.partial {
            self.metrics.requests_partial.inc();
        }
        gathered
    }

    /// A request of this node with a new id.
    fn new_request(&self, endpoint: &str, namespace: &str, ask: Ask) -> Request {
        Request {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            from: self.cluster.instance().as_str().to_string(),
            endpoint: endpoint.to_string(),
            namespace: namespace.to_string(),
            ask,
        }
    }

    /// Hands `answer` to the request waiting for it, if it still waits.
    fn deliver_answer(&self, answer: Answer) {
        let waiting = self
            .pending
            .lock()
            .ok()
            .and_then(|pending| pending.get(&answer.id).cloned());
        if let Some(waiting) = waiting {
            let _ = waiting.send(answer);
        }
    }

    /// Publishes `outcome` as this node's answer to request `id` of the node `to`.
    fn answer(self: &Arc<Self>, to: &str, id: u64, outcome: Outcome) {
        let Some(tag) = crate::engineio::NodeTag::parse(to) else {
            return;
        };
        let answer = Answer {
            id,
            from: self.cluster.instance().as_str().to_string(),
            outcome,
        };
        let Ok(payload) = serde_json::to_vec(&answer) else {
            return;
        };
        let channel = self.cluster.keys().answers(tag);
        let cross = self.clone();
        self.metrics.requests_answered.inc();
        tokio::spawn(async move {
            if let Err(error) = cross.cluster.publish(&channel, &payload).await {
                tracing::warn!(error = %Escaped(&error), "cluster: an answer to another node was not published");
            }
        });
    }

    /// The inboxes of every endpoint, and of the one named `endpoint` when given.
    fn inboxes(&self, endpoint: Option<&str>) -> Vec<mpsc::Sender<Inbound>> {
        self.endpoints
            .lock()
            .map(|endpoints| {
                endpoints
                    .iter()
                    .filter(|(path, _)| endpoint.is_none_or(|wanted| wanted == path))
                    .map(|(_, inbox)| inbox.clone())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A request waiting for answers; forgotten when dropped.
struct Waiting<'a> {
    cross: &'a CrossNode,
    id: u64,
}

impl<'a> Waiting<'a> {
    fn register(cross: &'a CrossNode, id: u64, sender: mpsc::UnboundedSender<Answer>) -> Self {
        if let Ok(mut pending) = cross.pending.lock() {
            pending.insert(id, sender);
        }
        Self { cross, id }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.cross.pending.lock() {
            pending.remove(&self.id);
        }
    }
}
