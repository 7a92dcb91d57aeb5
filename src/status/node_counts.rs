//! The cluster's per-node view for the status page: how many sessions each live node has registered in Redis,
//! refreshed in the background every few seconds (one pipelined round trip), so a snapshot never waits for Redis.

use crate::server::FrontDoor;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

/// How often the counts are read.
pub const REFRESH_EVERY: Duration = Duration::from_secs(3);

/// The last counts read, by node tag.
#[derive(Default)]
pub struct NodeCounts {
    counts: Mutex<Vec<(String, u64)>>,
}

impl NodeCounts {
    /// Starts reading the counts of `app`'s cluster every [`REFRESH_EVERY`], until the gateway drains or is
    /// dropped; without a cluster nothing is read.
    pub fn start(app: &Arc<FrontDoor>) -> Arc<Self> {
        let counts = Arc::new(Self::default());
        if app.cluster().is_none() {
            return counts;
        }
        let weak_app: Weak<FrontDoor> = Arc::downgrade(app);
        let weak_counts = Arc::downgrade(&counts);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(REFRESH_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(cluster) = weak_app.upgrade().and_then(|app| {
                    (!app.is_draining())
                        .then(|| app.cluster().cloned())
                        .flatten()
                }) else {
                    return;
                };
                // Unknown while Redis does not answer: the page shows no count rather than an old one.
                let read = cluster.registered_per_node().await.unwrap_or_default();
                let Some(counts) = weak_counts.upgrade() else {
                    return;
                };
                if let Ok(mut held) = counts.counts.lock() {
                    *held = read
                        .into_iter()
                        .map(|(tag, count)| (tag.as_str().to_string(), count))
                        .collect();
                }
            }
        });
        counts
    }

    /// The sessions the node tagged `tag` has registered, as last read.
    pub fn of(&self, tag: &str) -> Option<u64> {
        self.counts.lock().ok().and_then(|counts| {
            counts
                .iter()
                .find(|(known, _)| known == tag)
                .map(|(_, count)| *count)
        })
    }
}
