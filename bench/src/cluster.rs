//! A cluster under test: one fresh Redis and N server processes sharing it (iogate nodes with `[cluster]`, or Node
//! processes with the Redis adapter), started for one scenario and stopped after it.

use crate::Res;
use crate::procfs;
use crate::redis::Redis;
use crate::servers::{Backend, Heartbeat, Kind, Member, Server, Tools};
use std::time::{Duration, Instant};

/// Redis and the nodes.
pub struct Cluster {
    redis: Redis,
    /// The nodes, node 1 first.
    pub nodes: Vec<Server>,
}

impl Cluster {
    /// Starts Redis and `size` nodes of `kind`, and waits until every node takes part in cross-node delivery.
    pub async fn start(
        tools: &Tools,
        kind: Kind,
        backend: &Backend,
        heartbeat: Heartbeat,
        size: usize,
    ) -> Res<Self> {
        let redis = Redis::start(&tools.work_dir).await?;
        let mut cluster = Self {
            redis,
            nodes: Vec::with_capacity(size),
        };
        for node in 1..=size {
            let member = Member {
                redis_url: cluster.redis.url(),
                node,
            };
            match Server::start_member(tools, kind, backend, heartbeat, Some(&member)).await {
                Ok(server) => cluster.nodes.push(server),
                Err(error) => {
                    cluster.stop().await;
                    return Err(error);
                }
            }
        }
        if let Err(error) = cluster.wait_membership(kind, size).await {
            cluster.stop().await;
            return Err(error);
        }
        Ok(cluster)
    }

    /// iogate: until node 1's push API answers for every node (`"nodes": size`). Node processes subscribe to Redis
    /// before they listen, so they are members once ready.
    async fn wait_membership(&self, kind: Kind, size: usize) -> Res<()> {
        if kind != Kind::Iogate {
            return Ok(());
        }
        let first = self.nodes.first().ok_or("a cluster without nodes")?;
        let wanted = format!("\"nodes\":{size}");
        let started = Instant::now();
        let mut last = String::new();
        while started.elapsed() < Duration::from_secs(15) {
            match first
                .emit_to_room_answer("bench-membership", "hello", "")
                .await
            {
                Ok(answer) if answer.replace(' ', "").contains(&wanted) => return Ok(()),
                Ok(answer) => last = answer,
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(
            format!("the {size} iogate nodes did not all answer in 15 s (last answer: {last})")
                .into(),
        )
    }

    /// The nodes' process ids.
    pub fn pids(&self) -> Vec<u32> {
        self.nodes.iter().map(|node| node.pid).collect()
    }

    /// Resident memory of all nodes, KiB.
    pub fn rss_kib(&self) -> u64 {
        self.pids().into_iter().filter_map(procfs::rss_kib).sum()
    }

    /// How many nodes have exited.
    pub fn exited(&mut self) -> usize {
        let mut exited = 0;
        for node in &mut self.nodes {
            if !node.is_running() {
                exited += 1;
            }
        }
        exited
    }

    /// Stops the nodes and Redis.
    pub async fn stop(self) {
        for node in self.nodes {
            node.stop().await;
        }
        self.redis.stop().await;
    }
}
