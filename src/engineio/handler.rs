//! What the layer above (Socket.IO, or the webhook relay) provides to the Engine.IO server.

use crate::engineio::codec::packet::Message;
use crate::engineio::session::handshake::Handshake;
use crate::engineio::session::sid::Sid;
use crate::engineio::session::{CloseReason, Session};
use crate::engineio::sio09::Sio09Codec;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;

/// A future the transport awaits before reading more from the client (backpressure).
pub type Wait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A session the application accepted.
pub struct Opened<S> {
    /// The application's state for the session.
    pub state: S,
    /// Messages to send right after the handshake.
    pub messages: Vec<Message>,
}

/// Why the application refused a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The application said no; `context` is its reason as JSON text.
    Rejected {
        /// The backend's reason as JSON text.
        context: Option<String>,
    },
    /// The application could not be asked (down, slow, or answered garbage).
    Unavailable,
}

/// The application side of an Engine.IO endpoint.
pub trait Handler: Send + Sync + 'static {
    /// Per-session state.
    type State: Send + Sync + 'static;

    /// A client asks for a session with id `sid`; accept it with its state, or refuse.
    fn open(
        &self,
        sid: Sid,
        handshake: Handshake,
    ) -> impl Future<Output = Result<Opened<Self::State>, Refusal>> + Send;

    /// The session is registered and its handshake answered or queued.
    fn opened(&self, _session: &Arc<Session<Self::State>>) {}

    /// A message arrived. Return a [`Wait`] to stop reading from this client until it resolves.
    fn message(&self, session: &Arc<Session<Self::State>>, message: Message) -> Option<Wait>;

    /// Whether the application is still working on this session's input, so more output is likely to follow at
    /// once. A poll that has packets waits a few milliseconds while this holds, to answer them in one response.
    /// Implementations call [`Session::wake`] when the work ends.
    fn busy(&self, _session: &Arc<Session<Self::State>>) -> bool {
        false
    }

    /// The client's address, when the application keeps it (for the logs of a session the server closes).
    fn peer(&self, _session: &Arc<Session<Self::State>>) -> Option<IpAddr> {
        None
    }

    /// How this application's sessions are spoken to Socket.IO 0.9 clients; `None` serves no such clients.
    fn sio09(&self) -> Option<&dyn Sio09Codec> {
        None
    }

    /// The session closed; called exactly once.
    fn closed(&self, session: &Arc<Session<Self::State>>, reason: CloseReason);
}
