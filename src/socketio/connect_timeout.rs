//! The connect timeout: a session that connects no namespace in time is closed, on the endpoint's connect queue.
//!
//! The deadline's entry points at the session itself (weakly) and costs no allocation of its own; the session's
//! [`ConnectPending`] mark, taken away when a namespace connects or the session closes, is what cancels it. Whoever
//! takes the mark away then calls [`ConnectQueue::drop_cancelled`], so the entry leaves as soon as the ones ahead of
//! it have (see `connect_queue`).

use super::connect_queue::{ConnectQueue, Unconnected};
use super::session_sockets::SessionSockets;
use crate::engineio::{CloseReason, Session};
use std::sync::{Arc, Weak};

/// The connect deadlines of an endpoint's sessions.
pub(crate) type ConnectTimers = ConnectQueue<dyn Unconnected>;

/// Marks a session whose connect deadline still counts: removing it cancels the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnectPending;

/// Starts the connect deadline of a new session: closed after the endpoint's connect timeout unless it connects a
/// namespace.
pub(crate) fn start<S: Send + Sync + 'static>(
    timers: &ConnectTimers,
    session: &Arc<Session<SessionSockets<S>>>,
) {
    session.state().lock().connect_timeout = Some(ConnectPending);
    let target: Weak<dyn Unconnected> = Arc::downgrade(session) as Weak<dyn Unconnected>;
    timers.push(target);
}

impl<S: Send + Sync + 'static> Unconnected for Session<SessionSockets<S>> {
    fn waits_for_connect(&self) -> bool {
        let inner = self.state().lock();
        inner.connect_timeout.is_some() && !inner.ever_connected
    }

    fn close_if_unconnected(self: Arc<Self>) {
        if self.waits_for_connect() {
            tracing::debug!(sid = %self.id(), "no namespace connected in time; closing");
            self.close(CloseReason::ForcedClose);
        }
    }
}
