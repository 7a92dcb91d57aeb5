//! A per-session ordered job queue, drained by a worker task that exists only while there is work.
//!
//! Overflow policy: the queue is bounded by the caller's capacity through backpressure. A producer that finds it
//! full is handed a future that resolves when there is room, and the transport stops reading from that client
//! until then. Nothing is dropped.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Jobs of one session, kept in arrival order.
pub struct OrderedQueue<J> {
    inner: Mutex<Inner<J>>,
    space: Notify,
}

struct Inner<J> {
    jobs: VecDeque<J>,
    running: bool,
}

/// What a push asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// No worker is draining the queue: the caller must start one.
    pub start_worker: bool,
    /// Jobs now waiting, the new one included.
    pub waiting: usize,
}

impl<J> Default for OrderedQueue<J> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                jobs: VecDeque::new(),
                running: false,
            }),
            space: Notify::new(),
        }
    }
}

impl<J> OrderedQueue<J> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<J>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Appends a job.
    pub fn push(&self, job: J) -> Pushed {
        let mut inner = self.lock();
        inner.jobs.push_back(job);
        let start_worker = !inner.running;
        inner.running = true;
        Pushed {
            start_worker,
            waiting: inner.jobs.len(),
        }
    }

    /// The next job for the worker; `None` means the worker must stop (and a later push starts a new one).
    pub fn next(&self) -> Option<J> {
        let job = {
            let mut inner = self.lock();
            let job = inner.jobs.pop_front();
            inner.running = job.is_some();
            job
        };
        self.space.notify_waiters();
        job
    }

    /// Whether a worker is running or jobs wait.
    pub fn is_busy(&self) -> bool {
        let inner = self.lock();
        inner.running || !inner.jobs.is_empty()
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether no job waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once fewer than `capacity` jobs wait.
    pub async fn wait_below(&self, capacity: usize) {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.len() < capacity {
                return;
            }
            notified.await;
        }
    }
}

/// What a producer gets after pushing onto a queue that `owner` holds (reached through `queue`): nothing while
/// fewer than `capacity` jobs wait, else a future that resolves once there is room (the overflow is counted).
pub fn backpressure<O, J>(
    owner: &Arc<O>,
    queue: fn(&O) -> &OrderedQueue<J>,
    waiting: usize,
    capacity: usize,
    overflows: &prometheus_client::metrics::counter::Counter,
) -> Option<crate::engineio::Wait>
where
    O: Send + Sync + 'static,
    J: Send + 'static,
{
    if waiting < capacity {
        return None;
    }
    overflows.inc();
    let owner = owner.clone();
    Some(Box::pin(
        async move { queue(&owner).wait_below(capacity).await },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn first_push_starts_a_worker_and_order_is_kept() {
        let queue = OrderedQueue::default();
        assert!(queue.push(1).start_worker);
        assert!(!queue.push(2).start_worker);
        assert_eq!(queue.next(), Some(1));
        assert_eq!(queue.next(), Some(2));
        assert_eq!(queue.next(), None);
        assert!(
            queue.push(3).start_worker,
            "a drained queue needs a new worker"
        );
    }

    #[tokio::test]
    async fn wait_below_resolves_when_the_worker_takes_a_job() {
        let queue = Arc::new(OrderedQueue::default());
        queue.push(1);
        queue.push(2);
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.wait_below(2).await }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiter.is_finished());
        queue.next();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
