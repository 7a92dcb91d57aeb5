//! Glob patterns for namespaces and event names: `*` matches any run of characters, `?` one character.

/// Whether `pattern` holds a wildcard (`*` or `?`); otherwise it matches only itself.
pub fn is_pattern(pattern: &str) -> bool {
    pattern.contains(['*', '?'])
}

/// Whether `text` matches `pattern`.
pub fn matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == '?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn globs() {
        assert!(matches("/tenant-*", "/tenant-42"));
        assert!(matches("/tenant-*", "/tenant-"));
        assert!(!matches("/tenant-*", "/tenant"));
        assert!(matches("typing*", "typing"));
        assert!(matches("*", ""));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("*.x.*", "a.x.b"));
        assert!(!matches("/chat", "/chat2"));
        assert!(matches("/é*", "/été"));
    }
}
