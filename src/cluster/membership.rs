//! Membership: each node keeps a record in Redis that expires unless refreshed every [`HEARTBEAT`], and reads the
//! others' records on the same beat. A node whose record is gone has departed: one survivor claims it (SET NX, so
//! exactly one) and runs the departure handler (its sessions' disconnect hooks), then removes it from the set.
//!
//! A node that finds itself declared departed while alive rejoins under a new tag: the old tag, its record and its
//! session registry belong to the survivor cleaning up after it, and nothing this node does later touches them.

use super::keys::Keys;
use super::redis_link::{CALL_TIMEOUT, RedisLink};
use crate::engineio::{CurrentTag, NodeTag};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::{Duration, Instant};

/// How often a node refreshes its record and reads the others'.
pub const HEARTBEAT: Duration = Duration::from_secs(1);

/// How long a record lives unless refreshed: a killed node leaves membership within this and one heartbeat.
pub const RECORD_TTL: Duration = Duration::from_secs(5);

/// How long Redis must have answered without a break before this node declares others departed: records that
/// expired during a Redis outage belong to live nodes that could not refresh them.
const SETTLED_AFTER: Duration = Duration::from_secs(8);

/// How long a departure claim is kept (one claim per departed node, ever, in practice); the survivor working on
/// a departed node refreshes it while it works.
pub const CLAIM_TTL: Duration = Duration::from_secs(600);

/// One running node, as its record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    /// Its configured (or random) name.
    pub node_id: String,
    /// The tag its session ids start with.
    pub tag: String,
    /// Where its public listener is reached, `host:port`.
    pub advertise: String,
}

/// What a survivor does for a node that departed (sends its sessions' disconnect hooks); done when it resolves.
pub type DepartureHandler =
    Arc<dyn Fn(NodeTag) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// What this node does when it finds the others declared it departed while it was alive; it is given the new tag
/// the node rejoined under.
pub type DeclaredDepartedHandler = Arc<dyn Fn(NodeTag) + Send + Sync>;

/// The nodes this node knows to be alive, kept fresh by the heartbeat.
pub struct Membership {
    me: RwLock<Peer>,
    tag: Arc<CurrentTag>,
    keys: Keys,
    link: RedisLink,
    live: RwLock<HashMap<NodeTag, Peer>>,
    hop_secret: OnceLock<Arc<str>>,
    on_departure: OnceLock<DepartureHandler>,
    on_declared_departed: OnceLock<DeclaredDepartedHandler>,
    leaving: std::sync::atomic::AtomicBool,
    read_now: tokio::sync::Notify,
}

impl Membership {
    /// Membership of the node `me` (tagged `tag`); [`Membership::run`] keeps it.
    pub fn new(me: Peer, tag: NodeTag, keys: Keys, link: RedisLink) -> Self {
        let live = HashMap::from([(tag, me.clone())]);
        Self {
            me: RwLock::new(me),
            tag: Arc::new(CurrentTag::new(tag)),
            keys,
            link,
            live: RwLock::new(live),
            hop_secret: OnceLock::new(),
            on_departure: OnceLock::new(),
            on_declared_departed: OnceLock::new(),
            leaving: std::sync::atomic::AtomicBool::new(false),
            read_now: tokio::sync::Notify::new(),
        }
    }

    /// The tag this node's session ids start with now.
    pub fn tag(&self) -> NodeTag {
        self.tag.get()
    }

    /// The cell holding this node's tag, for the engines that mint session ids with it.
    pub fn current_tag(&self) -> Arc<CurrentTag> {
        self.tag.clone()
    }

    /// This node's record.
    pub fn me(&self) -> Peer {
        match self.me.read() {
            Ok(me) => me.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The live node tagged `tag` (this node included).
    pub fn peer(&self, tag: NodeTag) -> Option<Peer> {
        self.live.read().ok()?.get(&tag).cloned()
    }

    /// Every live node, this one included, by tag.
    pub fn live(&self) -> Vec<(NodeTag, Peer)> {
        self.live
            .read()
            .map(|live| live.iter().map(|(t, p)| (*t, p.clone())).collect())
            .unwrap_or_default()
    }

    /// How many nodes are live, this one included.
    pub fn live_count(&self) -> usize {
        self.live.read().map(|live| live.len()).unwrap_or(1)
    }

    /// The cluster's hop secret, once read from Redis.
    pub fn hop_secret(&self) -> Option<Arc<str>> {
        self.hop_secret.get().cloned()
    }

    /// Sets what a survivor does for a departed node (once; later calls are ignored).
    pub fn on_departure(&self, handler: DepartureHandler) {
        let _ = self.on_departure.set(handler);
    }

    /// Sets what this node does when it finds the others declared it departed (once; later calls are ignored).
    pub fn on_declared_departed(&self, handler: DeclaredDepartedHandler) {
        let _ = self.on_declared_departed.set(handler);
    }

    /// Another node announced that it joined or left: beat now rather than at the next tick.
    pub fn changed_elsewhere(&self) {
        self.read_now.notify_one();
    }

    /// Tells the other nodes that membership changed (this node joined or is leaving); best effort, the
    /// heartbeat finds it anyway.
    pub async fn announce(&self) {
        let mut redis = self.link.commands();
        let _ = bounded(
            redis::cmd("PUBLISH")
                .arg(self.keys.membership_changes())
                .arg(self.tag().as_str())
                .query_async::<()>(&mut redis),
        )
        .await;
    }

    /// Registers this node once, for startup: true when Redis took the record.
    pub async fn register_once(&self) -> bool {
        self.beat(false).await.is_ok()
    }

    /// Removes this node's record and its place in the node set (a clean shutdown); the heartbeat stops writing.
    pub async fn leave(&self) {
        self.leaving
            .store(true, std::sync::atomic::Ordering::Release);
        let mut redis = self.link.commands();
        let mut pipe = redis::pipe();
        self.forget(&mut pipe, self.tag());
        let _ = bounded(pipe.query_async::<()>(&mut redis)).await;
    }

    /// Adds to `pipe` what takes the tag `tag` out of membership: its record and its place in the node set.
    fn forget(&self, pipe: &mut redis::Pipeline, tag: NodeTag) {
        pipe.cmd("DEL")
            .arg(self.keys.node(tag))
            .ignore()
            .cmd("SREM")
            .arg(self.keys.nodes())
            .arg(tag.as_str())
            .ignore();
    }

    /// The heartbeat, until the process ends.
    pub async fn run(self: Arc<Self>) {
        let mut up_since: Option<Instant> = None;
        let mut ticks = tokio::time::interval(HEARTBEAT);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = self.read_now.notified() => {}
            }
            if self.leaving.load(std::sync::atomic::Ordering::Acquire) {
                return;
            }
            let settled = up_since.is_some_and(|since| since.elapsed() >= SETTLED_AFTER);
            match self.beat(settled).await {
                Ok(()) => {
                    up_since.get_or_insert_with(Instant::now);
                    if self.link.set_commands_up(true) {
                        tracing::debug!(node = %self.me().node_id, tag = %self.tag(), "cluster: Redis answers; registered");
                    }
                }
                Err(why) => {
                    up_since = None;
                    if self.link.set_commands_up(false) {
                        tracing::debug!(error = %why, "cluster: the heartbeat got no answer from Redis");
                    }
                }
            }
        }
    }

    /// One heartbeat: refresh this node's record, read the others', and (when `settled`) claim departed ones.
    async fn beat(&self, settled: bool) -> Result<(), String> {
        let mut redis = self.link.commands();
        let (tag, me) = (self.tag(), self.me());
        let record = serde_json::to_string(&me).map_err(|e| e.to_string())?;
        let ttl = RECORD_TTL.as_millis() as u64;
        let (members, declared_departed): (Vec<String>, bool) = bounded(
            redis::pipe()
                .cmd("SET")
                .arg(self.keys.node(tag))
                .arg(record)
                .arg("PX")
                .arg(ttl)
                .ignore()
                .cmd("SADD")
                .arg(self.keys.nodes())
                .arg(tag.as_str())
                .ignore()
                .cmd("SMEMBERS")
                .arg(self.keys.nodes())
                .cmd("EXISTS")
                .arg(self.keys.departed_claim(tag))
                .query_async(&mut redis),
        )
        .await?;
        if declared_departed {
            return self.rejoin(&mut redis, tag, me).await;
        }
        let tags: Vec<NodeTag> = members.iter().filter_map(|m| NodeTag::parse(m)).collect();
        let records: Vec<Option<String>> = if tags.is_empty() {
            Vec::new()
        } else {
            let keys: Vec<String> = tags.iter().map(|t| self.keys.node(*t)).collect();
            bounded(redis::cmd("MGET").arg(keys).query_async(&mut redis)).await?
        };
        let mut live = HashMap::from([(tag, me)]);
        let mut departed = Vec::new();
        for (tag, record) in tags.into_iter().zip(records) {
            match record.and_then(|r| serde_json::from_str::<Peer>(&r).ok()) {
                Some(peer) => {
                    live.insert(tag, peer);
                }
                None if tag != self.tag() => departed.push(tag),
                None => {}
            }
        }
        if let Ok(mut view) = self.live.write() {
            *view = live;
        }
        if self.hop_secret.get().is_none() {
            self.read_hop_secret(&mut redis).await?;
        }
        if settled {
            for tag in departed {
                self.claim(&mut redis, tag).await?;
            }
        }
        Ok(())
    }

    /// Takes the departed node `tag` if no other survivor has, and cleans up after it in the background.
    async fn claim(
        &self,
        redis: &mut redis::aio::ConnectionManager,
        tag: NodeTag,
    ) -> Result<(), String> {
        let claimed: Option<String> = bounded(
            redis::cmd("SET")
                .arg(self.keys.departed_claim(tag))
                .arg(&self.me().node_id)
                .arg("NX")
                .arg("PX")
                .arg(CLAIM_TTL.as_millis() as u64)
                .query_async(redis),
        )
        .await?;
        if claimed.is_none() {
            return Ok(());
        }
        tracing::info!(departed = %tag, "cluster: a node left without a word; this node cleans up after it");
        let handler = self.on_departure.get().cloned();
        let mut redis = redis.clone();
        let nodes = self.keys.nodes();
        tokio::spawn(async move {
            if let Some(handler) = handler {
                handler(tag).await;
            }
            let _ = bounded(
                redis::cmd("SREM")
                    .arg(nodes)
                    .arg(tag.as_str())
                    .query_async::<()>(&mut redis),
            )
            .await;
        });
        Ok(())
    }

    /// The others declared this node departed (it paused, or lost Redis, longer than a record lives) and a survivor
    /// has sent or is sending the disconnect hooks of the sessions it held as `old`. This node rejoins under a new
    /// tag: it takes its `old` record and set member out (the survivor's claim stays, so no other survivor reports
    /// those sessions again), registers the new tag, and tells the others. The handler then closes the reported
    /// sessions without hooks and moves the registry to the new tag. The next beat follows at once.
    async fn rejoin(
        &self,
        redis: &mut redis::aio::ConnectionManager,
        old: NodeTag,
        mut me: Peer,
    ) -> Result<(), String> {
        let new = loop {
            let tag = NodeTag::random();
            if tag != old {
                break tag;
            }
        };
        tracing::warn!(
            node = %me.node_id,
            old_tag = %old,
            new_tag = %new,
            "cluster: the other nodes declared this node departed (it did not refresh its record in time); a survivor sent its sessions' disconnect hooks, and it rejoins under a new tag"
        );
        me.tag = new.as_str().to_string();
        self.tag.set(new);
        if let Ok(mut record) = self.me.write() {
            *record = me.clone();
        }
        if let Ok(mut live) = self.live.write() {
            live.remove(&old);
            live.insert(new, me.clone());
        }
        if let Some(handler) = self.on_declared_departed.get() {
            handler(new);
        }
        let record = serde_json::to_string(&me).map_err(|e| e.to_string())?;
        let mut pipe = redis::pipe();
        self.forget(&mut pipe, old);
        let registered = bounded(
            pipe.cmd("SET")
                .arg(self.keys.node(new))
                .arg(record)
                .arg("PX")
                .arg(RECORD_TTL.as_millis() as u64)
                .ignore()
                .cmd("SADD")
                .arg(self.keys.nodes())
                .arg(new.as_str())
                .ignore()
                .query_async::<()>(redis),
        )
        .await;
        self.announce().await;
        self.read_now.notify_one();
        registered
    }

    /// Reads the cluster's hop secret, making it first if no node has.
    async fn read_hop_secret(
        &self,
        redis: &mut redis::aio::ConnectionManager,
    ) -> Result<(), String> {
        let fresh: String = (0..4)
            .map(|_| crate::engineio::Sid::random().as_str().to_string())
            .collect();
        let (secret,): (String,) = bounded(
            redis::pipe()
                .cmd("SET")
                .arg(self.keys.hop_secret())
                .arg(fresh)
                .arg("NX")
                .ignore()
                .cmd("GET")
                .arg(self.keys.hop_secret())
                .query_async(redis),
        )
        .await?;
        let _ = self.hop_secret.set(Arc::from(secret));
        Ok(())
    }
}

/// A Redis call bounded by [`CALL_TIMEOUT`], its error as text.
pub async fn bounded<T>(call: impl Future<Output = redis::RedisResult<T>>) -> Result<T, String> {
    tokio::time::timeout(CALL_TIMEOUT, call)
        .await
        .map_err(|_| "Redis did not answer in time".to_string())?
        .map_err(|e| e.to_string())
}
