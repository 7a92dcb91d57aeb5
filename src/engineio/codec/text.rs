//! `Text`: UTF-8 bytes that clone without copying (the WebSocket crate's type, which a decoded text message
//! already is), and the UTF-16 counting the length-prefixed payloads need.

pub use iogate_ws::Text;

/// `text`'s length in UTF-16 code units (a JavaScript string's `length`), as length-prefixed payloads count.
pub(crate) fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The byte offset in `text` after `units` UTF-16 code units; `None` when `text` is shorter or the count ends
/// inside a character.
pub(crate) fn byte_offset_of_utf16(text: &str, units: usize) -> Option<usize> {
    let mut counted = 0;
    for (offset, ch) in text.char_indices() {
        if counted == units {
            return Some(offset);
        }
        counted += ch.len_utf16();
        if counted > units {
            return None;
        }
    }
    (counted == units).then_some(text.len())
}
