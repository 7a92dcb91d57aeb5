//! The node's view of its cluster health: the `iogate_cluster_redis_up` and `iogate_cluster_nodes` gauges, and one
//! log line per change of cross-node delivery (a warning when it becomes degraded, an info line when it recovers).

use super::membership::Membership;
use super::redis_link::RedisLink;
use crate::metrics::ClusterMetrics;
use std::sync::Arc;
use std::time::Duration;

/// How often the health is looked at; a change is reported once it held for two looks.
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Watches the link until the process ends; `up` is what joining saw.
pub async fn watch(
    link: RedisLink,
    membership: Arc<Membership>,
    metrics: ClusterMetrics,
    mut up: bool,
) {
    let mut ticks = tokio::time::interval(LOOK_EVERY);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut changing = false;
    loop {
        ticks.tick().await;
        let now = link.is_up();
        metrics.redis_up.set(i64::from(now));
        metrics.nodes.set(membership.live_count() as i64);
        if now == up {
            changing = false;
            continue;
        }
        if !changing {
            changing = true;
            continue;
        }
        changing = false;
        up = now;
        if up {
            tracing::info!(
                nodes = membership.live_count(),
                "cluster: Redis answers again; cross-node delivery works"
            );
        } else {
            tracing::warn!(
                "cluster: Redis does not answer; this node serves its own sessions, cross-node delivery is degraded"
            );
        }
    }
}
