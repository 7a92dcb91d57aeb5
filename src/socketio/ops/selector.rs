//! Which sockets an operation reaches: a namespace and, inside it, rooms, socket ids and exclusions. Plain data,
//! so a selection could be sent to another node as it is.

use crate::socketio::socket_id::SocketId;

/// A namespace of the endpoint and the sockets of it that an operation reaches.
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    /// The namespace name.
    pub namespace: &'a str,
    /// The sockets of that namespace.
    pub selector: Selector,
}

impl<'a> Selection<'a> {
    /// Exactly the socket `sid` of `namespace` ("this socket" of a webhook reply).
    pub fn socket(namespace: &'a str, sid: SocketId) -> Self {
        Self {
            namespace,
            selector: Selector {
                to: Reach::Socket(sid),
                ..Selector::default()
            },
        }
    }
}

/// Which sockets of a namespace an operation reaches: those [`Reach`] names, minus the excluded ones.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    /// The sockets reached before exclusions.
    pub to: Reach,
    /// Minus sockets in any of these rooms.
    pub except_rooms: Vec<String>,
    /// Minus these sockets.
    pub except_sockets: Vec<SocketId>,
}

impl Selector {
    /// The sockets in any of `rooms` (none = every socket of the namespace) minus those in any of `except`: a
    /// broadcast's selection.
    pub fn rooms(rooms: Vec<String>, except: Vec<String>) -> Self {
        Self {
            to: if rooms.is_empty() {
                Reach::Everyone
            } else {
                Reach::Listed {
                    rooms,
                    sockets: Vec::new(),
                }
            },
            except_rooms: except,
            except_sockets: Vec::new(),
        }
    }
}

/// The sockets a [`Selector`] starts from.
#[derive(Debug, Clone, Default)]
pub enum Reach {
    /// Every socket of the namespace.
    #[default]
    Everyone,
    /// One socket by id.
    Socket(SocketId),
    /// Sockets in any of `rooms`, and the sockets `sockets` (the union; each socket once). Both empty reaches
    /// nobody.
    Listed {
        /// Room names.
        rooms: Vec<String>,
        /// Socket ids; an id nobody has matches nothing.
        sockets: Vec<SocketId>,
    },
}
