//! A namespace of one endpoint: its sockets and the room index used by broadcasts.

use super::ops::{Reach, Selector};
use super::socket::Socket;
use super::socket_id::SocketId;
use super::socket_set::{Member, SocketSet};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The sockets and rooms of one namespace.
pub struct Namespace<S> {
    name: String,
    inner: RwLock<Inner<S>>,
}

struct Inner<S> {
    sockets: SocketSet<S>,
    /// Members of every room except the one each socket has under its own id: that room is the socket's
    /// `in_own_room` flag, so an idle socket costs no index entry.
    rooms: HashMap<Arc<str>, HashSet<SocketId>>,
}

impl<S: Send + Sync + 'static> Inner<S> {
    /// The socket whose own-id room is `room`, if it is in it.
    fn own_room_member(&self, room: &str) -> Option<&Arc<Socket<S>>> {
        self.sockets
            .get(room)
            .map(|member| &member.0)
            .filter(|socket| socket.in_own_room())
    }

    /// Whether socket `sid` is in `room`.
    fn is_member(&self, room: &str, sid: &SocketId) -> bool {
        (room == sid.as_str() && self.own_room_member(room).is_some())
            || self.rooms.get(room).is_some_and(|m| m.contains(sid))
    }
}

impl<S: Send + Sync + 'static> Namespace<S> {
    /// An empty namespace.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            inner: RwLock::new(Inner {
                sockets: SocketSet::default(),
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
        self.write().sockets.replace(Member(socket.clone()));
        self.join(socket, socket.id_ref().as_str());
    }

    /// Removes a socket from the namespace and every room. True when it was there.
    pub(crate) fn remove(&self, socket: &Socket<S>) -> bool {
        let mut inner = self.write();
        let present = inner.sockets.remove(socket.id_ref().as_str());
        let mut state = socket.lock();
        state.connected = false;
        state.drop_pending_acks();
        // The socket keeps its room list, so its disconnect hook can still say where it was.
        for room in &state.rooms {
            if **room == *socket.id_ref().as_str() {
                continue;
            }
            if let Some(members) = inner.rooms.get_mut(room) {
                members.remove(socket.id_ref());
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
        if !inner.sockets.contains(socket.id_ref().as_str()) {
            return;
        }
        let mut state = socket.lock();
        if state.rooms.iter().any(|r| &**r == room) {
            return;
        }
        if room == socket.id_ref().as_str() {
            // Grown one room at a time: a socket is in few rooms and keeps its list for its whole life.
            state.rooms.reserve_exact(1);
            state.rooms.push(socket.id().shared());
            socket.set_in_own_room(true);
            return;
        }
        let key: Arc<str> = match inner.rooms.get_key_value(room) {
            Some((existing, _)) => existing.clone(),
            None => Arc::from(room),
        };
        state.rooms.reserve_exact(1);
        state.rooms.push(key.clone());
        inner.rooms.entry(key).or_default().insert(socket.id());
    }

    /// Takes `socket` out of `room`.
    pub(crate) fn leave(&self, socket: &Arc<Socket<S>>, room: &str) {
        let mut inner = self.write();
        let mut state = socket.lock();
        state.rooms.retain(|r| &**r != room);
        if room == socket.id_ref().as_str() {
            socket.set_in_own_room(false);
            return;
        }
        if let Some(members) = inner.rooms.get_mut(room) {
            members.remove(socket.id_ref());
            if members.is_empty() {
                inner.rooms.remove(room);
            }
        }
    }

    /// The socket with id `sid`.
    pub fn get(&self, sid: &str) -> Option<Arc<Socket<S>>> {
        self.read().sockets.get(sid).map(|member| member.0.clone())
    }

    /// Every socket.
    pub fn sockets(&self) -> Vec<Arc<Socket<S>>> {
        self.read()
            .sockets
            .iter()
            .map(|member| member.0.clone())
            .collect()
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
        let inner = self.read();
        let mut counts: HashMap<&str, usize> = inner
            .rooms
            .iter()
            .map(|(name, m)| (&**name, m.len()))
            .collect();
        for Member(socket) in &inner.sockets {
            if socket.in_own_room() {
                *counts.entry(socket.id_ref().as_str()).or_default() += 1;
            }
        }
        let mut rooms: Vec<(String, usize)> = counts
            .into_iter()
            .map(|(name, count)| (name.to_string(), count))
            .collect();
        rooms.sort();
        rooms
    }

    /// The sockets `selector` reaches.
    pub fn select(&self, selector: &Selector) -> Vec<Arc<Socket<S>>> {
        let inner = self.read();
        let excluded = |sid: &SocketId| {
            selector.except_sockets.contains(sid)
                || selector
                    .except_rooms
                    .iter()
                    .any(|room| inner.is_member(room, sid))
        };
        let mut chosen: Vec<Arc<Socket<S>>> = Vec::new();
        let (rooms, sockets) = match &selector.to {
            Reach::Everyone => {
                chosen.extend(
                    inner
                        .sockets
                        .iter()
                        .filter(|Member(socket)| !excluded(socket.id_ref()))
                        .map(|Member(socket)| socket.clone()),
                );
                return chosen;
            }
            Reach::Socket(sid) => (&[][..], std::slice::from_ref(sid)),
            Reach::Listed { rooms, sockets } => (&rooms[..], &sockets[..]),
        };
        // One room (or one socket) names each member once; only a union of several needs de-duplicating.
        let single_source = sockets.len() + rooms.len() == 1;
        let mut seen: HashSet<&SocketId> = HashSet::new();
        let own_room_members = rooms
            .iter()
            .filter_map(|room| inner.own_room_member(room).map(|socket| socket.id_ref()));
        let candidates = sockets.iter().chain(own_room_members).chain(
            rooms
                .iter()
                .filter_map(|room| inner.rooms.get(room.as_str()))
                .flatten(),
        );
        for sid in candidates {
            if (single_source || seen.insert(sid)) && !excluded(sid) {
                if let Some(Member(socket)) = inner.sockets.get(sid.as_str()) {
                    chosen.push(socket.clone());
                }
            }
        }
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Weak;

    fn connect(namespace: &Arc<Namespace<()>>, id: &str) -> Arc<Socket<()>> {
        let handshake = crate::socketio::test_support::handshake();
        let socket = Arc::new(Socket::new(
            SocketId::from_text(id),
            namespace.clone(),
            Weak::new(),
            Arc::new(handshake),
            (),
            None,
        ));
        namespace.add(&socket);
        socket
    }

    fn to(rooms: &[&str]) -> Selector {
        Selector {
            to: Reach::Listed {
                rooms: rooms.iter().map(|r| r.to_string()).collect(),
                sockets: Vec::new(),
            },
            ..Selector::default()
        }
    }

    fn ids(sockets: Vec<Arc<Socket<()>>>) -> Vec<String> {
        let mut ids: Vec<String> = sockets.iter().map(|s| s.id().to_string()).collect();
        ids.sort();
        ids
    }

    #[test]
    fn a_socket_is_in_its_own_room_without_an_index_entry() {
        let namespace = Arc::new(Namespace::new("/"));
        let a = connect(&namespace, "a");
        assert_eq!(a.rooms(), vec![Arc::<str>::from("a")]);
        assert!(namespace.read().rooms.is_empty());
        assert_eq!(namespace.rooms(), vec![("a".to_string(), 1)]);
        assert_eq!(ids(namespace.select(&to(&["a"]))), ["a"]);
        let except_a = Selector {
            except_rooms: vec!["a".into()],
            ..Selector::default()
        };
        assert!(namespace.select(&except_a).is_empty());
    }

    #[test]
    fn leaving_and_rejoining_the_own_room() {
        let namespace = Arc::new(Namespace::new("/"));
        let a = connect(&namespace, "a");
        a.leave(["a"]);
        assert!(a.rooms().is_empty());
        assert!(namespace.select(&to(&["a"])).is_empty());
        assert!(namespace.rooms().is_empty());
        assert_eq!(ids(namespace.select(&Selector::default())), ["a"]);
        a.join(["a"]);
        assert_eq!(ids(namespace.select(&to(&["a"]))), ["a"]);
    }

    #[test]
    fn another_socket_may_join_a_room_named_after_a_socket() {
        let namespace = Arc::new(Namespace::new("/"));
        let _a = connect(&namespace, "a");
        let b = connect(&namespace, "b");
        b.join(["a", "blue"]);
        assert_eq!(ids(namespace.select(&to(&["a"]))), ["a", "b"]);
        assert_eq!(
            namespace.rooms(),
            vec![
                ("a".to_string(), 2),
                ("b".to_string(), 1),
                ("blue".to_string(), 1)
            ]
        );
        let not_in_a = Selector {
            except_rooms: vec!["a".into()],
            ..Selector::default()
        };
        assert!(namespace.select(&not_in_a).is_empty());
        // Two sources naming one socket reach it once.
        assert_eq!(ids(namespace.select(&to(&["a", "blue", "b"]))), ["a", "b"]);
    }

    #[test]
    fn a_removed_socket_leaves_every_room_but_keeps_its_list() {
        let namespace = Arc::new(Namespace::new("/"));
        let a = connect(&namespace, "a");
        let b = connect(&namespace, "b");
        a.join(["blue", "b"]);
        assert!(namespace.remove(&a));
        assert_eq!(a.rooms().len(), 3);
        assert!(namespace.select(&to(&["a"])).is_empty());
        assert_eq!(ids(namespace.select(&to(&["b", "blue"]))), ["b"]);
        assert_eq!(namespace.rooms(), vec![("b".to_string(), 1)]);
        drop(b);
    }
}
