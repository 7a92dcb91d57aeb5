//! The connect timeout: a session that connects no namespace in time is closed, on the shared timer.

use super::session_sockets::SessionSockets;
use crate::engineio::session::timer::{Timed, Timers};
use crate::engineio::{CloseReason, Session};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::time::Instant;

/// Something that can be closed if it never connected.
pub(crate) trait Unconnected: Send + Sync {
    /// Closes the session if no namespace was ever connected.
    fn close_if_unconnected(self: Arc<Self>);
}

/// One session's connect deadline.
pub(crate) struct ConnectTimeout {
    pub(crate) target: Weak<dyn Unconnected>,
}

impl Timed for ConnectTimeout {
    fn fire(self: &Arc<Self>, _generation: u64, _now: Instant) -> Option<Instant> {
        if let Some(target) = self.target.upgrade() {
            target.close_if_unconnected();
        }
        None
    }
}

/// Starts the connect deadline of a new session: closed after `timeout` unless it connects a namespace.
pub(crate) fn start<S: Send + Sync + 'static>(
    timers: &Arc<Timers<ConnectTimeout>>,
    session: &Arc<Session<SessionSockets<S>>>,
    timeout: Duration,
) {
    let target: Weak<dyn Unconnected> = Arc::downgrade(session) as Weak<dyn Unconnected>;
    let watch = Arc::new(ConnectTimeout { target });
    timers.schedule(&watch, Instant::now() + timeout, 0);
    session.state().lock().connect_timeout = Some(watch);
}

impl<S: Send + Sync + 'static> Unconnected for Session<SessionSockets<S>> {
    fn close_if_unconnected(self: Arc<Self>) {
        let unconnected = !self.state().lock().ever_connected;
        if unconnected {
            tracing::debug!(sid = %self.id(), "no namespace connected in time; closing");
            self.close(CloseReason::ForcedClose);
        }
    }
}
