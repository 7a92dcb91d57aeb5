//! `PairLists`: lists of name/value text pairs (a handshake's headers and its query) in one allocation, whatever
//! their number and length.

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use std::fmt;

/// Lists of `(name, value)` text pairs in order, stored in one block: a handshake's headers (lower-case names) and
/// its decoded query. A session keeps its handshake for its whole life (it goes into every later connect webhook),
/// so all of its pairs share one block rather than two strings per pair or a block per list: one byte giving the
/// width of the stored numbers (2 bytes when the text and the counts fit in 16 bits, as a handshake's nearly always
/// do, else 4), the number of lists, the pair index at which each list ends, the end offset in the text of each
/// name and each value (alternating), all little-endian, then the text. Lists read with [`Self::list`]. No pairs,
/// no allocation.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PairLists {
    data: Box<[u8]>,
}

/// Bytes of a stored number when the text is short: a handshake's usual headers then take 22 bytes of offsets
/// instead of 44.
const NARROW: usize = 2;

/// Bytes of a stored number when the text or a count does not fit in 16 bits.
const WIDE: usize = 4;

impl PairLists {
    /// Stores `lists`, all of one type, in one block (lists of different types: [`Self::builder`]).
    pub fn new<const N: usize, I, K, V>(lists: [I; N]) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        lists
            .into_iter()
            .fold(Self::builder(), |builder, list| builder.list(list))
            .build()
    }

    /// Starts a block; its lists are added in order.
    pub fn builder() -> PairListsBuilder {
        PairListsBuilder::default()
    }

    /// Bytes of each stored number (the block's first byte).
    fn width(&self) -> usize {
        self.data.first().map_or(WIDE, |width| usize::from(*width))
    }

    /// Stored number `index` (0: the count of lists, then the lists' ends, then the offsets); 0 past the end.
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

    /// How many lists are stored.
    fn lists(&self) -> usize {
        self.word(0)
    }

    /// How many pairs are stored, in all lists.
    fn pairs(&self) -> usize {
        match self.lists() {
            0 => 0,
            lists => self.word(lists),
        }
    }

    /// The stored number where the offsets start.
    fn first_offset(&self) -> usize {
        1 + self.lists()
    }

    fn text(&self) -> &str {
        let start = 1 + (self.first_offset() + 2 * self.pairs()) * self.width();
        self.data
            .get(start..)
            .and_then(|text| std::str::from_utf8(text).ok())
            .unwrap_or_default()
    }

    /// Text bounds `i` (0: the first name's end, 1: the first value's end, ...) as a string.
    fn bound<'a>(&self, text: &'a str, i: usize) -> &'a str {
        let offsets = self.first_offset();
        let start = if i == 0 {
            0
        } else {
            self.word(offsets + i - 1)
        };
        text.get(start..self.word(offsets + i)).unwrap_or_default()
    }

    /// List `index` (in the order given to [`Self::new`]); empty past the last.
    pub fn list(&self, index: usize) -> Pairs<'_> {
        let (start, end) = if index < self.lists() {
            let start = if index == 0 { 0 } else { self.word(index) };
            (start, self.word(index + 1))
        } else {
            (0, 0)
        };
        Pairs {
            lists: self,
            start,
            end: end.max(start),
        }
    }
}

impl fmt::Debug for PairLists {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries((0..self.lists()).map(|index| self.list(index)))
            .finish()
    }
}

/// Gathers the lists of a [`PairLists`], then stores them in one block.
#[derive(Debug, Default)]
pub struct PairListsBuilder {
    /// Every name and value, one after the other.
    text: String,
    /// The end offset in `text` of each name and each value.
    ends: Vec<u32>,
    /// The number of pairs before the end of each list.
    list_ends: Vec<u32>,
}

impl PairListsBuilder {
    /// Adds a list. Offsets are 32-bit: pairs past 4 GiB of text in all (a request head is refused far earlier)
    /// are left out.
    pub fn list<K: AsRef<str>, V: AsRef<str>>(
        mut self,
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        for (name, value) in pairs {
            let (name, value) = (name.as_ref(), value.as_ref());
            let Ok(end) = u32::try_from(self.text.len() + name.len() + value.len()) else {
                continue;
            };
            self.text.push_str(name);
            self.ends.push(end - value.len() as u32);
            self.text.push_str(value);
            self.ends.push(end);
        }
        // A request's pairs are far fewer than 2^32 (its head is bounded); the count saturates rather than wraps.
        self.list_ends
            .push(u32::try_from(self.ends.len() / 2).unwrap_or(u32::MAX));
        self
    }

    /// The lists in one block.
    pub fn build(self) -> PairLists {
        let Self {
            text,
            ends,
            list_ends,
        } = self;
        if ends.is_empty() {
            return PairLists::default();
        }
        let lists = u32::try_from(list_ends.len()).unwrap_or(u32::MAX);
        let narrow = u16::try_from(text.len()).is_ok()
            && u16::try_from(ends.len()).is_ok()
            && u16::try_from(lists).is_ok();
        let width = if narrow { NARROW } else { WIDE };
        let numbers = 1 + list_ends.len() + ends.len();
        let mut data = Vec::with_capacity(1 + numbers * width + text.len());
        data.push(width as u8);
        for number in std::iter::once(lists).chain(list_ends).chain(ends) {
            data.extend_from_slice(&number.to_le_bytes()[..width]);
        }
        data.extend_from_slice(text.as_bytes());
        PairLists {
            data: data.into_boxed_slice(),
        }
    }
}

/// One list of a [`PairLists`]: `(name, value)` text pairs in request order.
#[derive(Clone, Copy)]
pub struct Pairs<'a> {
    lists: &'a PairLists,
    /// The list's first pair, among all the block's pairs.
    start: usize,
    /// Past the list's last pair.
    end: usize,
}

impl<'a> Pairs<'a> {
    /// The `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        let lists = self.lists;
        let text = lists.text();
        (self.start..self.end)
            .map(move |pair| (lists.bound(text, 2 * pair), lists.bound(text, 2 * pair + 1)))
    }

    /// The last value of `name` (a header's lower-case), if present.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.iter()
            .filter(|(key, _)| *key == name)
            .map(|(_, value)| value)
            .last()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl fmt::Debug for Pairs<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// A JSON object; a repeated name keeps its last value, at the place of its first appearance.
impl Serialize for Pairs<'_> {
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

    fn one<'a>(pairs: &'a [(&'a str, &'a str)]) -> PairLists {
        PairLists::new([pairs.iter().copied()])
    }

    #[test]
    fn keeps_pairs_in_order_and_serializes_as_an_object() {
        let stored = one(&[
            ("host", "a"),
            ("x-empty", ""),
            ("cookie", "c=1"),
            ("host", "b"),
        ]);
        let list = stored.list(0);
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
        assert!(PairLists::default().list(0).is_empty());
        assert_eq!(
            serde_json::to_string(&PairLists::default().list(1)).unwrap(),
            "{}"
        );
    }

    #[test]
    fn two_lists_share_one_block_and_stay_apart() {
        let stored = PairLists::new([
            vec![("host", "example.com"), ("accept", "*/*")],
            vec![("EIO", "4"), ("host", "q")],
        ]);
        assert_eq!(
            stored.data.len(),
            1 + (1 + 2 + 8) * NARROW + "hostexample.comaccept*/*EIO4hostq".len()
        );
        assert_eq!(
            stored.list(0).iter().collect::<Vec<_>>(),
            vec![("host", "example.com"), ("accept", "*/*")]
        );
        assert_eq!(
            stored.list(1).iter().collect::<Vec<_>>(),
            vec![("EIO", "4"), ("host", "q")]
        );
        assert_eq!(stored.list(0).get("host"), Some("example.com"));
        assert_eq!(stored.list(1).get("host"), Some("q"));
        assert_eq!(stored.list(0).get("EIO"), None);
        assert!(stored.list(2).is_empty());
        // An empty first list, or an empty last one.
        let no_headers = PairLists::new([vec![], vec![("EIO", "4")]]);
        assert!(no_headers.list(0).is_empty());
        assert_eq!(no_headers.list(1).get("EIO"), Some("4"));
        let no_query = PairLists::new([vec![("host", "h")], vec![]]);
        assert_eq!(no_query.list(0).len(), 1);
        assert!(no_query.list(1).is_empty());
        let none = PairLists::new([Vec::<(&str, &str)>::new(), Vec::new()]);
        assert_eq!(none, PairLists::default());
        assert!(none.list(0).is_empty() && none.list(1).is_empty());
    }

    #[test]
    fn short_pairs_take_two_bytes_per_number_and_long_ones_four() {
        let short = one(&[("host", "example.com"), ("eio", "4")]);
        assert_eq!(
            short.data.len(),
            1 + 6 * NARROW + "hostexample.comeio4".len()
        );
        assert_eq!(short.list(0).get("host"), Some("example.com"));
        let long_value = "v".repeat(70_000);
        let long = PairLists::new([
            vec![("a", "1"), ("cookie", long_value.as_str())],
            vec![("z", "")],
        ]);
        assert_eq!(long.width(), WIDE);
        assert_eq!(long.data.len(), 1 + (1 + 2 + 6) * WIDE + 2 + 6 + 70_000 + 1);
        assert_eq!(
            long.list(0).iter().collect::<Vec<_>>(),
            vec![("a", "1"), ("cookie", long_value.as_str())]
        );
        assert_eq!(long.list(1).iter().collect::<Vec<_>>(), vec![("z", "")]);
        let exactly_narrow = "x".repeat(usize::from(u16::MAX) - 1);
        let edge = one(&[("k", exactly_narrow.as_str())]);
        assert_eq!(edge.width(), NARROW);
        assert_eq!(edge.list(0).get("k"), Some(exactly_narrow.as_str()));
    }

    #[test]
    fn non_ascii_text_and_empty_names_round_trip() {
        let pairs = [("", "π"), ("naïve", "日本"), ("k", "")];
        let stored = one(&pairs);
        assert_eq!(stored.list(0).iter().collect::<Vec<_>>(), pairs);
        assert_eq!(
            format!("{stored:?}"),
            r#"[[("", "π"), ("naïve", "日本"), ("k", "")]]"#
        );
    }
}
