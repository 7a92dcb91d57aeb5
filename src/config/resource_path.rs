//! Resource paths (an endpoint's `path`, a Socket.IO 0.9 `resource`), checked and normalized once, when the config
//! loads.

use serde::{Deserialize, Deserializer};

/// A resource path in its canonical form (leading slash, no trailing slash, the root stays `/`), with the text it
/// was written as for messages that quote the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourcePath {
    normalized: String,
    written: String,
}

impl ResourcePath {
    /// An endpoint's `path`: it must start with `/` and be a plain path (no query, fragment or space).
    pub fn endpoint(text: &str) -> Result<Self, String> {
        if !text.starts_with('/') {
            return Err(format!("{text:?} must start with '/'"));
        }
        if text.contains(['?', '#', ' ']) {
            return Err(format!("{text:?} must be a plain path"));
        }
        Ok(Self {
            normalized: normalize_path(text),
            written: text.to_string(),
        })
    }

    /// A Socket.IO 0.9 `resource` such as `myApp/server.js` (a leading `/` is optional): a plain path.
    pub fn sio09_resource(text: &str) -> Result<Self, String> {
        if text.contains(['?', '#', ' ']) {
            return Err(format!(
                "{text:?} must be a plain path such as \"myApp/server.js\""
            ));
        }
        Ok(Self {
            normalized: normalize_path(&format!("/{}", text.trim_start_matches('/'))),
            written: text.to_string(),
        })
    }

    /// The canonical form, which routing, metrics and the push API use.
    pub fn as_str(&self) -> &str {
        &self.normalized
    }

    /// The text as the config wrote it.
    pub fn written(&self) -> &str {
        &self.written
    }
}

/// The canonical form of a resource path: leading slash, no trailing slash (the root stays `/`).
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        "/".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Serde helper for an endpoint's `path`.
pub fn deserialize_endpoint<'de, D: Deserializer<'de>>(de: D) -> Result<ResourcePath, D::Error> {
    let text = String::deserialize(de)?;
    ResourcePath::endpoint(&text).map_err(serde::de::Error::custom)
}

/// Serde helper for an optional `resource` (with `#[serde(default)]`).
pub fn deserialize_sio09_resource<'de, D: Deserializer<'de>>(
    de: D,
) -> Result<Option<ResourcePath>, D::Error> {
    let Some(text) = Option::<String>::deserialize(de)? else {
        return Ok(None);
    };
    ResourcePath::sio09_resource(&text)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_paths_are_normalized_and_keep_their_text() {
        let path = ResourcePath::endpoint("/a/b//").unwrap();
        assert_eq!(path.as_str(), "/a/b");
        assert_eq!(path.written(), "/a/b//");
        assert_eq!(ResourcePath::endpoint("/").unwrap().as_str(), "/");
        assert_eq!(ResourcePath::endpoint("//").unwrap().as_str(), "/");
        assert!(ResourcePath::endpoint("a").is_err());
        assert!(ResourcePath::endpoint("/a#b").is_err());
    }

    #[test]
    fn sio09_resources_get_a_leading_slash() {
        for (text, normalized) in [
            ("myApp/server.js", "/myApp/server.js"),
            ("/myApp/server.js/", "/myApp/server.js"),
            ("//x", "/x"),
            ("", "/"),
            ("/", "/"),
        ] {
            let resource = ResourcePath::sio09_resource(text).unwrap();
            assert_eq!(resource.as_str(), normalized, "{text:?}");
            assert_eq!(resource.written(), text);
        }
        assert!(ResourcePath::sio09_resource("a?b").is_err());
    }
}
