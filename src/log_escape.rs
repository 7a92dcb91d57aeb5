//! Client- and backend-controlled text in logs.
//!
//! The rule for every `tracing` call: a string a client or backend controls (namespace, event and room names,
//! query and header values, paths, ids from requests, webhook replies) is passed as a `&str` field, which tracing
//! writes with `Debug` escaping in the text format (quoted, `\n` for a newline) and as a JSON string in the JSON
//! format; any other value that may carry such text (an error that embeds it, a socket id holding a namespace
//! name) is wrapped in [`Escaped`]. `%` (plain `Display`) is only for values iogate itself makes.

use std::fmt::{self, Display, Write};

/// Displays `T` with control characters, backslashes and the Unicode line and paragraph separators escaped as
/// Rust escapes them (`\n`, `\\`, `\u{1b}`, `\u{2028}`), so the value can never start a log line of its own or
/// move a terminal's cursor; every other character is written as is.
pub struct Escaped<T>(pub T);

impl<T: Display> Display for Escaped<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut writer = EscapingWriter(f);
        write!(writer, "{}", self.0)
    }
}

/// Writes what it is given to the formatter, escaping what [`needs_escape`] names.
struct EscapingWriter<'a, 'b>(&'a mut fmt::Formatter<'b>);

impl Write for EscapingWriter<'_, '_> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        let mut plain_from = 0;
        for (index, c) in text.char_indices() {
            if needs_escape(c) {
                self.0.write_str(&text[plain_from..index])?;
                write!(self.0, "{}", c.escape_default())?;
                plain_from = index + c.len_utf8();
            }
        }
        self.0.write_str(&text[plain_from..])
    }
}

fn needs_escape(c: char) -> bool {
    c == '\\' || c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::Escaped;

    #[test]
    fn control_characters_and_backslashes_are_escaped() {
        let forged = "/evil\nFORGED level=ERROR\r\u{1b}[2J\\n\u{2028}é";
        assert_eq!(
            Escaped(forged).to_string(),
            r"/evil\nFORGED level=ERROR\r\u{1b}[2J\\n\u{2028}é"
        );
        assert_eq!(Escaped("plain text").to_string(), "plain text");
        let error = std::io::Error::other("line one\nline two");
        assert_eq!(Escaped(&error).to_string(), r"line one\nline two");
    }
}
