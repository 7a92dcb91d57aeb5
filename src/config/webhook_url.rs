//! Webhook URLs (`webhook` of endpoints and routes), parsed once when the config loads.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// An `http://` or `https://` URL that webhooks are POSTed to. `Debug` shows it without credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl(reqwest::Url);

impl WebhookUrl {
    /// Parses `text`; the message names it and says what is wrong.
    pub fn parse(text: &str) -> Result<Self, String> {
        let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL ({e})"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("{text:?} must be an http or https URL"));
        }
        Ok(Self(url))
    }

    /// The parsed URL.
    pub fn as_url(&self) -> &reqwest::Url {
        &self.0
    }

    /// Whether webhooks go over TLS (`https://`).
    pub fn is_https(&self) -> bool {
        self.0.scheme() == "https"
    }

    /// The URL without its credentials, for messages and logs.
    pub fn redacted(&self) -> String {
        if self.0.username().is_empty() && self.0.password().is_none() {
            return self.0.to_string();
        }
        let mut url = self.0.clone();
        let _ = url.set_username("");
        let _ = url.set_password(None);
        url.to_string()
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.redacted(), f)
    }
}

/// A URL given as text (tests, tools): parsed as the config parses it.
impl TryFrom<&str> for WebhookUrl {
    type Error = String;

    fn try_from(text: &str) -> Result<Self, String> {
        Self::parse(text)
    }
}

/// A `webhook` value: a string parsed by [`WebhookUrl::parse`].
impl<'de> Deserialize<'de> for WebhookUrl {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let text = String::deserialize(de)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_http_and_https_only() {
        assert!(!WebhookUrl::parse("http://h/x").unwrap().is_https());
        assert!(WebhookUrl::parse("HTTPS://h/x").unwrap().is_https());
        for bad in ["ftp://h/", "mailto:a@b", "/relative", "http://", ""] {
            assert!(WebhookUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_never_print() {
        let url = WebhookUrl::parse("https://user:pa55word@h:8443/hook?x=1").unwrap();
        assert_eq!(url.redacted(), "https://h:8443/hook?x=1");
        assert_eq!(format!("{url:?}"), "\"https://h:8443/hook?x=1\"");
        assert_eq!(url.as_url().password(), Some("pa55word"));
        let plain = WebhookUrl::parse("http://h/").unwrap();
        assert_eq!(format!("{plain:?}"), "\"http://h/\"");
    }
}
