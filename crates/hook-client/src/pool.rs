//! The idle keep-alive connections to one backend (`host:port`), shared by every target there.
//!
//! Connections are reused last-in first-out, so a burst leaves the most recently used (warmest) ones in use and the
//! rest ages out. At most [`MAX_IDLE_PER_BACKEND`] are kept idle (past that the one idle longest is closed), and
//! none longer than [`IDLE_TIMEOUT`]: a task that exists only while the pool holds idle connections closes them
//! when they expire.

use crate::pooled_connection::PooledConnection;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// The most idle connections kept per backend `host:port`. A burst may open more at once (concurrent webhooks are
/// not limited); those beyond this are closed as they come back.
pub const MAX_IDLE_PER_BACKEND: usize = 256;

/// How long an idle connection is kept before it is closed.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// A connection taken from the pool.
#[derive(Debug)]
pub struct Pooled {
    /// The connection.
    pub conn: PooledConnection,
    /// When it was put back (to forget those idle at least as long, should it turn out to be closed).
    pub idle_since: Instant,
}

/// The idle connections to one backend.
#[derive(Clone, Default)]
pub struct Pool {
    shared: Arc<Mutex<Idle>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("idle", &self.idle()).finish()
    }
}

#[derive(Default)]
struct Idle {
    /// Oldest first: connections are put back at the end and taken from the end.
    conns: VecDeque<Pooled>,
    /// Whether the expiry task is running.
    reaping: bool,
}

impl Pool {
    /// The connection put back last, unless it has been idle for [`IDLE_TIMEOUT`] (then all of them have, and all
    /// are closed).
    pub fn checkout(&self) -> Option<Pooled> {
        let mut idle = self.lock();
        let pooled = idle.conns.pop_back()?;
        if pooled.idle_since.elapsed() < IDLE_TIMEOUT {
            return Some(pooled);
        }
        let expired = std::mem::take(&mut idle.conns);
        drop(idle);
        drop((pooled, expired));
        None
    }

    /// Keeps `conn` for the next request, closing the connection idle longest when the pool is full.
    pub fn put_back(&self, conn: PooledConnection) {
        let mut idle = self.lock();
        let evicted = if idle.conns.len() >= MAX_IDLE_PER_BACKEND {
            idle.conns.pop_front()
        } else {
            None
        };
        idle.conns.push_back(Pooled {
            conn,
            idle_since: Instant::now(),
        });
        let start_reaper = !idle.reaping;
        idle.reaping = true;
        drop(idle);
        drop(evicted);
        if start_reaper {
            self.start_reaper();
        }
    }

    /// Closes the connections idle since `since` or earlier: when one of them turned out to be closed by the
    /// backend, those idle longer most likely are too.
    pub fn forget_idle_since(&self, since: Instant) {
        let mut idle = self.lock();
        let stale = idle
            .conns
            .partition_point(|pooled| pooled.idle_since <= since);
        let closed: Vec<Pooled> = idle.conns.drain(..stale).collect();
        drop(idle);
        drop(closed);
    }

    /// Idle connections held now.
    pub fn idle(&self) -> usize {
        self.lock().conns.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Idle> {
        // The lock guards no invariant a panicking holder could break: take it back.
        self.shared
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Starts the task closing expired connections; it ends once the pool is empty (or dropped).
    fn start_reaper(&self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.lock().reaping = false;
            return;
        };
        let weak = Arc::downgrade(&self.shared);
        runtime.spawn(reap(weak));
    }
}

/// Closes connections as they expire, oldest first, until none is left.
async fn reap(shared: Weak<Mutex<Idle>>) {
    loop {
        let next = {
            let Some(shared) = shared.upgrade() else {
                return;
            };
            let mut idle = shared
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            let now = Instant::now();
            let expired = idle
                .conns
                .partition_point(|pooled| pooled.idle_since + IDLE_TIMEOUT <= now);
            let closed: Vec<Pooled> = idle.conns.drain(..expired).collect();
            let next = idle
                .conns
                .front()
                .map(|oldest| oldest.idle_since + IDLE_TIMEOUT);
            if next.is_none() {
                idle.reaping = false;
            }
            drop(idle);
            drop(closed);
            next
        };
        match next {
            Some(deadline) => tokio::time::sleep_until(deadline).await,
            None => return,
        }
    }
}
