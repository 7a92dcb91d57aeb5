//! The Engine.IO query string: `EIO`, `transport`, `sid`, and (v3) `b64`, `j`.

/// The decoded query of an Engine.IO request, in order, with the keys Engine.IO reads picked out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Every key and value, percent-decoded, in order.
    pub pairs: Vec<(String, String)>,
}

impl Query {
    /// Decodes a raw query string; malformed escapes are kept as written, never an error.
    pub fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_keeps_order() {
        let q = Query::parse(Some("EIO=4&transport=polling&t=N8hyd6w&name=a%20b&x"));
        assert_eq!(q.get("EIO"), Some("4"));
        assert_eq!(q.get("name"), Some("a b"));
        assert_eq!(q.get("x"), Some(""));
        assert_eq!(q.pairs[1].0, "transport");
    }

    #[test]
    fn tolerates_garbage() {
        let q = Query::parse(Some("%zz=%&&=&EIO=%FF"));
        assert_eq!(q.get("EIO"), Some("\u{fffd}"));
        assert_eq!(Query::parse(None).pairs.len(), 0);
    }
}
