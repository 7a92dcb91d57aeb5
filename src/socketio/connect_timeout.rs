//! The connect timeout: a session that connects no namespace in time is closed, on the shared timer.
//!
//! The deadline's entry points at the session itself (weakly) and costs no allocation of its own; the session's
//! [`ConnectPending`] mark, taken away when a namespace connects, is what cancels it. The price: a session that
//! ends before its deadline keeps its block (not what it held) until the deadline passes, as its heartbeat entry
//! already keeps it for up to a ping interval.

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

/// The connect deadlines of an endpoint's sessions.
pub(crate) type ConnectTimers = Timers<dyn Unconnected>;

/// Marks a session whose connect deadline still counts: removing it cancels the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectPending;

impl Timed for dyn Unconnected {
    fn fire(self: &Arc<Self>, _generation: u64, _now: Instant) -> Option<Instant> {
        self.clone().close_if_unconnected();
        None
    }
}

/// Starts the connect deadline of a new session: closed after `timeout` unless it connects a namespace.
pub(crate) fn start<S: Send + Sync + 'static>(
    timers: &ConnectTimers,
    session: &Arc<Session<SessionSockets<S>>>,
    timeout: Duration,
) {
    session.state().lock().connect_timeout = Some(ConnectPending);
    let target: Weak<dyn Unconnected> = Arc::downgrade(session) as Weak<dyn Unconnected>;
    timers.schedule_weak(target, Instant::now() + timeout, 0);
}

impl<S: Send + Sync + 'static> Unconnected for Session<SessionSockets<S>> {
    fn close_if_unconnected(self: Arc<Self>) {
        let unconnected = {
            let inner = self.state().lock();
            inner.connect_timeout.is_some() && !inner.ever_connected
        };
        if unconnected {
            tracing::debug!(sid = %self.id(), "no namespace connected in time; closing");
            self.close(CloseReason::ForcedClose);
        }
    }
}
