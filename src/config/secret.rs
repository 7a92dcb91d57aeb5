//! Secrets read from the config (webhook signing secrets, the API token): they never print.

use serde::Deserialize;
use std::fmt;

/// A secret value. Its `Debug` prints `"***"` and it has no `Display`: a config or a webhook target can be logged
/// or formatted whole without showing it. [`Secret::expose`] hands out the value where it is used.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for signing or comparing; never for a message or a log line.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_value() {
        let secret = Secret::from("hunter2");
        assert_eq!(format!("{secret:?}"), "\"***\"");
        assert_eq!(format!("{:#?}", vec![secret.clone()]), "[\n    \"***\",\n]");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn a_loaded_config_formats_without_its_secrets_or_token() {
        let text = "[api]\ntoken = \"${TOKEN}\"\n\
                    [[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\nsecret = \"first-SECRET-value\"\n\
                    [[endpoint]]\npath = \"/b\"\nwebhook = \"http://h/\"\nsecret = [\"old-SECRET-value\", \"new-SECRET-value\"]\n";
        let env = |name: &str| (name == "TOKEN").then(|| "the-API-TOKEN-value".to_string());
        let config = crate::config::parse_str("t.toml", text, &env).unwrap();
        for printed in [format!("{config:?}"), format!("{config:#?}")] {
            for value in [
                "first-SECRET-value",
                "old-SECRET-value",
                "new-SECRET-value",
                "the-API-TOKEN-value",
                "SECRET",
                "TOKEN",
            ] {
                assert!(!printed.contains(value), "{value} printed: {printed}");
            }
            assert_eq!(printed.matches("***").count(), 4, "{printed}");
        }
        // The values are all there, for the code that uses them.
        let api = config.api.as_ref().unwrap();
        assert_eq!(api.token.expose(), "the-API-TOKEN-value");
        let rotating = config.endpoints[1].secret.as_ref().unwrap().to_vec();
        assert_eq!(rotating[1].expose(), "new-SECRET-value");
    }
}
