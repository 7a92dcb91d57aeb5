//! A Socket.IO socket: one client in one namespace, with its rooms and stored data.

use super::conn::Conn;
use super::namespace::Namespace;
use super::outgoing::Encoded;
use crate::engineio::{Handshake, Session, Sid};
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

/// One client connected to one namespace.
pub struct Socket<S> {
    id: Sid,
    namespace: Arc<Namespace<S>>,
    session: Weak<Session<Conn<S>>>,
    handshake: Arc<Handshake>,
    state: S,
    inner: Mutex<SocketInner>,
}

pub(crate) struct SocketInner {
    pub(crate) rooms: Vec<Arc<str>>,
    pub(crate) data: Option<Box<RawValue>>,
    pub(crate) connected: bool,
}

impl<S: Send + Sync + 'static> Socket<S> {
    pub(crate) fn new(
        id: Sid,
        namespace: Arc<Namespace<S>>,
        session: Weak<Session<Conn<S>>>,
        handshake: Arc<Handshake>,
        state: S,
        data: Option<Box<RawValue>>,
    ) -> Self {
        Self {
            id,
            namespace,
            session,
            handshake,
            state,
            inner: Mutex::new(SocketInner {
                rooms: Vec::new(),
                data,
                connected: true,
            }),
        }
    }

    /// The socket id (`socket.id` on the client).
    pub fn id(&self) -> Sid {
        self.id
    }

    /// The namespace name.
    pub fn namespace(&self) -> &str {
        self.namespace.name()
    }

    /// The Engine.IO session id carrying this socket.
    pub fn session_id(&self) -> Option<Sid> {
        self.session.upgrade().map(|s| s.id())
    }

    /// The Engine.IO session carrying this socket.
    pub fn session(&self) -> Option<Arc<Session<Conn<S>>>> {
        self.session.upgrade()
    }

    /// The handshake of the connection.
    pub fn handshake(&self) -> &Arc<Handshake> {
        &self.handshake
    }

    /// The application's state for this socket.
    pub fn state(&self) -> &S {
        &self.state
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, SocketInner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the socket is still connected.
    pub fn is_connected(&self) -> bool {
        self.lock().connected
    }

    /// The rooms the socket is in (its own id included), in join order.
    pub fn rooms(&self) -> Vec<Arc<str>> {
        self.lock().rooms.clone()
    }

    /// The stored data as raw JSON, if any.
    pub fn data(&self) -> Option<Box<RawValue>> {
        self.lock().data.clone()
    }

    /// Replaces the stored data.
    pub fn set_data(&self, data: Option<Box<RawValue>>) {
        self.lock().data = data;
    }

    /// Joins rooms.
    pub fn join<'a>(self: &Arc<Self>, rooms: impl IntoIterator<Item = &'a str>) {
        for room in rooms {
            self.namespace.join(self, room);
        }
    }

    /// Leaves rooms.
    pub fn leave<'a>(self: &Arc<Self>, rooms: impl IntoIterator<Item = &'a str>) {
        for room in rooms {
            self.namespace.leave(self, room);
        }
    }

    /// Sends an encoded packet to the client. False when the session is gone or the socket disconnected.
    pub fn send(&self, encoded: &Encoded) -> bool {
        if !self.is_connected() {
            return false;
        }
        match self.session.upgrade() {
            Some(session) => session.send_all(encoded.0.iter().cloned()),
            None => false,
        }
    }
}
