//! The registry of this node's sessions in Redis: one hash per node (`<prefix>-iogate#sockets#<tag>`) with an
//! entry per Socket.IO socket (endpoint, namespace, socket id, the data last stored) and per Engine.IO session of
//! an `engine.io` endpoint. It holds what a survivor needs to send their disconnect hooks when this node departs.
//!
//! Connects, disconnects and data changes never wait for Redis: they go into a bounded queue that one writer task
//! empties in pipelined batches. When the queue is full or Redis does not answer, the registry is marked stale and
//! the writer rewrites it whole from the live sessions as soon as Redis answers again.

use super::keys::Keys;
use super::membership::bounded;
use super::redis_link::RedisLink;
use crate::engineio::NodeTag;
use crate::metrics::ClusterMetrics;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc};

/// Changes that may wait for the writer; past this the registry is rewritten whole later.
pub const QUEUE_CAPACITY: usize = 16_384;

/// Most changes sent to Redis in one pipeline.
const BATCH: usize = 512;

/// Most entries one HSET of a whole rewrite carries.
const REWRITE_CHUNK: usize = 1_000;

/// How long the hash lives unless refreshed: a safety net for a cluster that stopped altogether, so nothing
/// stays in Redis for ever. A live node refreshes it every [`REFRESH_EVERY`]; survivors handle a departure within
/// seconds (or, after a second failure, within the claim's lifetime), well inside it.
pub const REGISTRY_TTL: Duration = Duration::from_secs(3_600);

/// How often the writer refreshes the hash's lifetime.
const REFRESH_EVERY: Duration = Duration::from_secs(300);

/// How often a stale registry is retried while Redis does not answer.
const RETRY_EVERY: Duration = Duration::from_secs(1);

/// One registered session, as stored (JSON) in the node's hash.
#[derive(Debug, Serialize, Deserialize)]
pub struct Entry {
    /// The endpoint path.
    pub endpoint: String,
    /// The Socket.IO namespace; absent for an Engine.IO session of an `engine.io` endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The socket id (Socket.IO) or the session id (Engine.IO).
    pub sid: String,
    /// The data last stored for the socket; absent when none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Box<RawValue>>,
    /// Why the session of a socket parked for recovery ended (its `disconnect` hook's reason); absent when the
    /// socket is connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked: Option<String>,
}

impl Entry {
    /// The hash field of the entry: its endpoint and id (ids are unique within an endpoint).
    pub fn field(&self) -> String {
        field(&self.endpoint, &self.sid)
    }
}

fn field(endpoint: &str, sid: &str) -> String {
    format!("{endpoint} {sid}")
}

/// Every live session of this node, to rewrite the registry from.
pub type Snapshot = Arc<dyn Fn() -> Vec<Entry> + Send + Sync>;

enum Change {
    Put(String, String),
    Remove(String),
}

/// The handle connects and disconnects report to; cheap to clone.
#[derive(Clone)]
pub struct SocketRegistry {
    shared: Arc<Shared>,
}

struct Shared {
    queue: mpsc::Sender<Change>,
    stale: AtomicBool,
    stopped: AtomicBool,
    snapshot: OnceLock<Snapshot>,
    /// Woken when the snapshot is set: the first rewrite waits for it rather than for a retry's second, so the
    /// sessions of a node that dies in its first second are in its registry all the same.
    snapshot_set: Notify,
    keys: Keys,
    key: std::sync::RwLock<String>,
    link: RedisLink,
    metrics: ClusterMetrics,
}

impl std::fmt::Debug for SocketRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SocketRegistry")
            .field("key", &self.shared.key())
            .finish_non_exhaustive()
    }
}

impl SocketRegistry {
    /// The registry of the node `tag`, with its writer task started.
    pub fn start(keys: &Keys, tag: NodeTag, link: RedisLink, metrics: ClusterMetrics) -> Self {
        Self::with_capacity(keys, tag, link, metrics, QUEUE_CAPACITY)
    }

    /// The same, with at most `capacity` changes queued.
    fn with_capacity(
        keys: &Keys,
        tag: NodeTag,
        link: RedisLink,
        metrics: ClusterMetrics,
        capacity: usize,
    ) -> Self {
        let (queue, changes) = mpsc::channel(capacity);
        let registry = Self {
            shared: Arc::new(Shared {
                queue,
                // Whatever a previous run of a node with this tag left is not this node's: start from a rewrite.
                stale: AtomicBool::new(true),
                stopped: AtomicBool::new(false),
                snapshot: OnceLock::new(),
                snapshot_set: Notify::new(),
                keys: keys.clone(),
                key: std::sync::RwLock::new(keys.sockets(tag)),
                link,
                metrics,
            }),
        };
        tokio::spawn(write(registry.shared.clone(), changes));
        registry
    }

    /// Sets where a rewrite reads the live sessions from (once; later calls are ignored).
    pub fn set_snapshot(&self, snapshot: Snapshot) {
        let _ = self.shared.snapshot.set(snapshot);
        self.shared.snapshot_set.notify_one();
    }

    /// A session connected, or its stored data changed.
    pub fn put(&self, entry: &Entry) {
        match serde_json::to_string(entry) {
            Ok(value) => self.send(Change::Put(entry.field(), value)),
            Err(_) => self.mark_stale(),
        }
    }

    /// The session `sid` of `endpoint` is gone.
    pub fn remove(&self, endpoint: &str, sid: &str) {
        self.send(Change::Remove(field(endpoint, sid)));
    }

    /// Asks for a rewrite from the live sessions (e.g. after Redis lost what it held).
    pub fn mark_stale(&self) {
        self.shared.stale.store(true, Ordering::Release);
    }

    /// Moves the registry to the node's new tag `tag` (it rejoined after the others declared it departed): the
    /// old hash is left to the survivor cleaning up after it, and the new one is written whole from the live
    /// sessions.
    pub fn move_to(&self, tag: NodeTag) {
        if let Ok(mut key) = self.shared.key.write() {
            *key = self.shared.keys.sockets(tag);
        }
        self.mark_stale();
    }

    /// Stops the writer and deletes the registry: for a clean shutdown, once the sessions' hooks are sent.
    pub async fn delete(&self) {
        self.shared.stopped.store(true, Ordering::Release);
        self.shared.snapshot_set.notify_one();
        let mut redis = self.shared.link.commands();
        let _ = bounded(
            redis::cmd("DEL")
                .arg(self.shared.key())
                .query_async::<()>(&mut redis),
        )
        .await;
    }

    fn send(&self, change: Change) {
        if self.shared.queue.try_send(change).is_err() {
            // Logged once per overflow: the rewrite that follows clears the flag.
            if !self.shared.stale.swap(true, Ordering::AcqRel) {
                tracing::warn!(
                    "cluster: the session registry's queue is full; it is rewritten whole from the live sessions"
                );
            }
        }
    }
}

impl Shared {
    /// The hash the registry is written to now.
    fn key(&self) -> String {
        match self.key.read() {
            Ok(key) => key.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }
}

/// The writer: applies changes in batches, rewrites the registry when it is stale, refreshes its lifetime.
async fn write(shared: Arc<Shared>, mut changes: mpsc::Receiver<Change>) {
    let mut batch = Vec::with_capacity(BATCH);
    let mut refreshed = Instant::now();
    let mut outages_seen = shared.link.outages();
    loop {
        if shared.stopped.load(Ordering::Acquire) {
            return;
        }
        // Redis went away since the last look, if only for a moment: it may have come back empty, and changes
        // applied since would not say so. The rewrite puts back what lives.
        let outages = shared.link.outages();
        if outages != outages_seen {
            outages_seen = outages;
            shared.stale.store(true, Ordering::Release);
        }
        if shared.stale.load(Ordering::Acquire) {
            if shared.snapshot.get().is_none() {
                shared.snapshot_set.notified().await;
            } else if rewrite(&shared, &mut changes).await {
                refreshed = Instant::now();
            } else {
                tokio::time::sleep(RETRY_EVERY).await;
            }
            continue;
        }
        let wait = REFRESH_EVERY
            .saturating_sub(refreshed.elapsed())
            .min(RETRY_EVERY);
        match tokio::time::timeout(wait, changes.recv_many(&mut batch, BATCH)).await {
            Ok(0) => return,
            Ok(_) => {
                if shared.stopped.load(Ordering::Acquire) {
                    return;
                }
                if apply(&shared, &batch).await.is_err() {
                    shared.stale.store(true, Ordering::Release);
                }
                batch.clear();
            }
            // Redis lost: what it held may be gone when it is back (a restart without persistence).
            Err(_) if !shared.link.is_up() => shared.stale.store(true, Ordering::Release),
            Err(_) if refreshed.elapsed() < REFRESH_EVERY => {}
            Err(_) => {
                let mut redis = shared.link.commands();
                let key = shared.key();
                let mut expire = redis::cmd("PEXPIRE");
                expire.arg(&key).arg(REGISTRY_TTL.as_millis() as u64);
                if bounded(expire.query_async::<()>(&mut redis)).await.is_err() {
                    shared.stale.store(true, Ordering::Release);
                }
                refreshed = Instant::now();
            }
        }
    }
}

/// Sends one batch of changes in one pipeline.
async fn apply(shared: &Shared, batch: &[Change]) -> Result<(), String> {
    let key = shared.key();
    let mut pipe = redis::pipe();
    for change in batch {
        match change {
            Change::Put(field, value) => pipe.cmd("HSET").arg(&key).arg(field).arg(value),
            Change::Remove(field) => pipe.cmd("HDEL").arg(&key).arg(field),
        }
        .ignore();
    }
    // HSET creates the hash without a lifetime: every batch gives it one.
    pipe.cmd("PEXPIRE")
        .arg(&key)
        .arg(REGISTRY_TTL.as_millis() as u64)
        .ignore();
    let mut redis = shared.link.commands();
    bounded(pipe.query_async::<()>(&mut redis)).await
}

/// Replaces the registry with the live sessions; true when Redis took it. Changes queued before the snapshot is
/// taken are dropped (the snapshot holds their outcome); those queued after it are applied after the rewrite.
async fn rewrite(shared: &Shared, changes: &mut mpsc::Receiver<Change>) -> bool {
    let Some(snapshot) = shared.snapshot.get() else {
        return false;
    };
    shared.stale.store(false, Ordering::Release);
    while changes.try_recv().is_ok() {}
    let entries = snapshot();
    let key = shared.key();
    let mut pipe = redis::pipe();
    pipe.atomic().cmd("DEL").arg(&key).ignore();
    for chunk in entries.chunks(REWRITE_CHUNK) {
        let pairs: Vec<(String, String)> = chunk
            .iter()
            .filter_map(|entry| Some((entry.field(), serde_json::to_string(entry).ok()?)))
            .collect();
        if !pairs.is_empty() {
            pipe.cmd("HSET").arg(&key).arg(pairs).ignore();
        }
    }
    pipe.cmd("PEXPIRE")
        .arg(&key)
        .arg(REGISTRY_TTL.as_millis() as u64)
        .ignore();
    let mut redis = shared.link.commands();
    match bounded(pipe.query_async::<()>(&mut redis)).await {
        Ok(()) => {
            shared.metrics.registry_rewrites.inc();
            tracing::info!(
                sessions = entries.len(),
                "cluster: this node's session registry rewritten"
            );
            true
        }
        Err(_) => {
            shared.stale.store(true, Ordering::Release);
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::test_redis::TestRedis;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    fn entry(sid: &str) -> Entry {
        Entry {
            endpoint: "/socket.io/".into(),
            namespace: Some("/".into()),
            sid: sid.into(),
            data: None,
            parked: None,
        }
    }

    /// A Redis of its own, a link to it that counts as up, and what a registry is made of.
    struct Setup {
        redis: TestRedis,
        link: RedisLink,
        keys: Keys,
        tag: NodeTag,
        metrics: ClusterMetrics,
    }

    impl Setup {
        fn start() -> Self {
            let redis = TestRedis::start();
            let link = RedisLink::new(&redis.url()).unwrap();
            link.set_commands_up(true);
            link.set_subscriptions_up(true);
            Self {
                redis,
                link,
                keys: Keys::new("socket.io"),
                tag: NodeTag::random(),
                metrics: ClusterMetrics::default(),
            }
        }

        /// The fields of the node's hash as Redis holds them now, sorted.
        async fn stored_fields(&self) -> Vec<String> {
            let mut commands = self.redis.connection().await;
            let mut fields: Vec<String> = redis::cmd("HKEYS")
                .arg(self.keys.sockets(self.tag))
                .query_async(&mut commands)
                .await
                .unwrap();
            fields.sort();
            fields
        }
    }

    async fn wait_for_rewrites(metrics: &ClusterMetrics, count: u64) {
        for _ in 0..500 {
            if metrics.registry_rewrites.get() >= count {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!(
            "{count} rewrites expected, {} seen",
            metrics.registry_rewrites.get()
        );
    }

    #[tokio::test]
    async fn an_overflowing_queue_leads_to_a_rewrite_that_holds_the_live_sessions() {
        let Setup {
            redis,
            link,
            keys,
            tag,
            metrics,
        } = Setup::start();
        let live: Arc<Mutex<BTreeMap<String, ()>>> = Arc::default();
        let registry = SocketRegistry::with_capacity(&keys, tag, link, metrics.clone(), 4);
        let sessions = live.clone();
        registry.set_snapshot(Arc::new(move || {
            let sessions = sessions.lock().unwrap();
            sessions.keys().map(|sid| entry(sid)).collect()
        }));
        wait_for_rewrites(&metrics, 1).await;

        // Within the bound: applied one by one, no rewrite.
        for sid in ["a", "b"] {
            live.lock().unwrap().insert(sid.into(), ());
            registry.put(&entry(sid));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(metrics.registry_rewrites.get(), 1);

        // 60 changes while the writer cannot run: the queue holds 4, the rest overflow.
        for n in 0..50 {
            let sid = format!("s{n}");
            live.lock().unwrap().insert(sid.clone(), ());
            registry.put(&entry(&sid));
        }
        for n in 0..10 {
            let sid = format!("s{n}");
            live.lock().unwrap().remove(&sid);
            registry.remove("/socket.io/", &sid);
        }
        wait_for_rewrites(&metrics, 2).await;
        tokio::time::sleep(Duration::from_millis(100)).await;

        let mut commands = redis.connection().await;
        let stored: BTreeMap<String, String> = redis::cmd("HGETALL")
            .arg(keys.sockets(tag))
            .query_async(&mut commands)
            .await
            .unwrap();
        let expected: BTreeMap<String, String> = live
            .lock()
            .unwrap()
            .keys()
            .map(|sid| {
                let entry = entry(sid);
                (entry.field(), serde_json::to_string(&entry).unwrap())
            })
            .collect();
        assert_eq!(expected.len(), 42);
        assert_eq!(stored, expected);
        assert_eq!(metrics.registry_rewrites.get(), 2);
    }

    #[tokio::test]
    async fn sessions_of_a_node_in_its_first_second_are_registered_as_soon_as_its_sessions_can_be_listed()
     {
        let setup = Setup::start();
        let metrics = setup.metrics.clone();
        let registry =
            SocketRegistry::start(&setup.keys, setup.tag, setup.link.clone(), metrics.clone());
        // The writer has looked for the live sessions before the gateway could say where they are.
        tokio::time::sleep(Duration::from_millis(50)).await;
        registry.put(&entry("early"));
        let set_at = Instant::now();
        registry.set_snapshot(Arc::new(|| vec![entry("early")]));
        wait_for_rewrites(&metrics, 1).await;
        let took = set_at.elapsed();
        assert!(
            took < RETRY_EVERY / 2,
            "the first rewrite followed the snapshot after {took:?}"
        );
        assert_eq!(setup.stored_fields().await, vec![entry("early").field()]);
    }

    #[tokio::test]
    async fn a_redis_that_comes_back_empty_from_a_short_outage_gets_the_live_sessions_back() {
        let setup = Setup::start();
        let (link, metrics) = (setup.link.clone(), setup.metrics.clone());
        let registry = SocketRegistry::start(&setup.keys, setup.tag, link.clone(), metrics.clone());
        let live: Arc<Mutex<Vec<&'static str>>> = Arc::new(Mutex::new(vec!["before"]));
        let sessions = live.clone();
        registry.set_snapshot(Arc::new(move || {
            sessions
                .lock()
                .unwrap()
                .iter()
                .map(|sid| entry(sid))
                .collect()
        }));
        wait_for_rewrites(&metrics, 1).await;

        // Redis restarts empty between two looks of the writer; the next change applies to the empty Redis.
        let mut commands = setup.redis.connection().await;
        link.set_subscriptions_up(false);
        let _: () = redis::cmd("FLUSHALL")
            .query_async(&mut commands)
            .await
            .unwrap();
        link.set_subscriptions_up(true);
        live.lock().unwrap().push("after");
        registry.put(&entry("after"));
        wait_for_rewrites(&metrics, 2).await;

        assert_eq!(
            setup.stored_fields().await,
            vec![entry("after").field(), entry("before").field()]
        );
    }

    #[test]
    fn entries_are_compact_json_and_read_back() {
        let socket = Entry {
            endpoint: "/socket.io/".into(),
            namespace: Some("/chat".into()),
            sid: "abc".into(),
            data: Some(RawValue::from_string(r#"{"user":7}"#.into()).unwrap()),
            parked: None,
        };
        let json = serde_json::to_string(&socket).unwrap();
        assert_eq!(
            json,
            r#"{"endpoint":"/socket.io/","namespace":"/chat","sid":"abc","data":{"user":7}}"#
        );
        let back: Entry = serde_json::from_str(&json).unwrap();
        assert_eq!(back.field(), "/socket.io/ abc");
        let engine: Entry = serde_json::from_str(r#"{"endpoint":"/raw/","sid":"x"}"#).unwrap();
        assert!(engine.namespace.is_none() && engine.data.is_none());
    }
}
