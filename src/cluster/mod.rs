//! The cluster: several iogate nodes sharing one Redis (`[cluster]` in the config). This module is the node's
//! place in it: the Redis links ([`RedisLink`] for commands, [`Subscriptions`] for pub/sub), the node's identity
//! (its name, the [`NodeTag`] its session ids start with, the address peers reach it at) and [`Membership`],
//! which knows the live nodes and cleans up after departed ones.
//!
//! It also keeps this node's session registry in Redis ([`SocketRegistry`]) and cleans up after departed nodes
//! ([`departure`]), and watches its own health ([`health`]).
//!
//! The parts that use it sit above: the cross-node adapter (operations reach sockets on every node), passing a
//! request to the node that holds its session, and the relays that report sessions to the registry.

pub mod cross_node;
pub mod departure;
pub mod health;
pub mod keys;
pub mod membership;
mod node_counts;
pub mod redis_link;
pub mod registry;
pub mod subscriptions;
#[cfg(test)]
mod test_redis;

pub use departure::DepartedSessions;
pub use keys::Keys;
pub use membership::{DeclaredDepartedHandler, DepartureHandler, Membership, Peer};
pub use redis_link::RedisLink;
pub use registry::{Entry, SocketRegistry};
pub use subscriptions::{Message, Subscriptions, Topic};

use crate::config::{ClusterConfig, PeerAddress};
use crate::engineio::{CurrentTag, NodeTag};
use crate::metrics::ClusterMetrics;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// This node's membership of a cluster.
pub struct Cluster {
    keys: Keys,
    peer_timeout: Duration,
    link: RedisLink,
    subscriptions: Subscriptions,
    membership: Arc<Membership>,
    registry: SocketRegistry,
    metrics: ClusterMetrics,
    close_reported: Arc<OnceLock<CloseReported>>,
    instance: NodeTag,
}

/// How this node closes, without their hooks, the sessions a survivor reported gone after the others declared
/// this node departed.
pub type CloseReported = Arc<dyn Fn() + Send + Sync>;

impl Cluster {
    /// Joins the cluster of `config` as the node whose public listener is bound to `listen`: registers (waiting
    /// at most a moment for Redis; a node starts without it and registers when it answers) and starts the
    /// heartbeat and the subscription connection.
    pub async fn join(config: &ClusterConfig, listen: SocketAddr) -> Result<Arc<Self>, String> {
        let advertise = match &config.advertise {
            Some(address) => address.clone(),
            None => PeerAddress::of_listener(listen)
                .map_err(|why| format!("cluster.advertise: {why}"))?,
        };
        let tag = NodeTag::random();
        let node_id = config
            .node_id
            .as_ref()
            .map(|name| name.as_str().to_string())
            .unwrap_or_else(|| format!("node-{tag}"));
        let me = Peer {
            node_id,
            tag: tag.as_str().to_string(),
            advertise: advertise.authority().to_string(),
        };
        let keys = Keys::new(&config.key_prefix);
        let link = RedisLink::new(&config.redis)?;
        let membership = Arc::new(Membership::new(me, tag, keys.clone(), link.clone()));
        let metrics = ClusterMetrics::default();
        let registered = membership.register_once().await;
        if registered {
            link.set_commands_up(true);
            tracing::info!(
                node = %membership.me().node_id,
                tag = %tag,
                advertise = %membership.me().advertise,
                nodes = membership.live_count(),
                "cluster: joined"
            );
        } else {
            tracing::warn!(
                redis = %config.redis.redacted(),
                "cluster: Redis does not answer yet; this node serves its own sessions and joins when it does"
            );
        }
        tokio::spawn(membership.clone().run());
        let subscriptions = Subscriptions::start(link.clone(), metrics.clone());
        let mut changes = subscriptions.subscribe(Topic::Channel(keys.membership_changes()));
        let watcher = membership.clone();
        tokio::spawn(async move {
            while changes.recv().await.is_some() {
                watcher.changed_elsewhere();
            }
        });
        if registered {
            membership.announce().await;
        }
        let registry = SocketRegistry::start(&keys, tag, link.clone(), metrics.clone());
        let close_reported: Arc<OnceLock<CloseReported>> = Arc::default();
        let declared = (registry.clone(), metrics.clone(), close_reported.clone());
        membership.on_declared_departed(Arc::new(move |new_tag| {
            declared.1.declared_departed.inc();
            // Sessions a survivor reported gone end here, without hooks; their clients reconnect.
            if let Some(close) = declared.2.get() {
                close();
            }
            // The old registry is the survivor's to read and delete: what lives now is written under the new
            // tag, so a later departure of this node reports it.
            declared.0.move_to(new_tag);
        }));
        tokio::spawn(health::watch(
            link.clone(),
            membership.clone(),
            metrics.clone(),
            registered,
        ));
        Ok(Arc::new(Self {
            keys,
            peer_timeout: config.peer_timeout,
            link,
            subscriptions,
            membership,
            registry,
            metrics,
            close_reported,
            instance: tag,
        }))
    }

    /// The cluster metrics (`iogate_cluster_*`), to register with the process's.
    pub fn metrics(&self) -> &ClusterMetrics {
        &self.metrics
    }

    /// This node's session registry, which the relays report connects, disconnects and data changes to.
    pub fn registry(&self) -> &SocketRegistry {
        &self.registry
    }

    /// Has a departed node's sessions reported gone through `sessions` when this node is the survivor that
    /// cleans up after it.
    pub fn handle_departures(&self, sessions: Arc<dyn DepartedSessions>) {
        let link = self.link.clone();
        let keys = self.keys.clone();
        let metrics = self.metrics.clone();
        self.membership.on_departure(Arc::new(move |tag| {
            let (link, keys, metrics, sessions) = (
                link.clone(),
                keys.clone(),
                metrics.clone(),
                sessions.clone(),
            );
            Box::pin(
                async move { departure::clean_up(&link, &keys, tag, sessions, &metrics).await },
            )
        }));
    }

    /// Sets how this node closes, without their hooks, the sessions a survivor already reported gone after the
    /// others declared this node departed (once; later calls are ignored).
    pub fn on_declared_departed(&self, close_reported: CloseReported) {
        let _ = self.close_reported.set(close_reported);
    }

    /// Leaves the cluster cleanly, once this node's sessions are closed and their hooks sent: its registry and
    /// record are deleted, so no survivor reports its sessions again.
    pub async fn leave(&self) {
        self.registry.delete().await;
        self.membership.leave().await;
        self.membership.announce().await;
    }

    /// The tag this node's session ids start with now (a new one after the others declared this node departed).
    pub fn tag(&self) -> NodeTag {
        self.membership.tag()
    }

    /// The cell holding this node's tag, for the engines that mint session ids with it.
    pub fn current_tag(&self) -> Arc<CurrentTag> {
        self.membership.current_tag()
    }

    /// The tag this node joined with, kept for the life of the process: it names the channel this node reads
    /// cross-node answers on, and marks the requests it publishes, even after the node rejoined under a new tag.
    pub fn instance(&self) -> NodeTag {
        self.instance
    }

    /// This node's record (name, tag, advertised address).
    pub fn me(&self) -> Peer {
        self.membership.me()
    }

    /// The live nodes, and what a survivor does for departed ones.
    pub fn membership(&self) -> &Arc<Membership> {
        &self.membership
    }

    /// Key and channel names.
    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    /// How long a cross-node call waits for other nodes.
    pub fn peer_timeout(&self) -> Duration {
        self.peer_timeout
    }

    /// The Redis command connection.
    pub fn redis(&self) -> &RedisLink {
        &self.link
    }

    /// Registers a pub/sub topic; see [`Subscriptions::subscribe`].
    pub fn subscribe(&self, topic: Topic) -> tokio::sync::mpsc::Receiver<Message> {
        self.subscriptions.subscribe(topic)
    }

    /// Publishes `payload` on `channel`; answers how many subscribers received it.
    pub async fn publish(&self, channel: &str, payload: &[u8]) -> Result<usize, String> {
        let mut redis = self.link.commands();
        membership::bounded(
            redis::cmd("PUBLISH")
                .arg(channel)
                .arg(payload)
                .query_async(&mut redis),
        )
        .await
    }

    /// Whether Redis answers and this node is subscribed: cross-node delivery works.
    pub fn is_up(&self) -> bool {
        self.link.is_up()
    }
}
