//! In-process nodes of a test cluster: [`Gateway`]s whose `[cluster]` table names one test [`Redis`], the wait
//! until a node sees the others, and a node's metrics.

use super::gateway::Gateway;
use super::redis::Redis;
use std::time::Duration;

/// How long a node may take to see the others and learn the hop secret.
const JOIN_LIMIT: Duration = Duration::from_secs(6);

/// The `[cluster]` table of node `node_id` in the cluster of `redis`, every other key at its default (TOML lines,
/// so a caller may append more keys of the table).
pub fn cluster_table(redis: &Redis, node_id: &str) -> String {
    format!(
        "[cluster]\nredis = \"{}\"\nnode_id = \"{node_id}\"\n",
        redis.url()
    )
}

/// Waits until `gateway` sees `count` live nodes and knows the hop secret; panics after [`JOIN_LIMIT`].
pub async fn wait_joined(gateway: &Gateway, count: usize) {
    let deadline = tokio::time::Instant::now() + JOIN_LIMIT;
    loop {
        let joined = gateway.running.app.cluster().is_some_and(|cluster| {
            cluster.membership().live_count() == count
                && cluster.membership().hop_secret().is_some()
        });
        if joined {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the node does not see {count} live nodes within {JOIN_LIMIT:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `gateway`'s metrics, as `GET /metrics` answers them.
pub fn metrics_text(gateway: &Gateway) -> String {
    gateway.running.app.metrics().encode()
}
