//! The Socket.IO state of one Engine.IO session: its sockets by namespace and a packet being reassembled.

use super::connect_timeout::ConnectPending;
use super::reassembly::PartialPacket;
use super::socket::Socket;
use super::socket_list::SocketList;
use crate::engineio::{CloseReason, Handshake};
use std::sync::{Arc, Mutex, MutexGuard};

/// Socket.IO state kept per Engine.IO session.
pub struct SessionSockets<S> {
    handshake: Arc<Handshake>,
    inner: Mutex<ConnInner<S>>,
}

pub(crate) struct ConnInner<S> {
    /// Connected sockets, one per namespace.
    pub(crate) sockets: SocketList<S>,
    /// Namespaces whose CONNECT is being decided.
    pub(crate) connecting: Connecting,
    /// A binary packet waiting for its attachments (boxed: most sessions never have one, and every session
    /// carries this field).
    pub(crate) partial: Option<Box<PartialPacket>>,
    /// Whether a namespace was ever connected (stops the connect timeout).
    pub(crate) ever_connected: bool,
    /// Why the session closed, once it has (no socket may be added any more).
    pub(crate) closed: Option<CloseReason>,
    /// Set while the connect timeout counts; taking it away cancels the deadline (whose entry in the endpoint's
    /// connect queue, pointing weakly at the session, leaves once the entries ahead of it have: see
    /// `connect_queue`).
    pub(crate) connect_timeout: Option<ConnectPending>,
}

impl<S> ConnInner<S> {
    /// The CONNECT to `namespace` is decided.
    pub(crate) fn connect_decided(&mut self, namespace: &str) {
        self.connecting.remove(namespace);
    }
}

/// The namespaces whose CONNECT is being decided. Boxed, and only while any is: every session carries this field
/// (8 bytes instead of a `Vec`'s 24 keeps the session's block a size class smaller), and an idle session keeps no
/// list at all.
#[derive(Debug, Default)]
pub(crate) struct Connecting(
    #[expect(
        clippy::box_collection,
        reason = "an empty Vec is 24 bytes in every session; the box is 8 and exists only while a CONNECT is decided"
    )]
    Option<Box<Vec<String>>>,
);

impl Connecting {
    /// Whether the CONNECT to `namespace` is being decided.
    pub(crate) fn contains(&self, namespace: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|pending| pending.iter().any(|n| n == namespace))
    }

    /// The CONNECT to `namespace` is being decided from now on.
    pub(crate) fn push(&mut self, namespace: String) {
        self.0.get_or_insert_with(Box::default).push(namespace);
    }

    /// The CONNECT to `namespace` is decided; the list goes once nothing is pending.
    pub(crate) fn remove(&mut self, namespace: &str) {
        if let Some(pending) = self.0.as_mut() {
            pending.retain(|n| n != namespace);
            if pending.is_empty() {
                self.0 = None;
            }
        }
    }
}

impl<S> SessionSockets<S> {
    pub(crate) fn new(handshake: Handshake) -> Self {
        Self {
            handshake: Arc::new(handshake),
            inner: Mutex::new(ConnInner {
                sockets: SocketList::default(),
                connecting: Connecting::default(),
                partial: None,
                ever_connected: false,
                closed: None,
                connect_timeout: None,
            }),
        }
    }

    /// The handshake of the session.
    pub fn handshake(&self) -> &Arc<Handshake> {
        &self.handshake
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, ConnInner<S>> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The socket connected to `namespace`.
    pub fn socket(&self, namespace: &str) -> Option<Arc<Socket<S>>>
    where
        S: Send + Sync + 'static,
    {
        self.lock()
            .sockets
            .iter()
            .find(|s| s.namespace() == namespace)
            .cloned()
    }

    /// Every connected socket of the session.
    pub fn sockets(&self) -> Vec<Arc<Socket<S>>> {
        self.lock().sockets.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_connecting_list_exists_only_while_a_connect_is_decided() {
        let mut connecting = Connecting::default();
        assert!(!connecting.contains("/"));
        connecting.push("/".to_owned());
        connecting.push("/admin".to_owned());
        assert!(connecting.contains("/") && connecting.contains("/admin"));
        connecting.remove("/");
        assert!(!connecting.contains("/") && connecting.contains("/admin"));
        connecting.remove("/admin");
        assert!(connecting.0.is_none());
        connecting.remove("/other");
        assert!(connecting.0.is_none());
    }

    #[test]
    fn a_relayed_session_stays_in_its_malloc_size_class() {
        // 216 bytes plus the `Arc`'s two counts is a 232-byte block, the most a 240-byte malloc chunk holds:
        // every idle session pays the next 16 bytes if this grows.
        let size = std::mem::size_of::<
            crate::engineio::Session<SessionSockets<crate::relay::SocketHookState>>,
        >();
        assert!(
            size <= 216,
            "a relayed session is {size} bytes (at most 216)"
        );
    }

    #[test]
    fn a_relayed_socket_stays_in_its_malloc_size_class() {
        // As for the session: 216 bytes and the `Arc`'s counts fill a 240-byte chunk, and every socket pays the
        // next 16 bytes if this grows.
        let size = std::mem::size_of::<Socket<crate::relay::SocketHookState>>();
        assert!(
            size <= 216,
            "a relayed socket is {size} bytes (at most 216)"
        );
    }
}
