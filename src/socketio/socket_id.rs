//! Socket ids as clients see them (`socket.id`): random for protocol v5, `nsp#<engine sid>` for v4 clients.

use crate::engineio::Sid;
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// The id of a socket, shared cheaply.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(Arc<str>);

impl SocketId {
    /// A new random id (protocol v5).
    pub fn random() -> Self {
        Self(Arc::from(Sid::random().as_str()))
    }

    /// The id a v4 client derives itself: the engine id on `/`, `nsp#<engine id>` elsewhere.
    pub fn for_v4(namespace: &str, engine: Sid) -> Self {
        if namespace == "/" {
            Self(Arc::from(engine.as_str()))
        } else {
            Self(Arc::from(format!("{namespace}#{engine}")))
        }
    }

    /// An id as given (e.g. by an API call); ids nobody has simply match nothing.
    pub fn from_text(text: &str) -> Self {
        Self(Arc::from(text))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id's text, shared with this id (no copy).
    pub fn shared(&self) -> Arc<str> {
        self.0.clone()
    }
}

impl Borrow<str> for SocketId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", self.0)
    }
}

impl serde::Serialize for SocketId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4_ids_follow_the_client_convention() {
        let engine = Sid::parse("AAAAAAAAAAAAAAAAAAAA").unwrap();
        assert_eq!(
            SocketId::for_v4("/", engine).as_str(),
            "AAAAAAAAAAAAAAAAAAAA"
        );
        assert_eq!(
            SocketId::for_v4("/admin", engine).as_str(),
            "/admin#AAAAAAAAAAAAAAAAAAAA"
        );
        assert_ne!(SocketId::random(), SocketId::random());
    }
}
