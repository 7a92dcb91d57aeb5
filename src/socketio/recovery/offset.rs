//! Offsets: the position of an event in the stream a socket was sent, appended to the event as its last
//! argument and sent back by a reconnecting client. Opaque to clients; iogate's own format, `<tag>-<seq>`: a tag
//! random per process (so offsets of two nodes, or of a restarted node, never match) and a counter of the
//! process's emits. A client may send any string as its offset (its app's last string argument), so an offset
//! is parsed and checked, never trusted.

use rand::Rng;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Characters of the per-process tag.
const TAG_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/// Length of the per-process tag.
const TAG_LENGTH: usize = 8;

/// Where offsets come from: a tag and a counter.
#[derive(Debug)]
pub struct OffsetSource {
    tag: String,
    next: AtomicU64,
}

/// One offset: its number in this process and the text clients see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offset {
    /// The counter value; later emits have larger ones.
    pub seq: u64,
    /// The text appended to events.
    pub text: String,
}

impl OffsetSource {
    /// A source with a random tag.
    pub fn random() -> Self {
        let mut rng = rand::rng();
        let tag = (0..TAG_LENGTH)
            .map(|_| char::from(TAG_ALPHABET[rng.random_range(0..TAG_ALPHABET.len())]))
            .collect();
        Self::with_tag(tag)
    }

    /// A source with a given tag (tests).
    pub fn with_tag(tag: String) -> Self {
        Self {
            tag,
            next: AtomicU64::new(1),
        }
    }

    /// The process's source.
    pub fn process() -> &'static Self {
        static SOURCE: OnceLock<OffsetSource> = OnceLock::new();
        SOURCE.get_or_init(Self::random)
    }

    /// The next offset.
    pub fn next(&self) -> Offset {
        let seq = self.next.fetch_add(1, Ordering::Relaxed);
        Offset {
            seq,
            text: self.text_of(seq),
        }
    }

    /// The text of offset number `seq`.
    pub fn text_of(&self, seq: u64) -> String {
        format!("{}-{seq}", self.tag)
    }

    /// The number of an offset this source made; `None` for any other text (another tag, not a number, junk).
    pub fn parse(&self, text: &str) -> Option<u64> {
        let (tag, seq) = text.split_once('-')?;
        if tag != self.tag || seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        seq.parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_count_up_and_parse_back() {
        let source = OffsetSource::with_tag("abcDEF12".into());
        let first = source.next();
        let second = source.next();
        assert_eq!(first.text, "abcDEF12-1");
        assert!(second.seq > first.seq);
        assert_eq!(source.parse(&second.text), Some(second.seq));
    }

    #[test]
    fn foreign_or_malformed_offsets_are_refused() {
        let source = OffsetSource::with_tag("abcDEF12".into());
        for text in [
            "",
            "abcDEF12",
            "abcDEF12-",
            "abcDEF12-x1",
            "abcDEF12-+1",
            "abcDEF12--1",
            "other000-1",
            "Q950BZ0",
            "1796454283763-0",
            "abcDEF12-99999999999999999999999",
        ] {
            assert_eq!(source.parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn random_tags_differ() {
        let a = OffsetSource::random().next().text;
        let b = OffsetSource::random().next().text;
        assert_ne!(a, b);
        assert_eq!(a.len(), TAG_LENGTH + 2);
    }
}
