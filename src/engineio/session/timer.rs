//! One shared timer task for many sessions: a deadline heap instead of a task per session.
//!
//! Deadlines are [`Tick`]s, whole milliseconds on one process-wide clock, so a heap entry is 16 bytes (the tick
//! and a weak pointer) instead of 32 with an `Instant` and a generation: at 10k sessions the engine's heap is
//! 16,384 slots, and each byte of an entry is 1.6 bytes of every session.

use super::deadlines::{self, Deadlines, room_to_keep};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// A moment on the timers' clock: whole milliseconds since the clock's first use, rounded up (a deadline fires
/// at most a millisecond late, which is the resolution of Tokio's timer anyway). Ticks whose low 32 bits are all
/// zero are skipped, so that [`Tick::short`] is never zero.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Tick(u64);

/// `duration` in whole milliseconds, rounded up.
fn ceil_millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos().div_ceil(1_000_000)).unwrap_or(u64::MAX)
}

/// The instant tick 0 stands for.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl Tick {
    /// The first tick at or after `instant`.
    pub fn at(instant: Instant) -> Self {
        Self::from_millis(ceil_millis(instant.saturating_duration_since(epoch())))
    }

    /// The first tick at or after `wait` from now.
    pub fn after(wait: Duration) -> Self {
        Self::at(Instant::now()).later(wait)
    }

    /// The last tick at or before now (a moment that has passed, not a deadline: it may be a tick [`Tick::at`]
    /// skips).
    pub fn now() -> Self {
        Self::passed(Instant::now())
    }

    /// `wait` after this tick (rounded up to whole milliseconds).
    pub fn later(self, wait: Duration) -> Self {
        Self::from_millis(self.0.saturating_add(ceil_millis(wait)))
    }

    /// The instant the tick stands for.
    pub fn instant(self) -> Instant {
        let since = Duration::from_millis(self.0);
        epoch()
            .checked_add(since)
            .unwrap_or_else(|| epoch() + Duration::from_secs(86_400 * 365 * 30))
    }

    /// The tick's low 32 bits: enough to tell deadlines apart that are less than 24 days from each other (see
    /// [`ShortTick`]).
    pub fn short(self) -> ShortTick {
        ShortTick(NonZeroU32::new(self.0 as u32).unwrap_or(NonZeroU32::MIN))
    }

    /// The first tick after this one whose short form is `short` (for a deadline known by its short form that is
    /// less than 24.8 days away).
    pub fn up_to(self, short: ShortTick) -> Self {
        let ahead = short.0.get().wrapping_sub(self.short().0.get());
        Self(self.0 + u64::from(ahead))
    }

    /// The last tick at or before `instant`, to compare deadlines with (it may be a tick [`Tick::at`] skips).
    fn passed(instant: Instant) -> Self {
        let since = instant.saturating_duration_since(epoch());
        Self(u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
    }

    fn from_millis(millis: u64) -> Self {
        // Skip the ticks a `ShortTick` could not tell from "none".
        Self(if millis as u32 == 0 {
            millis + 1
        } else {
            millis
        })
    }
}

/// The low 32 bits of a [`Tick`], 4 bytes: what a session keeps of its deadlines. It wraps every 49.7 days, so
/// two short ticks compare right only when less than 24.8 days (2^31 ms) apart; every deadline iogate sets is
/// nearer than that (`ping_interval + ping_timeout` is validated to fit, as clients' own timers require).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShortTick(NonZeroU32);

impl ShortTick {
    /// Whether this deadline comes after `other`.
    pub fn is_after(self, other: ShortTick) -> bool {
        (self.0.get().wrapping_sub(other.0.get()) as i32) > 0
    }
}

/// Something with deadlines, driven by [`Timers`].
pub trait Timed: Send + Sync + 'static {
    /// A deadline scheduled for `at` is due. Returns the target's next deadline, if any. Targets that moved
    /// their deadline meanwhile tell so themselves: the timers keep no generation for them.
    fn fire(self: &Arc<Self>, at: Tick) -> Option<Tick>;
}

struct Entry<T: ?Sized> {
    at: Tick,
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
        deadlines::spawn(&timers, wake);
        timers
    }

    /// Fires `target` at `at`, if it is still alive then.
    pub fn schedule(&self, target: &Arc<T>, at: Tick) {
        let earliest = {
            let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
            let earliest = heap.peek().is_none_or(|top| at < top.at);
            heap.push(Entry {
                at,
                target: Arc::downgrade(target),
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
}

impl<T: Timed + ?Sized> Deadlines for Timers<T> {
    type Due = (Arc<T>, Tick);

    fn next_deadline(&self) -> Option<Instant> {
        self.heap
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .peek()
            .map(|e| e.at.instant())
    }

    fn take_due(&self, now: Instant, due: &mut Vec<(Arc<T>, Tick)>) {
        let now = Tick::passed(now);
        let mut heap = self.heap.lock().unwrap_or_else(|p| p.into_inner());
        while heap.peek().is_some_and(|top| top.at <= now) {
            if let Some(entry) = heap.pop() {
                if let Some(target) = entry.target.upgrade() {
                    due.push((target, entry.at));
                }
            }
        }
        // A burst (every connect's timeout, say) grows the heap; give the room back once it has drained.
        if let Some(keep) = room_to_keep(heap.len(), heap.capacity()) {
            heap.shrink_to(keep);
        }
    }

    /// Each target sees its own deadline as "now", so late wake-ups do not push later deadlines further out.
    fn fire(&self, (target, at): (Arc<T>, Tick)) {
        if let Some(next) = target.fire(at) {
            self.schedule(&target, next);
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
        fn fire(self: &Arc<Self>, at: Tick) -> Option<Tick> {
            let count = self.fired.fetch_add(1, AtomicOrdering::SeqCst) + 1;
            (count < self.repeat).then(|| at.later(Duration::from_millis(5)))
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
        timers.schedule(&a, Tick::after(Duration::from_millis(10)));
        timers.schedule(&b, Tick::after(Duration::from_secs(3600)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(a.fired.load(AtomicOrdering::SeqCst), 3);
        assert_eq!(b.fired.load(AtomicOrdering::SeqCst), 0);
        assert_eq!(timers.len(), 1);
    }

    #[test]
    fn ticks_round_up_to_whole_milliseconds() {
        let base = Tick::at(Instant::now());
        let later = Tick::at(base.instant() + Duration::from_micros(1));
        assert_eq!(later, base.later(Duration::from_millis(1)));
        assert_eq!(Tick::at(base.instant()), base);
        assert_eq!(
            base.later(Duration::from_micros(1500)),
            base.later(Duration::from_millis(2))
        );
    }

    #[test]
    fn short_ticks_compare_across_their_wrap_and_are_never_zero() {
        let before_wrap = Tick::from_millis((1 << 32) - 5);
        let after_wrap = before_wrap.later(Duration::from_millis(10));
        assert!(after_wrap.short().is_after(before_wrap.short()));
        assert!(!before_wrap.short().is_after(after_wrap.short()));
        assert_eq!(before_wrap.up_to(after_wrap.short()), after_wrap);
        // The tick whose low 32 bits are zero is skipped.
        assert_eq!(Tick::from_millis(1 << 32), Tick::from_millis((1 << 32) + 1));
        assert_eq!(before_wrap.later(Duration::from_millis(5)).0, (1 << 32) + 1);
    }

    #[tokio::test]
    async fn dropped_targets_are_skipped() {
        let timers = Timers::<Counter>::start();
        let a = Arc::new(Counter {
            fired: AtomicU32::new(0),
            repeat: 1,
        });
        timers.schedule(&a, Tick::after(Duration::from_millis(5)));
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
            timers.schedule(target, Tick::after(Duration::from_millis(5)));
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
