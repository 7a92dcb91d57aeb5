//! Durations written as strings ("300ms", "25s", "2m").

use serde::{Deserialize, Deserializer};
use std::time::Duration;

/// Parses a human duration string such as `"300ms"`, `"25s"` or `"2m"`.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        format!("invalid duration {text:?} ({e}); write it like \"300ms\", \"25s\" or \"2m\"")
    })
}

/// Serde helper: deserializes a duration from a string.
pub fn deserialize<'de, D: Deserializer<'de>>(de: D) -> Result<Duration, D::Error> {
    let text = String::deserialize(de)?;
    parse(&text).map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_units() {
        assert_eq!(parse("300ms").unwrap(), Duration::from_millis(300));
        assert_eq!(parse("25s").unwrap(), Duration::from_secs(25));
        assert_eq!(parse("2m").unwrap(), Duration::from_secs(120));
    }

    #[test]
    fn rejects_bare_numbers_and_garbage() {
        assert!(parse("25").is_err());
        assert!(parse("soon").is_err());
    }
}
