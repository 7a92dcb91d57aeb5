//! A per-session ordered job queue, drained by a worker task that exists only while there is work.
//!
//! Overflow policy: the queue is bounded by the caller's capacity, in jobs and in bytes, through backpressure. A
//! producer that finds it full is handed a future that resolves when there is room, and the transport stops
//! reading from that client until then. Nothing is dropped. The job the worker is sending no longer counts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

/// Jobs of one session, kept in arrival order.
pub struct OrderedQueue<J> {
    inner: Mutex<Inner<J>>,
    space: Notify,
}

struct Inner<J> {
    /// Jobs with the bytes each holds.
    jobs: VecDeque<(J, usize)>,
    /// Bytes the waiting jobs hold.
    bytes: usize,
    running: bool,
    /// The job the worker took last has not been answered yet (see [`OrderedQueue::answered`]).
    awaiting_answer: bool,
    /// The owner's flag (see [`OrderedQueue::raise_flag`]).
    flag: bool,
}

/// What a push asks of the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    /// No worker is draining the queue: the caller must start one.
    pub start_worker: bool,
    /// Jobs now waiting, the new one included.
    pub waiting: usize,
    /// Bytes the waiting jobs hold, the new one's included.
    pub bytes: usize,
}

impl<J> Default for OrderedQueue<J> {
    fn default() -> Self {
        Self {
            inner: Mutex::new(Inner {
                jobs: VecDeque::new(),
                bytes: 0,
                running: false,
                awaiting_answer: false,
                flag: false,
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

    /// Appends a job holding `bytes` (what the client sent that it carries).
    pub fn push(&self, job: J, bytes: usize) -> Pushed {
        let mut inner = self.lock();
        inner.jobs.push_back((job, bytes));
        inner.bytes += bytes;
        let start_worker = !inner.running;
        inner.running = true;
        Pushed {
            start_worker,
            waiting: inner.jobs.len(),
            bytes: inner.bytes,
        }
    }

    /// The next job for the worker; `None` means the worker must stop (and a later push starts a new one).
    pub fn next(&self) -> Option<J> {
        let job = {
            let mut inner = self.lock();
            let job = inner.jobs.pop_front();
            inner.running = job.is_some();
            inner.awaiting_answer = job.is_some();
            if let Some((_, bytes)) = &job {
                inner.bytes -= bytes;
            }
            job
        };
        self.space.notify_waiters();
        job.map(|(job, _)| job)
    }

    /// Raises the one flag the owner keeps with the queue. It sits beside the queue's state under its lock, where
    /// a field of the owner's own would take another 8 bytes in every queue's owner.
    pub fn raise_flag(&self) {
        self.lock().flag = true;
    }

    /// Whether [`OrderedQueue::raise_flag`] was called.
    pub fn flag_raised(&self) -> bool {
        self.lock().flag
    }

    /// The worker has the answer to the job it took last (the webhook's reply is in, or the webhook failed): what
    /// it does with it is no longer "on its way" for [`OrderedQueue::awaits_answers`].
    pub fn answered(&self) {
        self.lock().awaiting_answer = false;
    }

    /// Whether more answers are coming: a job's webhook is out, or jobs wait. A reply being applied right now does
    /// not count, so a poll that holds the packets it brought for more (`poll_coalesce`) does not wait for the
    /// worker to finish with it.
    pub fn awaits_answers(&self) -> bool {
        let inner = self.lock();
        inner.awaiting_answer || !inner.jobs.is_empty()
    }

    /// Jobs waiting.
    pub fn len(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Whether no job waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Resolves once the waiting jobs are within `limits`.
    pub async fn wait_within(&self, limits: Limits) {
        loop {
            let notified = self.space.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let (jobs, bytes) = {
                let inner = self.lock();
                (inner.jobs.len(), inner.bytes)
            };
            if limits.allow(jobs, bytes) {
                return;
            }
            notified.await;
        }
    }
}

/// How much may wait in a queue before its producer is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Fewer jobs than this (`max_pending_hooks`).
    pub jobs: usize,
    /// At most this many bytes (`max_buffer`).
    pub bytes: usize,
}

impl Limits {
    fn allow(self, jobs: usize, bytes: usize) -> bool {
        jobs < self.jobs && bytes <= self.bytes
    }
}

/// What a producer gets after pushing onto a queue that `owner` holds (reached through `queue`): nothing while
/// the waiting jobs are within `limits`, else a future that resolves once they are (the overflow is counted).
pub fn backpressure<O, J>(
    owner: &Arc<O>,
    queue: fn(&O) -> &OrderedQueue<J>,
    pushed: Pushed,
    limits: Limits,
    overflows: &prometheus_client::metrics::counter::Counter,
) -> Option<crate::engineio::Wait>
where
    O: Send + Sync + 'static,
    J: Send + 'static,
{
    if limits.allow(pushed.waiting, pushed.bytes) {
        return None;
    }
    overflows.inc();
    let owner = owner.clone();
    Some(Box::pin(
        async move { queue(&owner).wait_within(limits).await },
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
        assert!(queue.push(1, 0).start_worker);
        assert!(!queue.push(2, 0).start_worker);
        assert_eq!(queue.next(), Some(1));
        assert_eq!(queue.next(), Some(2));
        assert_eq!(queue.next(), None);
        assert!(
            queue.push(3, 0).start_worker,
            "a drained queue needs a new worker"
        );
    }

    #[test]
    fn answers_are_awaited_while_a_webhook_is_out_or_jobs_wait() {
        let queue = OrderedQueue::default();
        assert!(!queue.awaits_answers());
        queue.push(1, 0);
        queue.push(2, 0);
        assert!(queue.awaits_answers(), "jobs wait");
        assert_eq!(queue.next(), Some(1));
        queue.answered();
        assert!(queue.awaits_answers(), "the second job still waits");
        assert_eq!(queue.next(), Some(2));
        assert!(queue.awaits_answers(), "its webhook is out");
        queue.answered();
        assert!(!queue.awaits_answers(), "the last answer is being applied");
        assert_eq!(queue.next(), None);
        assert!(!queue.awaits_answers());
    }

    #[test]
    fn waiting_bytes_are_counted_until_the_worker_takes_the_job() {
        let queue = OrderedQueue::default();
        let limits = Limits {
            jobs: 256,
            bytes: 100,
        };
        assert_eq!(queue.push("a", 60).bytes, 60);
        let pushed = queue.push("b", 50);
        assert_eq!((pushed.waiting, pushed.bytes), (2, 110));
        assert!(
            !limits.allow(pushed.waiting, pushed.bytes),
            "past 100 bytes"
        );
        assert_eq!(queue.next(), Some("a"));
        assert_eq!(queue.push("c", 50).bytes, 100);
        assert!(limits.allow(2, 100), "at the bound is within it");
    }

    #[tokio::test]
    async fn wait_within_resolves_when_the_worker_takes_a_job() {
        let queue = Arc::new(OrderedQueue::default());
        queue.push(1, 0);
        queue.push(2, 0);
        let limits = Limits {
            jobs: 2,
            bytes: usize::MAX,
        };
        let waiter = tokio::spawn({
            let queue = queue.clone();
            async move { queue.wait_within(limits).await }
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
