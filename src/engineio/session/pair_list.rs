//! `PairList`: name/value text pairs (a handshake's headers, its query) in one allocation whatever their number.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt;

/// `(name, value)` text pairs in request order: a handshake's headers (lower-case names) or its decoded query. A
/// session keeps its handshake for its whole life (it goes into every later connect webhook), so the pairs are
/// stored in one block rather than as two strings per pair: one byte giving the width of the stored numbers (2
/// bytes when the text and the count fit in 16 bits, as a handshake's nearly always do, else 4), the number of
/// offsets, the end offset in the text of each name and each value (alternating), all little-endian, then the text.
/// No pairs, no allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PairList {
    data: Box<[u8]>,
}

/// Bytes of a stored number when the text is short: a handshake's usual headers then take 22 bytes of offsets
/// instead of 44.
const NARROW: usize = 2;

/// Bytes of a stored number when the text or the count does not fit in 16 bits.
const WIDE: usize = 4;

impl PairList {
    /// The headers of a request; values that are not UTF-8 are converted lossily.
    pub fn from_map(headers: &http::HeaderMap) -> Self {
        headers
            .iter()
            .map(|(name, value)| (name.as_str(), String::from_utf8_lossy(value.as_bytes())))
            .collect()
    }

    /// Bytes of each stored number (the block's first byte).
    fn width(&self) -> usize {
        self.data.first().map_or(WIDE, |width| usize::from(*width))
    }

    /// Stored number `index` (0: the count of offsets, then the offsets).
    fn word(&self, index: usize) -> usize {
        let width = self.width();
        let Some(bytes) = self.data.get(1 + index * width..1 + (index + 1) * width) else {
            return 0;
        };
        bytes
            .iter()
            .rev()
            .fold(0, |number, byte| (number << 8) | usize::from(*byte))
    }

    /// How many offsets are stored (two per pair).
    fn offsets(&self) -> usize {
        self.word(0)
    }

    fn text(&self) -> &str {
        let start = 1 + (1 + self.offsets()) * self.width();
        self.data
            .get(start..)
            .and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or_default()
    }

    /// The `(name, value)` pairs in request order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let text = self.text();
        let bounds = move |i: usize| {
            let start = if i == 0 { 0 } else { self.word(i) };
            text.get(start..self.word(i + 1)).unwrap_or_default()
        };
        (0..self.len()).map(move |pair| (bounds(2 * pair), bounds(2 * pair + 1)))
    }

    /// The last value of header `name` (lower-case), if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .last()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.offsets() / 2
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for PairList {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut text = String::new();
        let mut ends: Vec<u32> = Vec::new();
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            // Offsets are u32: pairs past 4 GiB in all (hyper refuses far less) are left out.
            let Ok(end) = u32::try_from(text.len() + name.len() + value.len()) else {
                break;
            };
            text.push_str(name);
            ends.push(end - value.len() as u32);
            text.push_str(value);
            ends.push(end);
        }
        if ends.is_empty() {
            return Self::default();
        }
        let count = ends.len() as u32;
        let narrow = u16::try_from(text.len()).is_ok() && u16::try_from(count).is_ok();
        let width = if narrow { NARROW } else { WIDE };
        let mut data = Vec::with_capacity(1 + (1 + ends.len()) * width + text.len());
        data.push(width as u8);
        for number in std::iter::once(count).chain(ends) {
            data.extend_from_slice(&number.to_le_bytes()[..width]);
        }
        data.extend_from_slice(text.as_bytes());
        Self {
            data: data.into_boxed_slice(),
        }
    }
}

impl fmt::Debug for PairList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A JSON object; a repeated name keeps its last value, at the place of its first appearance.
impl Serialize for PairList {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut merged: Vec<(&str, &str)> = Vec::with_capacity(self.len());
        for (name, value) in self.iter() {
            match merged.iter_mut().find(|(k, _)| *k == name) {
                Some(slot) => slot.1 = value,
                None => merged.push((name, value)),
            }
        }
        let mut map = serializer.serialize_map(Some(merged.len()))?;
        for (name, value) in merged {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_pairs_in_order_and_serializes_as_an_object() {
        let list: PairList = [
            ("host", "a"),
            ("x-empty", ""),
            ("cookie", "c=1"),
            ("host", "b"),
        ]
        .into_iter()
        .collect();
        assert_eq!(list.len(), 4);
        assert_eq!(
            list.iter().collect::<Vec<_>>(),
            vec![
                ("host", "a"),
                ("x-empty", ""),
                ("cookie", "c=1"),
                ("host", "b")
            ]
        );
        assert_eq!(list.get("host"), Some("b"));
        assert_eq!(list.get("accept"), None);
        assert_eq!(
            serde_json::to_string(&list).unwrap(),
            r#"{"host":"b","x-empty":"","cookie":"c=1"}"#
        );
        assert!(PairList::default().is_empty());
        assert_eq!(serde_json::to_string(&PairList::default()).unwrap(), "{}");
    }

    #[test]
    fn short_pairs_take_two_bytes_per_offset_and_long_ones_four() {
        let short: PairList = [("host", "example.com"), ("eio", "4")]
            .into_iter()
            .collect();
        assert_eq!(
            short.data.len(),
            1 + 5 * NARROW + "hostexample.comeio4".len()
        );
        assert_eq!(short.get("host"), Some("example.com"));
        let long_value = "v".repeat(70_000);
        let long: PairList = [("a", "1"), ("cookie", long_value.as_str()), ("z", "")]
            .into_iter()
            .collect();
        assert_eq!(long.data.len(), 1 + 7 * WIDE + 2 + 6 + 70_000 + 1);
        assert_eq!(
            long.iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("cookie", long_value.as_str()), ("z", "")]
        );
        let exactly_narrow = "x".repeat(usize::from(u16::MAX) - 1);
        let edge: PairList = [("k", exactly_narrow.as_str())].into_iter().collect();
        assert_eq!(edge.width(), NARROW);
        assert_eq!(edge.get("k"), Some(exactly_narrow.as_str()));
    }

    #[test]
    fn non_ascii_text_and_empty_names_round_trip() {
        let pairs = [("", "π"), ("naïve", "日本"), ("k", "")];
        let list: PairList = pairs.into_iter().collect();
        assert_eq!(list.iter().collect::<Vec<_>>(), pairs);
        let none: PairList = Vec::<(&str, &str)>::new().into_iter().collect();
        assert!(none.is_empty());
        assert_eq!(none.iter().count(), 0);
        assert_eq!(none, PairList::default());
    }
}
