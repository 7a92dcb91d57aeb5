//! The connect deadlines of an endpoint: a first-in first-out queue served by one task.
//!
//! Every session of an endpoint gets the same connect timeout, and a deadline is computed under the queue's lock
//! when it is queued, so the queue is in deadline order by construction: no heap, and the front is always the
//! next deadline. A deadline is cancelled by taking the session's mark away (see `connect_timeout`); whoever does
//! so then calls [`ConnectQueue::drop_cancelled`], which pops the cancelled entries at the front. A client that
//! connects its namespace within milliseconds of its handshake thus leaves the queue at once, and the queue holds
//! only the sessions still waiting (and those behind them), instead of every session of the last timeout.

use crate::engineio::session::deadlines::{self, Deadlines, room_to_keep};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Something that can be closed if it never connected.
pub(crate) trait Unconnected: Send + Sync {
    /// Whether the deadline still counts (no namespace connected, not closed).
    fn waits_for_connect(&self) -> bool;

    /// Closes the session if no namespace was ever connected.
    fn close_if_unconnected(self: Arc<Self>);
}

/// One queued deadline. It points at its target weakly: a queued deadline never keeps a session alive.
struct Entry<T: ?Sized> {
    at: Instant,
    target: Weak<T>,
}

/// The connect deadlines of an endpoint's sessions, all `timeout` after they are queued.
pub(crate) struct ConnectQueue<T: ?Sized> {
    timeout: Duration,
    queue: Mutex<VecDeque<Entry<T>>>,
    wake: Arc<Notify>,
}

impl<T: Unconnected + ?Sized + 'static> ConnectQueue<T> {
    /// Creates the queue and spawns the task that fires its deadlines; it ends when the returned `Arc` is dropped.
    pub(crate) fn start(timeout: Duration) -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let queue = Arc::new(Self {
            timeout,
            queue: Mutex::new(VecDeque::new()),
            wake: wake.clone(),
        });
        deadlines::spawn(&queue, wake);
        queue
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Entry<T>>> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues `target`'s deadline, the timeout from now. Must not be called while holding the target's own lock
    /// (the queue, holding its lock, looks at targets).
    pub(crate) fn push(&self, target: Weak<T>) {
        let was_empty = {
            let mut queue = self.lock();
            let was_empty = queue.is_empty();
            queue.push_back(Entry {
                at: Instant::now() + self.timeout,
                target,
            });
            was_empty
        };
        // Only a deadline queued into an empty queue is earlier than what the task waits for.
        if was_empty {
            self.wake.notify_one();
        }
    }

    /// Pops the front entries whose deadline no longer counts (target gone, connected or closed). Call it after
    /// taking a session's mark away, without holding the session's lock.
    pub(crate) fn drop_cancelled(&self) {
        loop {
            // A target is released after the queue's lock, so its drop never runs under it.
            let _released = {
                let mut queue = self.lock();
                let Some(front) = queue.front() else {
                    return;
                };
                let target = front.target.upgrade();
                if target.as_ref().is_some_and(|t| t.waits_for_connect()) {
                    return;
                }
                pop_front(&mut queue);
                target
            };
        }
    }

    /// Number of deadlines queued (including cancelled ones not yet at the front).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

impl<T: Unconnected + ?Sized + 'static> Deadlines for ConnectQueue<T> {
    type Due = Arc<T>;

    fn next_deadline(&self) -> Option<Instant> {
        self.lock().front().map(|entry| entry.at)
    }

    fn take_due(&self, now: Instant, due: &mut Vec<Arc<T>>) {
        let mut queue = self.lock();
        while queue.front().is_some_and(|entry| entry.at <= now) {
            if let Some(target) = pop_front(&mut queue).and_then(|entry| entry.target.upgrade()) {
                due.push(target);
            }
        }
    }

    fn fire(&self, target: Arc<T>) {
        target.close_if_unconnected();
    }
}

/// Pops the front entry; a burst's room is given back once the queue has drained below a quarter of it.
fn pop_front<T: ?Sized>(queue: &mut VecDeque<Entry<T>>) -> Option<Entry<T>> {
    let entry = queue.pop_front();
    if let Some(keep) = room_to_keep(queue.len(), queue.capacity()) {
        queue.shrink_to(keep);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    #[derive(Default)]
    struct Client {
        connected: AtomicBool,
        closed: AtomicU32,
    }

    impl Unconnected for Client {
        fn waits_for_connect(&self) -> bool {
            !self.connected.load(Ordering::SeqCst)
        }

        fn close_if_unconnected(self: Arc<Self>) {
            if self.waits_for_connect() {
                self.closed.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    /// `count` clients, each with its deadline queued on `queue`.
    fn queued_clients(queue: &ConnectQueue<Client>, count: usize) -> Vec<Arc<Client>> {
        let all: Vec<Arc<Client>> = (0..count).map(|_| Arc::new(Client::default())).collect();
        for client in &all {
            queue.push(Arc::downgrade(client));
        }
        all
    }

    #[tokio::test]
    async fn an_unconnected_client_is_closed_once_at_its_deadline() {
        let queue = ConnectQueue::<Client>::start(Duration::from_millis(30));
        let (waiting, connected) = (Arc::new(Client::default()), Arc::new(Client::default()));
        queue.push(Arc::downgrade(&waiting));
        queue.push(Arc::downgrade(&connected));
        connected.connected.store(true, Ordering::SeqCst);
        queue.drop_cancelled();
        // The front still waits: the connected one behind it stays queued until then.
        assert_eq!(queue.len(), 2);
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(waiting.closed.load(Ordering::SeqCst), 0);
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(waiting.closed.load(Ordering::SeqCst), 1);
        assert_eq!(connected.closed.load(Ordering::SeqCst), 0);
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test]
    async fn connected_and_dropped_clients_leave_at_once_and_are_not_kept_alive() {
        let queue = ConnectQueue::<Client>::start(Duration::from_secs(3600));
        let all = queued_clients(&queue, 3);
        let weak = Arc::downgrade(&all[0]);
        all[1].connected.store(true, Ordering::SeqCst);
        queue.drop_cancelled();
        assert_eq!(queue.len(), 3);
        let mut all = all.into_iter();
        drop(all.next());
        assert!(weak.upgrade().is_none());
        queue.drop_cancelled();
        assert_eq!(queue.len(), 1);
        let last = all.nth(1).expect("a third client");
        last.connected.store(true, Ordering::SeqCst);
        queue.drop_cancelled();
        assert_eq!(queue.len(), 0);
    }

    #[tokio::test]
    async fn a_drained_burst_gives_its_room_back() {
        let queue = ConnectQueue::<Client>::start(Duration::from_secs(3600));
        let all = queued_clients(&queue, 4096);
        assert!(queue.lock().capacity() >= 4096);
        for client in &all {
            client.connected.store(true, Ordering::SeqCst);
            queue.drop_cancelled();
        }
        assert_eq!(queue.len(), 0);
        assert!(queue.lock().capacity() <= 128);
        assert!(
            all.iter()
                .all(|client| client.closed.load(Ordering::SeqCst) == 0)
        );
    }
}
