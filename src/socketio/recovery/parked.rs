//! The sessions kept for recovery on this node, by private id (`pid`): every recoverable socket while it is
//! live, and with its socket while it is parked. One small type, so a store shared by several nodes can sit
//! beside it.

use super::park::ExpiryTimer;
use crate::engineio::CloseReason;
use crate::socketio::socket::Socket;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

/// A socket parked after its session ended.
pub struct Parked<S> {
    /// The socket, still in its namespace and rooms.
    pub socket: Arc<Socket<S>>,
    /// Why its session ended (its `disconnect` hook's reason if it is not recovered).
    pub reason: CloseReason,
    /// When it was parked.
    pub since: Instant,
    /// Tells this parking from a later one of the same pid (for the expiry timer).
    pub generation: u64,
    /// Its deadline on the endpoint's shared timer; dropping it (the socket is claimed or ends) cancels it.
    pub expiry: Option<Arc<ExpiryTimer>>,
}

enum Slot<S> {
    /// The socket is connected.
    Live,
    /// The socket waits for its client.
    Parked(Parked<S>),
    /// The socket was handed over to another node, which has not confirmed it took it: out of its namespace,
    /// kept for its `disconnect` hook should the confirmation not come.
    Lent(Parked<S>),
}

/// What a CONNECT's `pid` names.
pub enum Claim<S> {
    /// No socket of this node.
    Unknown,
    /// A socket that is connected right now (or moving to another node).
    Live,
    /// A parked socket, now taken out of the store (a second claim of the same pid finds nothing).
    Parked(Parked<S>),
}

/// A socket whose wait ended.
pub enum Expired<S> {
    /// A parked socket (still in its namespace).
    Parked(Parked<S>),
    /// A socket lent to another node that did not confirm it (out of its namespace already).
    Lent(Parked<S>),
}

/// Why a socket could not be parked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkRefused {
    /// The pid is not registered (the socket was already ended or claimed).
    NotLive,
    /// As many sockets are parked (or lent and not yet confirmed) as the limit allows.
    Full,
}

struct Inner<S> {
    slots: HashMap<Arc<str>, Slot<S>>,
    parked: usize,
    lent: usize,
    generation: u64,
}

impl<S> Inner<S> {
    /// Keeps the counts right for a slot taken out of (or replaced in) the map.
    fn left(&mut self, slot: &Slot<S>) {
        match slot {
            Slot::Live => {}
            Slot::Parked(_) => self.parked -= 1,
            Slot::Lent(_) => self.lent -= 1,
        }
    }
}

/// The pids of an endpoint's recoverable sockets.
pub struct ParkedSessions<S> {
    inner: Mutex<Inner<S>>,
    /// The most sockets parked and lent at once: a lent socket is held as a parked one is, until the node it
    /// was handed to confirms it.
    limit: usize,
}

impl<S: Send + Sync + 'static> ParkedSessions<S> {
    /// An empty store holding at most `limit` parked and lent sockets at once.
    pub fn new(limit: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                slots: HashMap::new(),
                parked: 0,
                lent: 0,
                generation: 0,
            }),
            limit,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner<S>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records a recoverable socket as connected.
    pub fn live(&self, pid: Arc<str>) {
        let mut inner = self.lock();
        if let Some(old) = inner.slots.insert(pid, Slot::Live) {
            inner.left(&old);
        }
    }

    /// Forgets `pid` (its socket ended); the parked socket, if it was parked.
    pub fn forget(&self, pid: &str) -> Option<Parked<S>> {
        let mut inner = self.lock();
        let slot = inner.slots.remove(pid)?;
        inner.left(&slot);
        match slot {
            Slot::Parked(parked) => Some(parked),
            _ => None,
        }
    }

    /// Parks the live socket `pid`; its generation, to expire it by.
    pub fn park(
        &self,
        pid: &str,
        socket: Arc<Socket<S>>,
        reason: CloseReason,
        expiry: Option<Arc<ExpiryTimer>>,
    ) -> Result<u64, ParkRefused> {
        let mut inner = self.lock();
        let full = inner.parked + inner.lent >= self.limit;
        inner.generation += 1;
        let generation = inner.generation;
        let Some(slot) = inner.slots.get_mut(pid) else {
            return Err(ParkRefused::NotLive);
        };
        if !matches!(slot, Slot::Live) {
            return Err(ParkRefused::NotLive);
        }
        if full {
            inner.slots.remove(pid);
            return Err(ParkRefused::Full);
        }
        *slot = Slot::Parked(Parked {
            socket,
            reason,
            since: Instant::now(),
            generation,
            expiry,
        });
        inner.parked += 1;
        Ok(generation)
    }

    /// Takes the socket `pid` names, if it is parked in `namespace`.
    pub fn claim(&self, pid: &str, namespace: &str) -> Claim<S> {
        let mut inner = self.lock();
        match inner.slots.get(pid) {
            None => Claim::Unknown,
            Some(Slot::Live | Slot::Lent(_)) => Claim::Live,
            Some(Slot::Parked(parked)) if parked.socket.namespace() != namespace => Claim::Unknown,
            Some(Slot::Parked(_)) => match inner.slots.remove(pid) {
                Some(Slot::Parked(parked)) => {
                    inner.parked -= 1;
                    Claim::Parked(parked)
                }
                _ => Claim::Unknown,
            },
        }
    }

    /// Takes the socket `pid` out if it is still the parking `generation` (its window is over), or the lending
    /// `generation` (the node it was handed to did not confirm in time).
    pub fn expire(&self, pid: &str, generation: u64) -> Option<Expired<S>> {
        let mut inner = self.lock();
        match inner.slots.get(pid) {
            Some(Slot::Parked(parked)) if parked.generation == generation => {
                self.take_parked(&mut inner, pid).map(Expired::Parked)
            }
            Some(Slot::Lent(lent)) if lent.generation == generation => {
                match inner.slots.remove(pid) {
                    Some(Slot::Lent(lent)) => {
                        inner.lent -= 1;
                        Some(Expired::Lent(lent))
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// Keeps `socket`, just handed over to another node, until that node confirms it (see [`Self::settle`]);
    /// the generation its deadline is scheduled with.
    pub fn lend(
        &self,
        pid: Arc<str>,
        mut socket: Parked<S>,
        expiry: Option<Arc<ExpiryTimer>>,
    ) -> u64 {
        let mut inner = self.lock();
        inner.generation += 1;
        socket.generation = inner.generation;
        socket.expiry = expiry;
        let generation = socket.generation;
        if let Some(old) = inner.slots.insert(pid, Slot::Lent(socket)) {
            inner.left(&old);
        }
        inner.lent += 1;
        generation
    }

    /// The node a lent socket was handed to confirmed it: the socket, forgotten here.
    pub fn settle(&self, pid: &str) -> Option<Parked<S>> {
        let mut inner = self.lock();
        match inner.slots.get(pid) {
            Some(Slot::Lent(_)) => {}
            _ => return None,
        }
        match inner.slots.remove(pid) {
            Some(Slot::Lent(lent)) => {
                inner.lent -= 1;
                Some(lent)
            }
            _ => None,
        }
    }

    fn take_parked(&self, inner: &mut Inner<S>, pid: &str) -> Option<Parked<S>> {
        match inner.slots.remove(pid) {
            Some(Slot::Parked(parked)) => {
                inner.parked -= 1;
                Some(parked)
            }
            Some(live) => {
                inner.slots.insert(Arc::from(pid), live);
                None
            }
            None => None,
        }
    }

    /// Takes every parked and lent socket out (shutdown).
    pub fn drain(&self) -> Vec<Expired<S>> {
        let mut inner = self.lock();
        let pids: Vec<Arc<str>> = inner
            .slots
            .iter()
            .filter(|(_, slot)| !matches!(slot, Slot::Live))
            .map(|(pid, _)| pid.clone())
            .collect();
        let mut taken = Vec::with_capacity(pids.len());
        for pid in pids {
            match inner.slots.remove(&pid) {
                Some(Slot::Parked(parked)) => {
                    inner.parked -= 1;
                    taken.push(Expired::Parked(parked));
                }
                Some(Slot::Lent(lent)) => {
                    inner.lent -= 1;
                    taken.push(Expired::Lent(lent));
                }
                _ => {}
            }
        }
        taken
    }

    /// Sockets parked now.
    pub fn parked(&self) -> usize {
        self.lock().parked
    }

    /// Sockets handed to another node that has not confirmed it took them yet.
    pub fn lent(&self) -> usize {
        self.lock().lent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::socketio::namespace::Namespace;
    use crate::socketio::socket_id::SocketId;
    use std::sync::Weak;

    fn socket(namespace: &str) -> Arc<Socket<()>> {
        Arc::new(Socket::new(
            SocketId::random(),
            Arc::new(Namespace::new(namespace)),
            Weak::new(),
            Arc::new(crate::socketio::test_support::handshake()),
            (),
            None,
        ))
    }

    #[test]
    fn a_parked_socket_is_claimed_once_in_its_namespace() {
        let store = ParkedSessions::new(10);
        store.live("p1".into());
        assert!(matches!(store.claim("p1", "/"), Claim::Live));
        let generation = store
            .park("p1", socket("/"), CloseReason::TransportClose, None)
            .unwrap();
        assert_eq!(store.parked(), 1);
        assert!(matches!(store.claim("p1", "/chat"), Claim::Unknown));
        assert!(matches!(store.claim("p1", "/"), Claim::Parked(_)));
        assert!(matches!(store.claim("p1", "/"), Claim::Unknown));
        assert_eq!(store.parked(), 0);
        assert!(store.expire("p1", generation).is_none());
        assert!(matches!(store.claim("nobody", "/"), Claim::Unknown));
    }

    #[test]
    fn expiry_takes_only_the_same_parking() {
        let store = ParkedSessions::new(10);
        store.live("p".into());
        let first = store
            .park("p", socket("/"), CloseReason::PingTimeout, None)
            .unwrap();
        assert!(matches!(store.claim("p", "/"), Claim::Parked(_)));
        store.live("p".into());
        let second = store
            .park("p", socket("/"), CloseReason::TransportError, None)
            .unwrap();
        assert!(store.expire("p", first).is_none());
        let Some(Expired::Parked(expired)) = store.expire("p", second) else {
            panic!("the second parking expires");
        };
        assert_eq!(expired.reason, CloseReason::TransportError);
        assert_eq!(store.parked(), 0);
        assert!(matches!(store.claim("p", "/"), Claim::Unknown));
    }

    #[test]
    fn parking_is_bounded() {
        let store = ParkedSessions::new(2);
        for pid in ["a", "b", "c"] {
            store.live(pid.into());
        }
        assert!(
            store
                .park("a", socket("/"), CloseReason::TransportClose, None)
                .is_ok()
        );
        assert!(
            store
                .park("b", socket("/"), CloseReason::TransportClose, None)
                .is_ok()
        );
        assert_eq!(
            store.park("c", socket("/"), CloseReason::TransportClose, None),
            Err(ParkRefused::Full)
        );
        // Refused: forgotten, as its socket ends now.
        assert!(matches!(store.claim("c", "/"), Claim::Unknown));
        assert_eq!(
            store.park("zz", socket("/"), CloseReason::TransportClose, None),
            Err(ParkRefused::NotLive)
        );
        assert!(store.forget("a").is_some());
        assert_eq!(store.drain().len(), 1);
        assert_eq!(store.parked(), 0);
    }

    #[test]
    fn a_lent_socket_is_settled_or_expires_once() {
        let store = ParkedSessions::new(10);
        store.live("p".into());
        let parked_generation = store
            .park("p", socket("/"), CloseReason::PingTimeout, None)
            .unwrap();
        let Claim::Parked(parked) = store.claim("p", "/") else {
            panic!("parked");
        };
        let generation = store.lend("p".into(), parked, None);
        // While lent: not parked, not claimable, and only its lending deadline takes it.
        assert_eq!(store.parked(), 0);
        assert!(matches!(store.claim("p", "/"), Claim::Live));
        assert!(store.expire("p", parked_generation).is_none());
        assert!(store.settle("p").is_some());
        assert!(store.settle("p").is_none());
        assert!(store.expire("p", generation).is_none());

        store.live("q".into());
        store
            .park("q", socket("/"), CloseReason::TransportClose, None)
            .unwrap();
        let Claim::Parked(parked) = store.claim("q", "/") else {
            panic!("parked");
        };
        let generation = store.lend("q".into(), parked, None);
        let Some(Expired::Lent(lent)) = store.expire("q", generation) else {
            panic!("an unconfirmed lending expires");
        };
        assert_eq!(lent.reason, CloseReason::TransportClose);
        assert!(store.settle("q").is_none());

        store.live("r".into());
        store
            .park("r", socket("/"), CloseReason::TransportClose, None)
            .unwrap();
        let Claim::Parked(parked) = store.claim("r", "/") else {
            panic!("parked");
        };
        store.lend("r".into(), parked, None);
        assert_eq!(store.lent(), 1);
        assert!(matches!(store.drain().as_slice(), [Expired::Lent(_)]));
        assert_eq!((store.parked(), store.lent()), (0, 0));
    }

    #[test]
    fn a_lent_socket_counts_against_the_limit_until_it_is_confirmed() {
        let store = ParkedSessions::new(2);
        for pid in ["a", "b", "c"] {
            store.live(pid.into());
        }
        store
            .park("a", socket("/"), CloseReason::TransportClose, None)
            .unwrap();
        let Claim::Parked(parked) = store.claim("a", "/") else {
            panic!("parked");
        };
        store.lend("a".into(), parked, None);
        store
            .park("b", socket("/"), CloseReason::TransportClose, None)
            .unwrap();
        assert_eq!((store.parked(), store.lent()), (1, 1));
        // One parked and one lent: the store is full.
        assert_eq!(
            store.park("c", socket("/"), CloseReason::TransportClose, None),
            Err(ParkRefused::Full)
        );
        store.live("c".into());
        assert!(store.settle("a").is_some());
        assert_eq!(store.lent(), 0);
        assert!(
            store
                .park("c", socket("/"), CloseReason::TransportClose, None)
                .is_ok()
        );
        assert_eq!((store.parked(), store.lent()), (2, 0));
    }
}
