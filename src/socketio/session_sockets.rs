//! The Socket.IO state of one Engine.IO session: its sockets by namespace and a packet being reassembled.

use super::connect_timeout::ConnectTimeout;
use super::reassembly::PartialPacket;
use super::socket::Socket;
use crate::engineio::{CloseReason, Handshake};
use std::sync::{Arc, Mutex, MutexGuard};

/// Socket.IO state kept per Engine.IO session.
pub struct SessionSockets<S> {
    handshake: Arc<Handshake>,
    inner: Mutex<ConnInner<S>>,
}

pub(crate) struct ConnInner<S> {
    /// Connected sockets, one per namespace.
    pub(crate) sockets: Vec<Arc<Socket<S>>>,
    /// Namespaces whose CONNECT is being decided.
    pub(crate) connecting: Vec<String>,
    /// A binary packet waiting for its attachments (boxed: most sessions never have one, and every session
    /// carries this field).
    pub(crate) partial: Option<Box<PartialPacket>>,
    /// Whether a namespace was ever connected (stops the connect timeout).
    pub(crate) ever_connected: bool,
    /// Why the session closed, once it has (no socket may be added any more).
    pub(crate) closed: Option<CloseReason>,
    /// The pending connect timeout; dropping it cancels the deadline.
    pub(crate) connect_timeout: Option<Arc<ConnectTimeout>>,
}

impl<S> ConnInner<S> {
    /// The CONNECT to `namespace` is decided. The list's buffer is freed once nothing is pending: an idle session
    /// keeps none.
    pub(crate) fn connect_decided(&mut self, namespace: &str) {
        self.connecting.retain(|n| n != namespace);
        if self.connecting.is_empty() {
            self.connecting = Vec::new();
        }
    }
}

impl<S> SessionSockets<S> {
    pub(crate) fn new(handshake: Handshake) -> Self {
        Self {
            handshake: Arc::new(handshake),
            inner: Mutex::new(ConnInner {
                sockets: Vec::new(),
                connecting: Vec::new(),
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
        self.lock().sockets.clone()
    }
}
