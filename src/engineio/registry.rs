//! An endpoint's open sessions by id: a set of the sessions themselves, found by the id each carries, rather than
//! a map from a copy of the id to the session (8 bytes a slot instead of 32, in a table sized for every session).

use crate::engineio::session::Session;
use crate::engineio::session::sid::Sid;
use std::borrow::Borrow;
use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// The open sessions of an endpoint.
pub(crate) type Registry<S> = HashSet<Registered<S>>;

/// A session in the registry, equal to and hashed as its id.
pub(crate) struct Registered<S>(pub(crate) Arc<Session<S>>);

impl<S: Send + Sync + 'static> Borrow<Sid> for Registered<S> {
    fn borrow(&self) -> &Sid {
        self.0.id_ref()
    }
}

impl<S: Send + Sync + 'static> Hash for Registered<S> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.id_ref().hash(state);
    }
}

impl<S: Send + Sync + 'static> PartialEq for Registered<S> {
    fn eq(&self, other: &Self) -> bool {
        self.0.id_ref() == other.0.id_ref()
    }
}

impl<S: Send + Sync + 'static> Eq for Registered<S> {}
