//! The Engine.IO query decoder (`engineio::Query::parse`).
//!
//! Asserts: the decoded pairs, encoded again, decode to the same pairs in the same order, and `get` finds the
//! first value of a key.

use crate::engineio::Query;

/// Runs the checks on `data`, a request's query string.
pub fn check(data: &[u8]) {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let query = Query::parse(Some(raw));
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query.pairs())
        .finish();
    assert_eq!(
        Query::parse(Some(&encoded)),
        query,
        "re-encoded as {encoded:?}"
    );
    if let Some((key, value)) = query.pairs().next() {
        assert_eq!(query.get(key), Some(value));
    }
}
