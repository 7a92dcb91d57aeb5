//! Cleaning up after a departed node: the survivor that claimed it reads the node's session registry in batches,
//! has each session's disconnect hook sent (by whatever [`DepartedSessions`] the composition root gives: the
//! endpoints' own relays), removes each batch from the registry once its hooks are sent, and deletes the registry.
//!
//! Exactly once: only the survivor holding the claim sends, and an entry leaves the registry as soon as its hook is
//! sent (delivered, refused, or given up as any disconnect hook is). If that survivor dies midway, its claim lapses
//! ([`CLAIM_TTL`](super::membership) after it was last refreshed) and another survivor sends the remaining entries:
//! hooks of the batch that was in flight may then be sent twice (at least once across a second failure).

use super::keys::Keys;
use super::membership::bounded;
use super::redis_link::RedisLink;
use super::registry::{Entry, REGISTRY_TTL};
use crate::engineio::NodeTag;
use crate::metrics::ClusterMetrics;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Entries read (and hooks sent at once) per batch.
const BATCH: usize = 200;

/// How often the claim is refreshed while a batch's hooks are still being sent.
const KEEP_CLAIM_EVERY: Duration = Duration::from_secs(60);

/// How long a survivor keeps retrying while Redis does not answer before it leaves the rest to a later claim.
const GIVE_UP_AFTER: Duration = Duration::from_secs(300);

/// Sends the hook that reports a departed node's session gone.
pub trait DepartedSessions: Send + Sync + 'static {
    /// Sends `entry`'s disconnect (Socket.IO) or close (Engine.IO) hook, retried as that endpoint retries them;
    /// resolves once it is delivered or given up. Answers false when no endpoint of this node has that path (or
    /// the endpoint does not send that hook).
    fn gone(&self, entry: Entry) -> Pin<Box<dyn Future<Output = bool> + Send>>;
}

/// Cleans up after the departed node `tag`: every registered session's hook, then the registry is deleted.
pub async fn clean_up(
    link: &RedisLink,
    keys: &Keys,
    tag: NodeTag,
    sessions: Arc<dyn DepartedSessions>,
    metrics: &ClusterMetrics,
) {
    let started = tokio::time::Instant::now();
    let mut sent = 0usize;
    loop {
        match one_pass(link, keys, tag, &sessions, metrics, &mut sent).await {
            Ok(()) => break,
            Err(why) if started.elapsed() < GIVE_UP_AFTER => {
                tracing::debug!(departed = %tag, error = %why, "cluster: reading a departed node's registry failed; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(why) => {
                tracing::warn!(
                    departed = %tag, error = %why, hooks_sent = sent,
                    "cluster: gave up cleaning up after a departed node; another node takes the rest when this claim lapses"
                );
                return;
            }
        }
    }
    metrics.departures.inc();
    tracing::info!(departed = %tag, hooks_sent = sent, "cluster: cleaned up after a departed node");
}

/// One scan of the registry from its start: hooks for each batch, then the batch leaves the registry.
async fn one_pass(
    link: &RedisLink,
    keys: &Keys,
    tag: NodeTag,
    sessions: &Arc<dyn DepartedSessions>,
    metrics: &ClusterMetrics,
    sent: &mut usize,
) -> Result<(), String> {
    let key = keys.sockets(tag);
    let claim = keys.departed_claim(tag);
    let mut redis = link.commands();
    let mut cursor = 0u64;
    loop {
        let (next, pairs): (u64, Vec<(String, String)>) = bounded(
            redis::cmd("HSCAN")
                .arg(&key)
                .arg(cursor)
                .arg("COUNT")
                .arg(BATCH)
                .query_async(&mut redis),
        )
        .await?;
        if !pairs.is_empty() {
            let mut hooks = tokio::task::JoinSet::new();
            let mut fields = Vec::with_capacity(pairs.len());
            for (field, value) in pairs {
                fields.push(field);
                match serde_json::from_str::<Entry>(&value) {
                    Ok(entry) => {
                        hooks.spawn(sessions.gone(entry));
                    }
                    Err(error) => {
                        tracing::warn!(departed = %tag, %error, "cluster: unreadable registry entry skipped")
                    }
                }
            }
            // Retries may keep a batch going for the endpoint's whole retry window: the claim is kept meanwhile.
            let mut keep_claim = tokio::time::interval(KEEP_CLAIM_EVERY);
            keep_claim.reset();
            loop {
                tokio::select! {
                    done = hooks.join_next() => match done {
                        Some(Ok(true)) => {
                            *sent += 1;
                            metrics.departed_hooks.inc();
                        }
                        Some(_) => {}
                        None => break,
                    },
                    _ = keep_claim.tick() => {
                        let _ = bounded(
                            redis::cmd("PEXPIRE")
                                .arg(&claim)
                                .arg(super::membership::CLAIM_TTL.as_millis() as u64)
                                .query_async::<()>(&mut redis),
                        )
                        .await;
                    }
                }
            }
            // Sent: out of the registry, and the claim (and the registry) kept while the work goes on.
            bounded(
                redis::pipe()
                    .cmd("HDEL")
                    .arg(&key)
                    .arg(&fields)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&claim)
                    .arg(super::membership::CLAIM_TTL.as_millis() as u64)
                    .ignore()
                    .cmd("PEXPIRE")
                    .arg(&key)
                    .arg(REGISTRY_TTL.as_millis() as u64)
                    .ignore()
                    .query_async::<()>(&mut redis),
            )
            .await?;
        }
        if next == 0 {
            break;
        }
        cursor = next;
    }
    bounded(redis::cmd("DEL").arg(&key).query_async::<()>(&mut redis)).await
}
