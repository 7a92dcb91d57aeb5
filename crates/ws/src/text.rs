//! `Text`: UTF-8 bytes that clone without copying.

use bytes::Bytes;
use std::fmt;

/// Immutable UTF-8 text backed by [`Bytes`], so one encoding can be shared by many sessions.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Validates `bytes` as UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Self, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Self(bytes))
    }

    /// A static string.
    pub const fn from_static(text: &'static str) -> Self {
        Self(Bytes::from_static(text.as_bytes()))
    }

    /// The text.
    #[expect(
        unsafe_code,
        reason = "a Text is valid UTF-8 by construction; checking again on every read would cost every packet"
    )]
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor admits only valid UTF-8 (checked, or from `str`/`String`),
        // `slice_from` cuts on a char boundary, and `Bytes` is immutable.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// The text from byte `start` on, sharing the same buffer; `start` must be a char boundary.
    pub fn slice_from(&self, start: usize) -> Self {
        self.slice(start, self.len())
    }

    /// The bytes `start..end`, sharing the same buffer; both must be char boundaries.
    pub fn slice(&self, start: usize, end: usize) -> Self {
        let text = self.as_str();
        assert!(
            text.is_char_boundary(start) && text.is_char_boundary(end),
            "Text::slice must cut on char boundaries"
        );
        Self(self.0.slice(start..end))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<Text> for Bytes {
    fn from(text: Text) -> Bytes {
        text.0
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
