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

    /// The channel on which nodes announce that they joined or left, so the others read membership at once
    /// instead of at their next heartbeat.
    pub fn membership_changes(&self) -> String {
        format!("{}-iogate#membership#", self.prefix)
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

    /// The channel of cross-node requests about namespace `namespace` of endpoint `endpoint`; every node reads
    /// them all through [`Self::requests_pattern`].
    pub fn endpoint_requests(&self, endpoint: &str, namespace: &str) -> String {
        format!("{}{endpoint}#{namespace}#", self.requests())
    }

    /// The pattern matching every [`Self::endpoint_requests`] channel.
    pub fn requests_pattern(&self) -> String {
        format!("{}*", glob_escape(&self.requests()))
    }

    /// The channel on which the node `tag` receives answers to its cross-node requests (under its node channel).
    pub fn answers(&self, tag: NodeTag) -> String {
        format!("{}answers#", self.node_channel(tag))
    }

    /// The Node ecosystem's broadcast channels `<prefix>#<nsp>#[<room>#]`, as one pattern.
    pub fn node_broadcasts_pattern(&self) -> String {
        format!("{}#*", glob_escape(&self.prefix))
    }

    /// The start of the Node ecosystem's request channels `<prefix>-request#<nsp>#`.
    pub fn node_requests(&self) -> String {
        format!("{}-request#", self.prefix)
    }

    /// The Node ecosystem's request channels, as one pattern.
    pub fn node_requests_pattern(&self) -> String {
        format!("{}*", glob_escape(&self.node_requests()))
    }
}

/// `text` with Redis glob characters escaped, to match itself inside a pattern.
fn glob_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
