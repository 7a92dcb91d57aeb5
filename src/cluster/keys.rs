//! The Redis keys and channels of a cluster. iogate's own live under `<prefix>-iogate#`; the Node ecosystem's
//! (`<prefix>#<nsp>#...`, `<prefix>-request#<nsp>#`) are named where they are spoken.

use crate::engineio::NodeTag;

/// Key and channel names under one `key_prefix`.
#[derive(Debug, Clone)]
pub struct Keys {
    prefix: String,
}

impl Keys {
    /// The names under `prefix`.
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// The configured prefix, as the Node ecosystem uses it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A running node's record (JSON [`super::Peer`]), expiring unless its node refreshes it.
    pub fn node(&self, tag: NodeTag) -> String {
        format!("{}-iogate#node#{tag}", self.prefix)
    }

    /// The set of node tags that registered and have not been cleaned up after.
    pub fn nodes(&self) -> String {
        format!("{}-iogate#nodes", self.prefix)
    }

    /// The secret nodes prove to each other when one passes a client's request to another.
    pub fn hop_secret(&self) -> String {
        format!("{}-iogate#hop-secret", self.prefix)
    }

    /// Taken by the one survivor that cleans up after the departed node `tag`.
    pub fn departed_claim(&self, tag: NodeTag) -> String {
        format!("{}-iogate#departed#{tag}", self.prefix)
    }

    /// The hash of the node `tag`'s sockets and engine sessions (see [`super::registry`]): what a survivor needs
    /// to send their disconnect hooks when that node departs.
    pub fn sockets(&self, tag: NodeTag) -> String {
        format!("{}-iogate#sockets#{tag}", self.prefix)
    }

    /// The channel of requests every node answers.
    pub fn requests(&self) -> String {
        format!("{}-iogate#request#", self.prefix)
    }

    /// The channel on which the node `tag` receives answers and messages addressed to it.
    pub fn node_channel(&self, tag: NodeTag) -> String {
        format!("{}-iogate#to#{tag}#", self.prefix)
    }
}
