//! The command connection to Redis: one multiplexed connection that reconnects by itself, with every call
//! bounded in time, and the link's health as the last calls saw it.

use crate::config::RedisUrl;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How long one Redis call (or a connection attempt) may take before it counts as failed.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(2);

/// Commands to Redis, and whether Redis answers.
#[derive(Clone)]
pub struct RedisLink {
    client: redis::Client,
    commands: ConnectionManager,
    commands_up: Arc<AtomicBool>,
    subscriptions_up: Arc<AtomicBool>,
    topics_pending: Arc<AtomicUsize>,
    outages: Arc<AtomicU64>,
}

impl RedisLink {
    /// A link to `url`; it connects on first use and again after every failure.
    pub fn new(url: &RedisUrl) -> Result<Self, String> {
        let client = redis::Client::open(url.expose())
            .map_err(|e| format!("cluster.redis {}: {e}", url.redacted()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(CALL_TIMEOUT))
            .set_response_timeout(Some(CALL_TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(100))
            .set_max_delay(Duration::from_secs(2));
        let commands = ConnectionManager::new_lazy_with_config(client.clone(), config)
            .map_err(|e| format!("cluster.redis {}: {e}", url.redacted()))?;
        Ok(Self {
            client,
            commands,
            commands_up: Arc::new(AtomicBool::new(false)),
            subscriptions_up: Arc::new(AtomicBool::new(false)),
            topics_pending: Arc::default(),
            outages: Arc::default(),
        })
    }

    /// The client, to open the subscription connection with.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// A handle on the command connection (cheap; every clone shares the one connection).
    pub fn commands(&self) -> ConnectionManager {
        self.commands.clone()
    }

    /// Whether Redis answered the last heartbeat and the subscription connection is subscribed to every topic
    /// registered so far.
    pub fn is_up(&self) -> bool {
        self.commands_up.load(Ordering::Relaxed) && self.is_subscribed()
    }

    /// Whether the subscription connection is subscribed to every topic registered so far (a topic registered
    /// after the connection was made counts once its SUBSCRIBE was answered).
    pub fn is_subscribed(&self) -> bool {
        self.subscriptions_up.load(Ordering::Relaxed)
            && self.topics_pending.load(Ordering::Acquire) == 0
    }

    /// Counts a topic registered for the subscription connection and not yet subscribed.
    pub fn topic_registered(&self) {
        self.topics_pending.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a registered topic as subscribed (or to be subscribed by the next connection, which subscribes
    /// every topic before it reports itself up).
    pub fn topic_handled(&self) {
        let _ = self
            .topics_pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// How many times the link went down (either connection) since it was made: what Redis held may be gone
    /// after each (a restart without persistence), however short the outage was.
    pub fn outages(&self) -> u64 {
        self.outages.load(Ordering::Acquire)
    }

    /// Records what the last heartbeat saw; answers whether that changed the link's health.
    pub fn set_commands_up(&self, up: bool) -> bool {
        self.record(self.commands_up.swap(up, Ordering::Relaxed), up)
    }

    /// Records whether the subscription connection is subscribed; answers whether that changed.
    pub fn set_subscriptions_up(&self, up: bool) -> bool {
        self.record(self.subscriptions_up.swap(up, Ordering::Relaxed), up)
    }

    /// Counts a fall from up to down; answers whether the flag changed.
    fn record(&self, was: bool, up: bool) -> bool {
        if was && !up {
            self.outages.fetch_add(1, Ordering::AcqRel);
        }
        was != up
    }
}
