//! A namespace of one endpoint: its sockets and the room index used by broadcasts.

use super::socket::Socket;
use super::socket_id::SocketId;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Which sockets of a namespace a broadcast or API call reaches.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// Sockets in any of these rooms; with `to_sockets` empty too, every socket.
    pub to_rooms: Vec<String>,
    /// These sockets.
    pub to_sockets: Vec<SocketId>,
    /// Minus sockets in any of these rooms.
    pub except_rooms: Vec<String>,
    /// Minus these sockets.
    pub except_sockets: Vec<SocketId>,
}

/// The sockets and rooms of one namespace.
pub struct Namespace<S> {
    name: String,
    inner: RwLock<Inner<S>>,
}

struct Inner<S> {
    sockets: HashMap<SocketId, Arc<Socket<S>>>,
    rooms: HashMap<Arc<str>, HashSet<SocketId>>,
}

impl<S: Send + Sync + 'static> Namespace<S> {
    /// An empty namespace.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            inner: RwLock::new(Inner {
                sockets: HashMap::new(),
                rooms: HashMap::new(),
            }),
        }
    }

    /// The namespace name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn read(&self) -> RwLockReadGuard<'_, Inner<S>> {
        self.inner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Inner<S>> {
        self.inner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a socket; it joins the room named by its own id.
    pub(crate) fn add(&self, socket: &Arc<Socket<S>>) {
        self.write().sockets.insert(socket.id(), socket.clone());
        self.join(socket, socket.id().as_str());
    }

    /// Removes a socket from the namespace and every room. True when it was there.
    pub(crate) fn remove(&self, socket: &Socket<S>) -> bool {
        let mut inner = self.write();
        let present = inner.sockets.remove(&socket.id()).is_some();
        let mut state = socket.lock();
        state.connected = false;
        state.drop_pending_acks();
        // The socket keeps its room list, so its disconnect hook can still say where it was.
        for room in &state.rooms {
            if let Some(members) = inner.rooms.get_mut(room) {
                members.remove(&socket.id());
                if members.is_empty() {
                    inner.rooms.remove(room);
                }
            }
        }
        present
    }

    /// Puts `socket` in `room`.
    pub(crate) fn join(&self, socket: &Arc<Socket<S>>, room: &str) {
        let mut inner = self.write();
        if !inner.sockets.contains_key(&socket.id()) {
            return;
        }
        let mut state = socket.lock();
        if state.rooms.iter().any(|r| &**r == room) {
            return;
        }
        let key: Arc<str> = match inner.rooms.get_key_value(room) {
            Some((existing, _)) => existing.clone(),
            None => Arc::from(room),
        };
        state.rooms.push(key.clone());
        inner.rooms.entry(key).or_default().insert(socket.id());
    }

    /// Takes `socket` out of `room`.
    pub(crate) fn leave(&self, socket: &Arc<Socket<S>>, room: &str) {
        let mut inner = self.write();
        let mut state = socket.lock();
        state.rooms.retain(|r| &**r != room);
        if let Some(members) = inner.rooms.get_mut(room) {
            members.remove(&socket.id());
            if members.is_empty() {
                inner.rooms.remove(room);
            }
        }
    }

    /// The socket with id `sid`.
    pub fn get(&self, sid: &str) -> Option<Arc<Socket<S>>> {
        self.read().sockets.get(sid).cloned()
    }

    /// Every socket.
    pub fn sockets(&self) -> Vec<Arc<Socket<S>>> {
        self.read().sockets.values().cloned().collect()
    }

    /// Number of sockets.
    pub fn len(&self) -> usize {
        self.read().sockets.len()
    }

    /// Whether the namespace has no socket.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every room with its member count, sorted by name.
    pub fn rooms(&self) -> Vec<(String, usize)> {
        let mut rooms: Vec<(String, usize)> = self
            .read()
            .rooms
            .iter()
            .map(|(name, m)| (name.to_string(), m.len()))
            .collect();
        rooms.sort();
        rooms
    }

    /// The sockets `selector` reaches.
    pub fn select(&self, selector: &Selector) -> Vec<Arc<Socket<S>>> {
        let inner = self.read();
        let excluded = |sid: &SocketId| {
            selector.except_sockets.contains(sid)
                || selector.except_rooms.iter().any(|room| {
                    inner
                        .rooms
                        .get(room.as_str())
                        .is_some_and(|m| m.contains(sid))
                })
        };
        let mut chosen: Vec<Arc<Socket<S>>> = Vec::new();
        if selector.to_rooms.is_empty() && selector.to_sockets.is_empty() {
            chosen.extend(
                inner
                    .sockets
                    .iter()
                    .filter(|(sid, _)| !excluded(sid))
                    .map(|(_, s)| s.clone()),
            );
            return chosen;
        }
        let mut seen = HashSet::new();
        let candidates = selector.to_sockets.iter().chain(
            selector
                .to_rooms
                .iter()
                .filter_map(|room| inner.rooms.get(room.as_str()))
                .flatten(),
        );
        for sid in candidates {
            if seen.insert(sid.clone()) && !excluded(sid) {
                if let Some(socket) = inner.sockets.get(sid) {
                    chosen.push(socket.clone());
                }
            }
        }
        chosen
    }
}
