//! Matching request paths to endpoints: `/p` and `/p/...` match `/p`; `/pX` does not.

/// Whether `path` belongs to the endpoint whose normalized resource path is `base`.
pub fn matches(base: &str, path: &str) -> bool {
    if base == "/" {
        return true;
    }
    match path.strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// The index of the endpoint `path` belongs to; the longest matching base wins.
pub fn find<'a>(bases: impl IntoIterator<Item = &'a str>, path: &str) -> Option<usize> {
    bases
        .into_iter()
        .enumerate()
        .filter(|(_, base)| matches(base, path))
        .max_by_key(|(_, base)| base.len())
        .map(|(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_exact_and_subpaths_only() {
        assert!(matches("/p", "/p"));
        assert!(matches("/p", "/p/"));
        assert!(matches("/p", "/p/x/y"));
        assert!(!matches("/p", "/pX"));
        assert!(!matches("/p", "/"));
        assert!(!matches("/myApp/socket", "/myApp/socketX/"));
    }

    #[test]
    fn longest_base_wins() {
        let bases = ["/a", "/a/b"];
        assert_eq!(find(bases, "/a/b/"), Some(1));
        assert_eq!(find(bases, "/a/c"), Some(0));
        assert_eq!(find(bases, "/c"), None);
    }
}
