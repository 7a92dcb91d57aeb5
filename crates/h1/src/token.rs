//! Header tokens.

/// Whether a comma-separated header value holds `token` (case-insensitive), as `Connection: close`,
/// `Connection: keep-alive` or `Upgrade: websocket` do.
pub fn has_token(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::has_token;

    #[test]
    fn tokens_are_found_among_others_whatever_their_case_and_spacing() {
        assert!(has_token(b"close", "close"));
        assert!(has_token(b"keep-alive, Upgrade", "upgrade"));
        assert!(has_token(b" foo ,\tCLOSE ", "close"));
        assert!(!has_token(b"closed", "close"));
        assert!(!has_token(b"", "close"));
    }
}
