//! What collections of deadlines served by one task share: the task itself, which sleeps until the earliest
//! deadline (or until woken because an earlier one arrived), takes what is due and fires it; and the rule for
//! giving a drained burst's room back. The engine's heartbeat [`super::timer::Timers`] and Socket.IO's connect
//! queue are two such collections.

use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Deadlines one task serves (see [`spawn`]).
pub(crate) trait Deadlines: Send + Sync + 'static {
    /// What a due deadline hands to [`Deadlines::fire`].
    type Due: Send;

    /// The earliest deadline waiting, if any.
    fn next_deadline(&self) -> Option<Instant>;

    /// Moves every deadline due at `now` into `due` (leaving out those whose target is gone).
    fn take_due(&self, now: Instant, due: &mut Vec<Self::Due>);

    /// Acts on one due deadline. Called without the collection's lock, so it may add deadlines.
    fn fire(&self, due: Self::Due);
}

/// Starts the task that serves `deadlines`; `wake` wakes it when a deadline earlier than the one it waits for
/// arrives. The task ends once `deadlines` is dropped (it looks at least once a second).
pub(crate) fn spawn<D: Deadlines>(deadlines: &Arc<D>, wake: Arc<Notify>) {
    tokio::spawn(serve(Arc::downgrade(deadlines), wake));
}

async fn serve<D: Deadlines>(deadlines: Weak<D>, wake: Arc<Notify>) {
    let mut due = Vec::new();
    loop {
        let Some(strong) = deadlines.upgrade() else {
            return;
        };
        let wait = strong.next_deadline();
        drop(strong);
        // Created after the look at the earliest deadline: a wake sent in between is kept as a permit.
        let woken = wake.notified();
        let sleep_until = wait.unwrap_or_else(|| Instant::now() + Duration::from_secs(1));
        tokio::select! {
            _ = tokio::time::sleep_until(sleep_until) => {}
            _ = woken => {}
        }
        let Some(strong) = deadlines.upgrade() else {
            return;
        };
        strong.take_due(Instant::now(), &mut due);
        for item in due.drain(..) {
            strong.fire(item);
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
