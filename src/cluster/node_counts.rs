//! How many sessions each live node holds, as the cluster sees them: the length of each node's registry hash (one
//! entry per Socket.IO socket, parked ones included, and per `engine.io` session). Read on demand for the status
//! page's per-node view, at most every few seconds, never per event.

use super::Cluster;
use super::membership::bounded;
use crate::engineio::NodeTag;

impl Cluster {
    /// The registered sessions of every live node, by tag, in one pipelined round trip; an error when Redis does
    /// not answer in time.
    pub async fn registered_per_node(&self) -> Result<Vec<(NodeTag, u64)>, String> {
        let tags: Vec<NodeTag> = self
            .membership()
            .live()
            .into_iter()
            .map(|(tag, _)| tag)
            .collect();
        if tags.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for tag in &tags {
            pipe.cmd("HLEN").arg(self.keys().sockets(*tag));
        }
        let mut redis = self.redis().commands();
        let counts: Vec<u64> = bounded(pipe.query_async(&mut redis)).await?;
        Ok(tags.into_iter().zip(counts).collect())
    }
}
