//! Responses whose body is written as it is produced (server-sent events): the service puts a [`Streamed`] in the
//! response's extensions, the connection writes the head without a length, then each chunk the sender sends, and
//! closes the connection when the sender is dropped or the client goes away. Only requests this path serves
//! stream; a response hyper serves (a request with a body, a pipelined one) goes out with its (empty) body.

use bytes::Bytes;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// Where a streamed response's chunks come from (in the response's extensions).
#[derive(Clone)]
pub struct Streamed(Arc<Mutex<Option<mpsc::Receiver<Bytes>>>>);

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streamed")
    }
}

impl Streamed {
    /// A sender for the chunks and the extension that carries its receiver; `capacity` chunks may wait for a
    /// client that is slow to take them (the sender waits past that).
    pub fn channel(capacity: usize) -> (mpsc::Sender<Bytes>, Self) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        (sender, Self(Arc::new(Mutex::new(Some(receiver)))))
    }

    /// The receiver, once (clones share it).
    pub(crate) fn take(&self) -> Option<mpsc::Receiver<Bytes>> {
        self.0.lock().ok().and_then(|mut slot| slot.take())
    }
}
