//! One shared timer task for many sessions: a deadline heap instead of a task per session.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Mutex, Weak};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Something with deadlines, driven by [`Timers`].
pub trait Timed: Send + Sync + 'static {
    /// A deadline scheduled with `generation` for `now` is due. Returns the next deadline for the same generation.
    /// Implementations ignore generations they have moved past.
    fn fire(self: &Arc<Self>, generation: u64, now: Instant) -> Option<Instant>;
}

struct Entry<T: ?Sized> {
    at: Instant,
    generation: u64,
    target: Weak<T>,
}

impl<T: ?Sized> PartialEq for Entry<T> {
    fn eq(&self, other: &Self) -> bool {
        self.at == other.at
    }
}
impl<T: ?Sized> Eq for Entry<T> {}
impl<T: ?Sized> PartialOrd for Entry<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T: ?Sized> Ord for Entry<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other.at.cmp(&self.at) // min-heap on the deadline
    }
}

/// A heap of deadlines served by one background task. `T` may be a trait object: its entries then point at
/// whatever implements it, with no allocation of their own.
pub struct Timers<T: ?Sized> {
    heap: Mutex<BinaryHeap<Entry<T>>>,
    wake: Arc<Notify>,
}

impl<T: Timed + ?Sized> Timers<T> {
    /// Creates the timers and spawns the task that fires them; it ends when the returned `Arc` is dropped.
    pub fn start() -> Arc<Self> {
        let wake = Arc::new(Notify::new());
        let timers = Arc::new(Self {
            heap: Mutex::new(BinaryHeap::new()),
            wake: wake.clone(),
        });
        tokio::spawn(run(Arc::downgrade(&timers), wake));
        timers
    }

    /// Fires `target` at `at` with `generation`.
    pub fn schedule(&self, target: &Arc<T>, at: Instant, generation: u64) {
        self.schedule_weak(Arc::downgrade(target), at, generation);
    }

    /// Fires `target` at `at` with `generation`, if it is still alive then.
    pub fn schedule_weak(&self, target: Weak<T>, at: Instant, generation: u64) {
        let earliest = {
            let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
            let earliest = heap.peek().is_none_or(|top| at < top.at);
            heap.push(Entry {
                at,
                generation,
                target,
            });
            earliest
        };
        if earliest {
            self.wake.notify_one();
        }
    }

    /// Number of deadlines waiting (including stale ones).
    pub fn len(&self) -> usize {
        self.heap.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Whether no deadline is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.heap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .peek()
            .map(|e| e.at)
    }

    fn take_due(&self, now: Instant, due: &mut Vec<(Arc<T>, u64, Instant)>) {
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        while heap.peek().is_some_and(|top| top.at <= now) {
            if let Some(entry) = heap.pop() {
                if let Some(target) = entry.target.upgrade() {
                    due.push((target, entry.generation, entry.at));
                }
            }
        }
        // A burst (every connect's timeout, say) grows the heap; give the room back once it has drained.
        if let Some(keep) = room_to_keep(heap.len(), heap.capacity()) {
            heap.shrink_to(keep);
        }
    }
}

/// Deadline collections smaller than this many entries' room keep it.
const MIN_ROOM: usize = 64;

/// The room a deadline collection of `len` entries in `capacity` slots should shrink to, once a burst has drained
/// below a quarter of it; `None` while it should keep what it has.
pub(crate) fn room_to_keep(len: usize, capacity: usize) -> Option<usize> {
    (capacity > MIN_ROOM && len < capacity / 4).then(|| (len * 2).max(MIN_ROOM))
}

async fn run<T: Timed + ?Sized>(timers: Weak<Timers<T>>, wake: Arc<Notify>) {
    let mut due = Vec::new();
    loop {
        let Some(strong) = timers.upgrade() else {
            return;
        };
        let wait = strong.next_deadline();
        drop(strong);
        let wake = wake.notified();
        // Wake at the next deadline, when an earlier one is scheduled, or every second to notice shutdown.
        let sleep_until =
            wait.unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep_until(sleep_until) => {}
            _ = wake => {}
        }
        let Some(strong) = timers.upgrade() else {
            return;
        };
        let now = Instant::now();
        strong.take_due(now, &mut due);
        // Each target sees its own deadline as "now", so late wake-ups do not push later deadlines further out.
        for (target, generation, at) in due.drain(..) {
            if let Some(next) = target.fire(generation, at) {
                strong.schedule(&target, next, generation);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering as AtomicOrdering};
    use std::time::Duration;

    struct Counter {
        fired: AtomicU32,
        repeat: u32,
    }

    impl Timed for Counter {
        fn fire(self: &Arc<Self>, _generation: u64, now: Instant) -> Option<Instant> {
            let count = self.fired.fetch_add(1, AtomicOrdering::SeqCst) + 1;
            (count < self.repeat).then(|| now + Duration::from_millis(5))
        }
    }

    #[tokio::test]
    async fn fires_in_order_and_repeats() {
        let timers = Timers::<Counter>::start();
        let a = Arc::new(Counter {
            fired: AtomicU32::new(0),
            repeat: 3,
        });
        let b = Arc::new(Counter {
            fired: AtomicU32::new(0),
            repeat: 1,
        });
        timers.schedule(&a, Instant::now() + Duration::from_millis(10), 0);
        timers.schedule(&b, Instant::now() + Duration::from_secs(3600), 0);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(a.fired.load(AtomicOrdering::SeqCst), 3);
        assert_eq!(b.fired.load(AtomicOrdering::SeqCst), 0);
        assert_eq!(timers.len(), 1);
    }

    #[tokio::test]
    async fn dropped_targets_are_skipped() {
        let timers = Timers::<Counter>::start();
        let a = Arc::new(Counter {
            fired: AtomicU32::new(0),
            repeat: 1,
        });
        timers.schedule(&a, Instant::now() + Duration::from_millis(5), 0);
        drop(a);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(timers.is_empty());
    }

    #[tokio::test]
    async fn a_drained_burst_gives_its_room_back() {
        let timers = Timers::<Counter>::start();
        let targets: Vec<Arc<Counter>> = (0..4096)
            .map(|_| {
                Arc::new(Counter {
                    fired: AtomicU32::new(0),
                    repeat: 1,
                })
            })
            .collect();
        for target in &targets {
            timers.schedule(target, Instant::now() + Duration::from_millis(5), 0);
        }
        let grown = timers.heap.lock().unwrap().capacity();
        assert!(grown >= 4096);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(timers.is_empty());
        assert!(
            targets
                .iter()
                .all(|t| t.fired.load(AtomicOrdering::SeqCst) == 1)
        );
        assert!(timers.heap.lock().unwrap().capacity() <= 128);
    }
}
