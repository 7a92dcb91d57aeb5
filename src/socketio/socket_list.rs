//! The sockets of one session, one per connected namespace, in the order they connected. Nearly every session
//! has one: it is kept in place, and only a second one makes a list (16 bytes in every session instead of a
//! `Vec`'s 24 and a heap block for its one element).

use super::socket::Socket;
use std::sync::Arc;

/// A session's sockets, oldest first.
pub(crate) struct SocketList<S> {
    /// The oldest socket; `None` only when there is none.
    first: Option<Arc<Socket<S>>>,
    /// The others, oldest first; only while there are any.
    #[expect(
        clippy::box_collection,
        reason = "an empty Vec is 24 bytes in every session; the box is 8 and exists only with a second socket"
    )]
    more: Option<Box<Vec<Arc<Socket<S>>>>>,
}

impl<S> Default for SocketList<S> {
    fn default() -> Self {
        Self {
            first: None,
            more: None,
        }
    }
}

impl<S> SocketList<S> {
    /// Adds the newest socket.
    pub(crate) fn push(&mut self, socket: Arc<Socket<S>>) {
        if self.first.is_none() {
            self.first = Some(socket);
        } else {
            self.more.get_or_insert_with(Box::default).push(socket);
        }
    }

    /// The sockets, oldest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Arc<Socket<S>>> {
        self.first
            .iter()
            .chain(self.more.iter().flat_map(|more| more.iter()))
    }

    /// Keeps only the sockets for which `keep` holds, in order.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Arc<Socket<S>>) -> bool) {
        let mut kept = std::mem::take(self)
            .into_iter()
            .filter(|socket| keep(socket));
        self.first = kept.next();
        let more: Vec<_> = kept.collect();
        if !more.is_empty() {
            self.more = Some(Box::new(more));
        }
    }

    /// The sockets as a list of their own.
    pub(crate) fn to_vec(&self) -> Vec<Arc<Socket<S>>> {
        self.iter().cloned().collect()
    }
}

impl<S> IntoIterator for SocketList<S> {
    type Item = Arc<Socket<S>>;
    type IntoIter =
        std::iter::Chain<std::option::IntoIter<Arc<Socket<S>>>, std::vec::IntoIter<Arc<Socket<S>>>>;

    fn into_iter(self) -> Self::IntoIter {
        let more = self.more.map(|more| *more).unwrap_or_default();
        self.first.into_iter().chain(more)
    }
}
