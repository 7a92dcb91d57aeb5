//! Checks that go beyond types: paths, ranges, duplicates, and values that depend on each other.

use super::cluster::{ClusterConfig, PeerAddress};
use super::schema::{Config, EndpointConfig, Protocol, ServerConfig};
use std::collections::HashSet;
use std::time::Duration;

type Problem = (String, String);

/// Validates a decoded config; the error is `(key path, message)`.
pub fn validate(config: &Config) -> Result<(), Problem> {
    if config.endpoints.is_empty() {
        return Err((
            "endpoint".into(),
            "at least one [[endpoint]] is required".into(),
        ));
    }
    if let Some(api) = &config.api {
        if api.token.expose().trim().is_empty() {
            return Err(("api.token".into(), "must not be empty".into()));
        }
    }
    if config.server.request_head_timeout.is_zero() {
        return Err((
            "server.request_head_timeout".into(),
            "must be greater than zero".into(),
        ));
    }
    validate_limits(&config.server)?;
    if let Some(cluster) = &config.cluster {
        validate_cluster(cluster, &config.server)?;
    }
    let mut seen = HashSet::new();
    let mut resources = HashSet::new();
    for (index, endpoint) in config.endpoints.iter().enumerate() {
        let key = format!("endpoint[{index}]");
        validate_endpoint(&key, endpoint)?;
        if !seen.insert(endpoint.path.as_str()) {
            return Err((
                format!("{key}.path"),
                format!("{:?} is used by another endpoint", endpoint.path.written()),
            ));
        }
        if let Some(base) = endpoint.sio09_base() {
            let served = if base == "/" {
                "/1".to_string()
            } else {
                format!("{base}/1")
            };
            let shadowed = config
                .endpoints
                .iter()
                .map(|e| e.path.as_str())
                .find(|path| path == &served || path.starts_with(&format!("{served}/")));
            if let Some(path) = shadowed {
                return Err((
                    format!("{key}.resource"),
                    format!(
                        "Socket.IO 0.9 clients are served at {served}/..., which would hide the endpoint {path:?}; set a different resource or socketio09 = false"
                    ),
                ));
            }
            if !resources.insert(base.clone()) {
                return Err((
                    format!("{key}.resource"),
                    format!(
                        "{base:?} already serves another endpoint's Socket.IO 0.9 clients; set a different resource or socketio09 = false"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// `[cluster]`: a prefix that keeps channel names parseable, a peer wait that ends, and an address peers can reach.
fn validate_cluster(cluster: &ClusterConfig, server: &ServerConfig) -> Result<(), Problem> {
    let prefix = &cluster.key_prefix;
    if prefix.is_empty() || prefix.len() > 64 || prefix.contains(['#', '*', '?', '[', ']']) {
        return Err((
            "cluster.key_prefix".into(),
            "must be 1 to 64 characters without '#', '*', '?', '[' or ']'".into(),
        ));
    }
    if cluster.peer_timeout.is_zero() || cluster.peer_timeout > std::time::Duration::from_secs(60) {
        return Err((
            "cluster.peer_timeout".into(),
            "must be greater than zero and at most 60s".into(),
        ));
    }
    if cluster.advertise.is_none() {
        PeerAddress::of_listener(server.listen).map_err(|why| ("cluster.advertise".into(), why))?;
    }
    Ok(())
}

/// The `[server]` limits: each must leave the gateway able to serve.
fn validate_limits(server: &ServerConfig) -> Result<(), Problem> {
    if server.body_timeout.is_zero() {
        return Err((
            "server.body_timeout".into(),
            "must be greater than zero".into(),
        ));
    }
    if server.max_connections == Some(0) {
        return Err((
            "server.max_connections".into(),
            "must be at least 1 (leave it out for the default)".into(),
        ));
    }
    if server.max_sessions == Some(0) {
        return Err((
            "server.max_sessions".into(),
            "must be at least 1 (leave it out for the default)".into(),
        ));
    }
    let head = super::schema::REQUEST_HEAD_RANGE;
    if !head.contains(&server.max_request_head) {
        return Err((
            "server.max_request_head".into(),
            format!(
                "{} is out of range: between {} and {} bytes",
                server.max_request_head,
                head.start(),
                head.end()
            ),
        ));
    }
    Ok(())
}

fn validate_endpoint(key: &str, endpoint: &EndpointConfig) -> Result<(), Problem> {
    let at = |field: &str| format!("{key}.{field}");
    if endpoint.resource.is_some() && endpoint.protocol != Protocol::SocketIo {
        return Err((
            at("resource"),
            "only socket.io endpoints serve Socket.IO 0.9 clients".into(),
        ));
    }
    if let Some(secrets) = &endpoint.secret {
        let list = secrets.to_vec();
        if list.is_empty() || list.iter().any(|s| s.expose().is_empty()) {
            return Err((
                at("secret"),
                "must be a non-empty string or list of non-empty strings".into(),
            ));
        }
    }
    for (index, namespace) in endpoint.namespaces.iter().enumerate() {
        if !namespace.starts_with('/') {
            return Err((
                format!("{key}.namespaces[{index}]"),
                format!("{namespace:?} must start with '/'"),
            ));
        }
    }
    for (name, value) in [
        ("ping_interval", endpoint.ping_interval),
        ("ping_timeout", endpoint.ping_timeout),
        ("connect_timeout", endpoint.connect_timeout),
        ("upgrade_timeout", endpoint.upgrade_timeout),
        ("webhook_timeout", endpoint.webhook_timeout),
        ("webhook_retry_window", endpoint.webhook_retry_window),
    ] {
        if value.is_zero() {
            return Err((at(name), "must be greater than zero".into()));
        }
    }
    if endpoint.ping_interval.saturating_add(endpoint.ping_timeout) > MAX_HEARTBEAT {
        return Err((
            at("ping_interval"),
            format!(
                "ping_interval + ping_timeout must be at most {}ms (about 24 days): clients' timers wait no longer",
                MAX_HEARTBEAT.as_millis()
            ),
        ));
    }
    if endpoint.poll_coalesce > MAX_POLL_COALESCE {
        return Err((
            at("poll_coalesce"),
            format!(
                "must be at most {}ms: it delays replies to polling clients by up to this much",
                MAX_POLL_COALESCE.as_millis()
            ),
        ));
    }
    if endpoint.max_payload == 0 {
        return Err((at("max_payload"), "must be greater than zero".into()));
    }
    if endpoint.max_buffered_packets == 0 {
        return Err((
            at("max_buffered_packets"),
            "must be greater than zero".into(),
        ));
    }
    if endpoint.max_pending_hooks == 0 {
        return Err((at("max_pending_hooks"), "must be greater than zero".into()));
    }
    if endpoint.max_retrying_hooks == 0 {
        return Err((at("max_retrying_hooks"), "must be greater than zero".into()));
    }
    check_limit(&at("max_buffer"), endpoint.max_buffer, MAX_BUFFER_LIMIT)?;
    check_limit(
        &at("max_namespace_length"),
        endpoint.max_namespace_length,
        MAX_NAMESPACE_LENGTH_LIMIT,
    )?;
    for (index, namespace) in endpoint.namespaces.iter().enumerate() {
        if !crate::glob::is_pattern(namespace) && namespace.len() > endpoint.max_namespace_length {
            return Err((
                format!("{key}.namespaces[{index}]"),
                format!(
                    "is {} bytes long, more than max_namespace_length ({}): clients could never connect to it",
                    namespace.len(),
                    endpoint.max_namespace_length
                ),
            ));
        }
    }
    if let Some(recovery) = &endpoint.recovery {
        if endpoint.protocol != Protocol::SocketIo {
            return Err((
                at("recovery"),
                "only socket.io endpoints recover connections".into(),
            ));
        }
        if recovery.max_disconnection.is_zero() {
            return Err((
                at("recovery.max_disconnection"),
                "must be greater than zero".into(),
            ));
        }
        check_limit(
            &at("recovery.max_buffer"),
            recovery.max_buffer,
            MAX_BUFFER_LIMIT,
        )?;
    }
    if endpoint.transports.is_empty() {
        return Err((
            at("transports"),
            "must list at least one of \"polling\", \"websocket\"".into(),
        ));
    }
    Ok(())
}

/// The largest `max_buffer` accepted: a per-session bound above 1 GiB bounds nothing a server could hold for
/// many sessions.
const MAX_BUFFER_LIMIT: usize = 1 << 30;

/// The longest `ping_interval + ping_timeout`: JavaScript timers (and so browser and Node clients) wait at most
/// 2^31 - 1 ms, and the sessions' deadlines are kept to that range (see `engineio::session::timer::ShortTick`).
const MAX_HEARTBEAT: Duration = Duration::from_millis((1 << 31) - 1);

/// The longest `poll_coalesce`: a reply held longer than this would read as a slow server.
const MAX_POLL_COALESCE: Duration = Duration::from_millis(100);

/// The largest `max_namespace_length` accepted: names are identifiers that every webhook and log line carries.
const MAX_NAMESPACE_LENGTH_LIMIT: usize = 64 * 1024;

/// A per-session limit: above zero and at most `most`.
fn check_limit(key: &str, value: usize, most: usize) -> Result<(), Problem> {
    if value == 0 {
        return Err((key.to_string(), "must be greater than zero".into()));
    }
    if value > most {
        return Err((
            key.to_string(),
            format!("{value} is absurd for a per-session limit; at most {most}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
use super::normalize_path;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_path("/a/b/"), "/a/b");
        assert_eq!(normalize_path("/"), "/");
        assert_eq!(normalize_path("/x"), "/x");
    }

    #[test]
    fn rejects_bad_webhook_and_duplicate_paths() {
        let base = "[[endpoint]]\npath = \"/a\"\nwebhook = \"ftp://x\"\n";
        let err = super::super::parse_str("t", base, &|_| None).unwrap_err();
        assert_eq!(err.key, "endpoint[0].webhook");
        let dup = "[[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\n[[endpoint]]\npath = \"/a/\"\nwebhook = \"http://h/\"\n";
        let err = super::super::parse_str("t", dup, &|_| None).unwrap_err();
        assert_eq!(err.key, "endpoint[1].path");
    }

    #[test]
    fn session_limits_are_checked() {
        let parse = |extra: &str| {
            let toml = format!("[[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\n{extra}\n");
            super::super::parse_str("t", &toml, &|_| None)
        };
        let config = parse("").unwrap();
        assert_eq!(config.endpoints[0].max_buffer, 1_048_576);
        assert_eq!(config.endpoints[0].max_namespace_length, 256);
        for (extra, key) in [
            ("max_buffer = 0", "endpoint[0].max_buffer"),
            ("max_buffer = 2147483648", "endpoint[0].max_buffer"),
            (
                "max_namespace_length = 0",
                "endpoint[0].max_namespace_length",
            ),
            (
                "max_namespace_length = 1000000",
                "endpoint[0].max_namespace_length",
            ),
            (
                "max_namespace_length = 4\nnamespaces = [\"/\", \"/tenant-*\", \"/chat\"]",
                "endpoint[0].namespaces[2]",
            ),
        ] {
            let err = parse(extra).unwrap_err();
            assert_eq!(err.key, key, "{extra}");
        }
        // A glob may be longer than the bound: it matches names within it.
        assert!(parse("max_namespace_length = 4\nnamespaces = [\"/\", \"/tenant-*\"]").is_ok());
    }

    #[test]
    fn socketio09_resources_are_checked() {
        let parse = |toml: &str| super::super::parse_str("t", toml, &|_| None);
        let engine = "[[endpoint]]\npath = \"/e\"\nprotocol = \"engine.io\"\nwebhook = \"http://h/\"\nresource = \"x\"\n";
        let err = parse(engine).unwrap_err();
        assert_eq!(err.key, "endpoint[0].resource");
        let odd = "[[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\nresource = \"a?b\"\n";
        assert_eq!(parse(odd).unwrap_err().key, "endpoint[0].resource");
        // Two endpoints cannot serve 0.9 clients at one resource; the default resource is the path.
        let clash = "[[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\n[[endpoint]]\npath = \"/b\"\nwebhook = \"http://h/\"\nresource = \"/a/\"\n";
        let err = parse(clash).unwrap_err();
        assert_eq!(err.key, "endpoint[1].resource");
        assert!(
            err.message.contains("socketio09 = false"),
            "{}",
            err.message
        );
        let shadow = "[[endpoint]]\npath = \"/api/1/x\"\nwebhook = \"http://h/\"\n[[endpoint]]\npath = \"/b\"\nwebhook = \"http://h/\"\nresource = \"api\"\n";
        let err = parse(shadow).unwrap_err();
        assert_eq!(err.key, "endpoint[1].resource");
        assert!(err.message.contains("/api/1/x"), "{}", err.message);
        let config = parse("[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://h/\"\nresource = \"myApp/server.js\"\n[[endpoint]]\npath = \"/b\"\nwebhook = \"http://h/\"\nsocketio09 = false\n").unwrap();
        assert_eq!(
            config.endpoints[0].sio09_base().as_deref(),
            Some("/myApp/server.js")
        );
        assert_eq!(config.endpoints[1].sio09_base(), None);
    }
}
