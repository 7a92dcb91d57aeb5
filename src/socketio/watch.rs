//! The connect timeout: a session that connects no namespace in time is closed, on the shared timer.

use crate::engineio::timer::Timed;
use std::sync::{Arc, Weak};
use tokio::time::Instant;

/// Something that can be closed if it never connected.
pub(crate) trait Unconnected: Send + Sync {
    /// Closes the session if no namespace was ever connected.
    fn close_if_unconnected(self: Arc<Self>);
}

/// One session's connect deadline.
pub(crate) struct ConnectWatch {
    pub(crate) target: Weak<dyn Unconnected>,
}

impl Timed for ConnectWatch {
    fn fire(self: &Arc<Self>, _generation: u64, _now: Instant) -> Option<Instant> {
        if let Some(target) = self.target.upgrade() {
            target.close_if_unconnected();
        }
        None
    }
}
