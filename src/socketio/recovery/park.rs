//! Parking a socket whose session ended, ending it when its window runs out (or at shutdown), and forgetting
//! the private id of a socket that ends.

use super::parked::{Expired, ParkRefused, Parked};
use super::recoverable;
use crate::engineio::CloseReason;
use crate::engineio::session::timer::{Tick, Timed};
use crate::socketio::app::SocketApp;
use crate::socketio::ops::{Adapter, Ops};
use crate::socketio::server::SocketIo;
use crate::socketio::socket::Socket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

impl<A: SocketApp, D: Adapter> Ops<A, D> {
    /// Parks `socket`, whose session ended for `reason`, if it is recoverable: it stays in its namespace and
    /// rooms, and its `disconnect` hook waits for the window. False when it is not parked (it ends now).
    pub(crate) fn park(&self, socket: &Arc<Socket<A::SocketState>>, reason: CloseReason) -> bool {
        let Some(settings) = &self.config.recovery else {
            return false;
        };
        if !recoverable(reason) {
            return false;
        }
        let Some(pid) = socket.recovery_pid() else {
            return false;
        };
        let expiry = self.expiry_timer(&pid);
        let generation = match self
            .parked
            .park(&pid, socket.clone(), reason, Some(expiry.clone()))
        {
            Ok(generation) => generation,
            Err(ParkRefused::Full) => {
                settings.metrics.park_refused.inc();
                if once_per_burst(&LAST_PARK_REFUSED) {
                    tracing::warn!(
                        namespace = socket.namespace(),
                        max_parked = settings.max_parked,
                        "as many sockets parked for recovery as allowed; this one ends now (logged once per burst)"
                    );
                }
                return false;
            }
            Err(ParkRefused::NotLive) => return false,
        };
        socket.park();
        socket.set_parked_for(reason);
        // The registry keeps the reason, for the survivor's hook should this node die.
        self.app().data_changed(socket);
        self.parked_changed();
        self.schedule_expiry(&expiry, settings.window, generation);
        true
    }

    /// A deadline for the waiting socket `pid` on the endpoint's shared timer.
    pub(super) fn expiry_timer(&self, pid: &Arc<str>) -> Arc<ExpiryTimer> {
        let server: Weak<dyn ExpireParked> =
            Arc::downgrade(self.server()) as Weak<dyn ExpireParked>;
        Arc::new(ExpiryTimer {
            server,
            pid: pid.clone(),
            generation: AtomicU64::new(0),
        })
    }

    /// Fires `expiry` for wait `generation` after `wait`.
    pub(super) fn schedule_expiry(
        &self,
        expiry: &Arc<ExpiryTimer>,
        wait: Duration,
        generation: u64,
    ) {
        expiry.generation.store(generation, Ordering::Relaxed);
        if let Some(timers) = &self.expiry_timers {
            timers.schedule(expiry, Tick::after(wait));
        }
    }

    /// Ends a parked socket: it leaves its namespace and its `disconnect` hook goes with the reason its session
    /// ended for.
    pub(crate) fn end_parked(&self, parked: Parked<A::SocketState>) {
        self.parked_changed();
        // A socket the backend or the API disconnected meanwhile has had its hook.
        if parked.socket.is_connected() {
            self.end_socket(&parked.socket, parked.reason);
        }
    }

    /// Ends every parked socket (the server shuts down: on one node nothing could take them over), and every
    /// socket lent to another node that has not confirmed it yet.
    pub fn end_parked_sockets(&self) {
        for waiting in self.parked.drain() {
            self.end_expired(waiting);
        }
    }

    /// Ends a socket whose wait is over: parked (its window ran out) or lent (the node it was handed to did not
    /// confirm it).
    fn end_expired(&self, waiting: Expired<A::SocketState>) {
        match waiting {
            Expired::Parked(parked) => self.end_parked(parked),
            Expired::Lent(lent) => self.end_lent(lent),
        }
    }
}

/// A server whose parked sockets expire.
pub(crate) trait ExpireParked: Send + Sync {
    /// The window of parking `generation` of `pid` ran out: the socket ends, unless it was claimed meanwhile.
    fn expire_parked(self: Arc<Self>, pid: &str, generation: u64);
}

/// A parked (or lent) socket's deadline on the endpoint's shared timer (no task per parked socket).
pub struct ExpiryTimer {
    server: Weak<dyn ExpireParked>,
    pid: Arc<str>,
    /// The parking (or lending) this deadline ends; set when it is scheduled. Each parking and each lending
    /// has an `ExpiryTimer` of its own.
    generation: AtomicU64,
}

impl Timed for ExpiryTimer {
    fn fire(self: &Arc<Self>, _at: Tick) -> Option<Tick> {
        if let Some(server) = self.server.upgrade() {
            server.expire_parked(&self.pid, self.generation.load(Ordering::Relaxed));
        }
        None
    }
}

impl<A: SocketApp, D: Adapter> ExpireParked for SocketIo<A, D> {
    fn expire_parked(self: Arc<Self>, pid: &str, generation: u64) {
        let ops = Ops::new(self);
        if let Some(waiting) = ops.parked.expire(pid, generation) {
            if let (Expired::Parked(_), Some(settings)) = (&waiting, &ops.config.recovery) {
                settings.metrics.expired.inc();
            }
            ops.end_expired(waiting);
        }
    }
}

impl<A: SocketApp, D: Adapter> SocketIo<A, D> {
    /// `socket` ends: its private id no longer recovers anything.
    pub(crate) fn forget_recovery(&self, socket: &Socket<A::SocketState>) {
        if self.config.recovery.is_none() {
            return;
        }
        if let Some(pid) = socket.recovery_pid() {
            if self.parked.forget(&pid).is_some() {
                self.parked_changed();
            }
        }
    }

    /// Sets the parked- and lent-sockets gauges.
    pub(crate) fn parked_changed(&self) {
        if let Some(settings) = &self.config.recovery {
            settings.metrics.parked.set(self.parked.parked() as i64);
            settings.metrics.lent.set(self.parked.lent() as i64);
        }
    }
}

/// When a refused parking was last logged (milliseconds since the process's first).
static LAST_PARK_REFUSED: AtomicU64 = AtomicU64::new(0);

/// True at most once per 10 s for `last` (a burst of the same warning is logged once).
fn once_per_burst(last: &AtomicU64) -> bool {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let now = START.get_or_init(Instant::now).elapsed().as_millis().max(1) as u64;
    let previous = last.load(Ordering::Relaxed);
    let quiet = Duration::from_secs(10).as_millis() as u64;
    (previous == 0 || now.saturating_sub(previous) >= quiet)
        && last
            .compare_exchange(previous, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
}
