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

/// For a Socket.IO 0.9 request (`{base}/1` or `{base}/1/...`, `base` being the endpoint's `/{resource}`), the
/// rest of the path after `/1`; `None` for any other path.
pub fn legacy_rest<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let base = if base == "/" { "" } else { base };
    let rest = path.strip_prefix(base)?.strip_prefix("/1")?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_paths_are_the_resource_then_protocol_1() {
        assert_eq!(legacy_rest("/socket.io", "/socket.io/1/"), Some("/"));
        assert_eq!(
            legacy_rest("/myApp/server.js", "/myApp/server.js/1/xhr-polling/abc"),
            Some("/xhr-polling/abc")
        );
        assert_eq!(legacy_rest("/socket.io", "/socket.io/1"), Some(""));
        assert_eq!(legacy_rest("/", "/1/"), Some("/"));
        assert_eq!(legacy_rest("/socket.io", "/socket.io/"), None);
        assert_eq!(legacy_rest("/socket.io", "/socket.io/12/"), None);
        assert_eq!(legacy_rest("/socket.io", "/socket.iox/1/"), None);
    }

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
