//! The namespaces of one endpoint: the configured exact names, always there, and every other name only while a
//! socket is connected to it.
//!
//! A glob-matched name enters the table when the backend accepts its first socket and leaves it with its last one
//! (its rooms, kept by the namespace, go with it); a CONNECT refused, timed out, or whose session ended before
//! the decision leaves nothing behind. Adding and removing sockets happen under the table's lock, so a socket
//! that joins while the last one leaves lands in the namespace the table holds, never in one it has let go.
//! Lock order: the table, then the namespace, then the socket.

use super::namespace::Namespace;
use super::socket::Socket;
use prometheus_client::metrics::gauge::Gauge;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

/// The namespace table of one endpoint, with its size in a gauge.
pub(crate) struct NamespaceTable<S> {
    map: Mutex<HashMap<String, Arc<Namespace<S>>>>,
    /// The configured exact names: they stay while empty.
    fixed: HashSet<String>,
    /// `iogate_namespaces` of the endpoint.
    gauge: Gauge,
}

impl<S: Send + Sync + 'static> NamespaceTable<S> {
    /// A table holding the configured names that are not globs.
    pub(crate) fn new(configured: &[String], gauge: Gauge) -> Self {
        let fixed: HashSet<String> = configured
            .iter()
            .filter(|name| !crate::glob::is_pattern(name))
            .cloned()
            .collect();
        let map: HashMap<String, Arc<Namespace<S>>> = fixed
            .iter()
            .map(|name| (name.clone(), Arc::new(Namespace::new(name))))
            .collect();
        gauge.set(map.len() as i64);
        Self {
            map: Mutex::new(map),
            fixed,
            gauge,
        }
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Namespace<S>>>> {
        self.map
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The namespace `name`, if it is in the table.
    pub(crate) fn get(&self, name: &str) -> Option<Arc<Namespace<S>>> {
        self.lock().get(name).cloned()
    }

    /// Every namespace in the table.
    pub(crate) fn all(&self) -> Vec<Arc<Namespace<S>>> {
        self.lock().values().cloned().collect()
    }

    /// How many namespaces the table holds.
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }

    /// Adds the socket `make` builds for namespace `name` (entered into the table if it is not there).
    pub(crate) fn add(
        &self,
        name: &str,
        make: impl FnOnce(Arc<Namespace<S>>) -> Arc<Socket<S>>,
    ) -> Arc<Socket<S>> {
        let mut map = self.lock();
        let namespace = match map.get(name) {
            Some(namespace) => namespace.clone(),
            None => {
                let namespace = Arc::new(Namespace::new(name));
                map.insert(name.to_string(), namespace.clone());
                self.gauge.set(map.len() as i64);
                namespace
            }
        };
        let socket = make(namespace.clone());
        namespace.add(&socket);
        socket
    }

    /// Takes `socket` out of its namespace, which leaves the table if that was its last socket and it is not a
    /// configured one. True when the socket was connected.
    pub(crate) fn remove(&self, socket: &Socket<S>) -> bool {
        let mut map = self.lock();
        let namespace = socket.namespace_entry();
        let removed = namespace.remove(socket);
        let name = namespace.name();
        if namespace.is_empty()
            && !self.fixed.contains(name)
            && map
                .get(name)
                .is_some_and(|held| Arc::ptr_eq(held, namespace))
        {
            map.remove(name);
            self.gauge.set(map.len() as i64);
        }
        removed
    }
}
