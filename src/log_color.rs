//! Whether log lines carry ANSI colour codes: only on a terminal, and never when `NO_COLOR` is set.
//!
//! Logs that land in a file (the stdout log of IIS's ANCM or HttpPlatformHandler), in `docker logs` or in journald
//! must stay plain text: escape codes there are noise. `NO_COLOR` (<https://no-color.org>) with any non-empty value
//! turns colour off on a terminal too.

use std::ffi::OsStr;
use std::io::IsTerminal;

/// Whether logs written to this process's stderr (where iogate logs) should be coloured.
pub fn ansi_for_stderr() -> bool {
    ansi_wanted(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    )
}

/// Colour only for a terminal, and only when `no_color` (the value of `NO_COLOR`) is absent or empty.
pub fn ansi_wanted(is_terminal: bool, no_color: Option<&OsStr>) -> bool {
    is_terminal && no_color.is_none_or(OsStr::is_empty)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_terminal_gets_colour_unless_no_color_is_set() {
        assert!(ansi_wanted(true, None));
        assert!(ansi_wanted(true, Some(OsStr::new(""))));
        assert!(!ansi_wanted(true, Some(OsStr::new("1"))));
        assert!(!ansi_wanted(true, Some(OsStr::new("false"))));
    }

    #[test]
    fn a_pipe_or_file_never_gets_colour() {
        assert!(!ansi_wanted(false, None));
        assert!(!ansi_wanted(false, Some(OsStr::new(""))));
        assert!(!ansi_wanted(false, Some(OsStr::new("1"))));
    }
}
