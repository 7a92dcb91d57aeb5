//! Reading a config file: TOML parse, `${VAR}` expansion, typed decoding, validation.

use super::expand::expand_env;
use super::schema::Config;
use super::validate::validate;
use std::fmt;
use std::path::Path;

/// A config problem: the file, the key path and what is wrong, printed on one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file the config came from.
    pub file: String,
    /// The dotted key path, e.g. `endpoint[0].ping_interval`; empty when the whole file is at fault.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(f, "{}: {}: {}", self.file, self.key, self.message)
        }
    }
}

impl std::error::Error for ConfigError {}

/// Loads and validates a config file, expanding `${VAR}` from the process environment.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        file: file.clone(),
        key: String::new(),
        message: format!("cannot read: {e}"),
    })?;
    parse_str(&file, &text, &|name| std::env::var(name).ok())
}

/// Parses and validates config text; `file` names it in errors and `lookup` resolves `${VAR}`.
pub fn parse_str(
    file: &str,
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let error = |key: String, message: String| ConfigError {
        file: file.to_string(),
        key,
        message,
    };
    let mut doc: toml::Value =
        toml::from_str(text).map_err(|e| error(String::new(), one_line_toml_error(text, &e)))?;
    expand_env(&mut doc, lookup).map_err(|(key, message)| error(key, message))?;
    let config: Config = serde_path_to_error::deserialize(doc).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        error(key, e.into_inner().message().to_string())
    })?;
    validate(&config).map_err(|(key, message)| error(key, message))?;
    Ok(config)
}

/// Validates a config built in code as a file's would be; `origin` names it in errors.
pub fn validate_built(origin: &str, config: &Config) -> Result<(), ConfigError> {
    validate(config).map_err(|(key, message)| ConfigError {
        file: origin.to_string(),
        key,
        message,
    })
}

fn one_line_toml_error(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {message}")
        }
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    const MINIMAL: &str = "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:5000/hook\"\n";

    #[test]
    fn minimal_config_gets_defaults() {
        let config = parse_str("t.toml", MINIMAL, &no_env).unwrap();
        assert_eq!(config.server.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.endpoints[0].ping_interval.as_secs(), 25);
        assert_eq!(config.endpoints[0].max_payload, 1_000_000);
    }

    #[test]
    fn unknown_key_is_named() {
        let text = format!("{MINIMAL}pingg_interval = \"1s\"\n");
        let err = parse_str("t.toml", &text, &no_env).unwrap_err();
        assert_eq!(err.key, "endpoint[0].pingg_interval");
        assert!(err.message.contains("pingg_interval"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn bad_duration_is_named() {
        let text = format!("{MINIMAL}ping_interval = \"often\"\n");
        let err = parse_str("t.toml", &text, &no_env).unwrap_err();
        assert_eq!(err.key, "endpoint[0].ping_interval");
        assert!(err.message.contains("often"), "{err}");
    }

    #[test]
    fn syntax_error_names_line() {
        let err = parse_str("t.toml", "[server\nlisten = 1", &no_env).unwrap_err();
        assert!(err.message.starts_with("line 1"), "{err}");
        assert!(!err.to_string().contains('\n'));
    }

    #[test]
    fn an_endpoint_built_in_code_has_the_defaults_of_a_file() {
        use crate::config::{EndpointConfig, Protocol, RecoveryConfig, ResourcePath, WebhookUrl};
        let text = "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://127.0.0.1:5000/hook\"\nrecovery = {}\n";
        let from_file = parse_str("t.toml", text, &no_env).unwrap();
        let mut built = EndpointConfig::new(
            ResourcePath::endpoint("/socket.io").unwrap(),
            Protocol::SocketIo,
            WebhookUrl::parse("http://127.0.0.1:5000/hook").unwrap(),
        );
        built.recovery = Some(RecoveryConfig::default());
        assert_eq!(
            format!("{built:?}"),
            format!("{:?}", from_file.endpoints[0])
        );
    }

    #[test]
    fn env_expansion_applies_before_typing() {
        let text = "[server]\nlisten = \"127.0.0.1:${PORT}\"\n[[endpoint]]\npath = \"/e\"\nwebhook = \"http://h/x\"\n";
        let env = |name: &str| (name == "PORT").then(|| "9999".to_string());
        let config = parse_str("t.toml", text, &env).unwrap();
        assert_eq!(config.server.listen.port(), 9999);
    }
}
