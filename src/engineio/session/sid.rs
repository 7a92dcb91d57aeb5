//! Session ids: 20 URL-safe characters. One node: 120 random bits. In a cluster the first four characters are the
//! [`NodeTag`] of the node that holds the session (so any node can tell where a request belongs) and the other 16
//! are 96 random bits.

use rand::Rng;
use std::fmt;
use std::sync::atomic::{AtomicU32, Ordering};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// Whether each byte value is in [`ALPHABET`]: a lookup per character of every id a request names, instead of a
/// search of the alphabet.
const IN_ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether every byte of `bytes` is an id character.
fn all_id_characters(bytes: &[u8]) -> bool {
    bytes.iter().all(|&b| IN_ALPHABET[usize::from(b)])
}

/// An Engine.IO session id (also used for Socket.IO socket ids).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Sid([u8; 20]);

impl Sid {
    /// A new random id.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        let mut id = [0u8; 20];
        for byte in &mut id {
            *byte = ALPHABET[rng.random_range(0..64)];
        }
        Sid(id)
    }

    /// A new id held by the node tagged `tag`: the tag, then 16 random characters.
    pub fn random_tagged(tag: NodeTag) -> Self {
        let mut id = Self::random();
        id.0[..NodeTag::LEN].copy_from_slice(&tag.0);
        id
    }

    /// The tag this id starts with (meaningful only for ids minted by [`Sid::random_tagged`]).
    pub fn tag(&self) -> NodeTag {
        let mut tag = [0u8; NodeTag::LEN];
        tag.copy_from_slice(&self.0[..NodeTag::LEN]);
        NodeTag(tag)
    }

    /// Parses an id from a request; anything that is not 20 id characters is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; 20] = text.as_bytes().try_into().ok()?;
        all_id_characters(&bytes).then_some(Sid(bytes))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// The four id characters that name one running node of a cluster (a new tag each time a node starts).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeTag([u8; NodeTag::LEN]);

impl NodeTag {
    /// Characters in a tag.
    pub const LEN: usize = 4;

    /// A new random tag.
    pub fn random() -> Self {
        Sid::random().tag()
    }

    /// Parses a tag; anything that is not four id characters is `None`.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes: [u8; Self::LEN] = text.as_bytes().try_into().ok()?;
        all_id_characters(&bytes).then_some(NodeTag(bytes))
    }

    /// The tag as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII bytes are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

/// The tag a cluster node mints its session ids with now. It changes when the node rejoins its cluster under a new
/// tag (after the others declared it departed), so it is shared and read at each mint.
#[derive(Debug)]
pub struct CurrentTag(AtomicU32);

impl CurrentTag {
    /// A cell holding `tag`.
    pub fn new(tag: NodeTag) -> Self {
        Self(AtomicU32::new(u32::from_le_bytes(tag.0)))
    }

    /// The tag now.
    pub fn get(&self) -> NodeTag {
        NodeTag(self.0.load(Ordering::Acquire).to_le_bytes())
    }

    /// Replaces the tag: ids minted from now on start with `tag`.
    pub fn set(&self, tag: NodeTag) {
        self.0.store(u32::from_le_bytes(tag.0), Ordering::Release);
    }
}

impl fmt::Display for NodeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NodeTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NodeTag({})", self.as_str())
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

impl serde::Serialize for Sid {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_parse_back_and_differ() {
        let a = Sid::random();
        let b = Sid::random();
        assert_ne!(a, b);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(a.as_str().len(), 20);
    }

    #[test]
    fn rejects_wrong_length_and_characters() {
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("aaaaaaaaaaaaaaaaaaa!"), None);
        assert_eq!(Sid::parse("ééééééééééééééééééé"), None);
    }

    #[test]
    fn every_byte_value_is_an_id_character_exactly_when_the_alphabet_has_it() {
        for byte in 0..=u8::MAX {
            let id = [byte; 20];
            let text = String::from_utf8_lossy(&id);
            assert_eq!(
                Sid::parse(&text).is_some(),
                ALPHABET.contains(&byte),
                "byte {byte}"
            );
            assert_eq!(IN_ALPHABET[usize::from(byte)], ALPHABET.contains(&byte));
        }
    }

    #[test]
    fn tagged_ids_start_with_their_node_tag() {
        let tag = NodeTag::random();
        let a = Sid::random_tagged(tag);
        let b = Sid::random_tagged(tag);
        assert_ne!(a, b);
        assert_eq!(a.tag(), tag);
        assert!(a.as_str().starts_with(tag.as_str()));
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(NodeTag::parse(tag.as_str()), Some(tag));
        assert_eq!(NodeTag::parse("ab!d"), None);
        assert_eq!(NodeTag::parse("abcde"), None);
    }

    #[test]
    fn the_current_tag_reads_back_what_was_set() {
        let (first, second) = (NodeTag::random(), NodeTag::random());
        let current = CurrentTag::new(first);
        assert_eq!(current.get(), first);
        current.set(second);
        assert_eq!(current.get(), second);
    }
}
