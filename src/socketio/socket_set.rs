//! A namespace's sockets by id: a set of the sockets themselves, found by the id each carries, rather than a map
//! from a copy of the id to the socket (8 bytes a slot instead of 24, in a table sized for every socket).

use super::socket::Socket;
use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The sockets of a namespace.
pub(crate) type SocketSet<S> = HashSet<Member<S>>;

/// A socket in a namespace's set, equal to and hashed as its id's text.
pub(crate) struct Member<S>(pub(crate) Arc<Socket<S>>);

impl<S: Send + Sync + 'static> Borrow<str> for Member<S> {
    fn borrow(&self) -> &str {
        self.0.id_ref().as_str()
    }
}

impl<S: Send + Sync + 'static> Hash for Member<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id_ref().as_str().hash(state);
    }
}

impl<S: Send + Sync + 'static> PartialEq for Member<S> {
    fn eq(&self, other: &Self) -> bool {
        self.0.id_ref().as_str() == other.0.id_ref().as_str()
    }
}

impl<S: Send + Sync + 'static> Eq for Member<S> {}
