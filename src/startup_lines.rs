//! What `iogate` says when it starts: one line per endpoint (path, protocol, webhook URL, transports, recovery
//! when on), the push API's address when configured, and the address clients connect to. Webhook URLs are shown
//! without credentials; secrets never appear.

use crate::config::{Config, EndpointConfig, Protocol, Transport};
use std::net::SocketAddr;

/// The startup lines of `config` served on `address`, with the push API on `api_address`.
pub fn lines(config: &Config, address: SocketAddr, api_address: Option<SocketAddr>) -> Vec<String> {
    let mut lines: Vec<String> = config.endpoints.iter().map(endpoint_line).collect();
    if let Some(api) = api_address {
        lines.push(format!(
            "push API on http://{api} (/v1/..., /metrics; bearer token required)"
        ));
    }
    lines.push(format!(
        "iogate listening on http://{address} ({} endpoint(s))",
        config.endpoints.len()
    ));
    lines
}

/// `endpoint /socket.io: socket.io, webhook http://127.0.0.1:5000/iogate, transports polling+websocket, ...`.
fn endpoint_line(endpoint: &EndpointConfig) -> String {
    let protocol = match endpoint.protocol {
        Protocol::SocketIo => "socket.io",
        Protocol::EngineIo => "engine.io",
    };
    let transports = endpoint
        .transports
        .iter()
        .map(|transport| match transport {
            Transport::Polling => "polling",
            Transport::Websocket => "websocket",
        })
        .collect::<Vec<_>>()
        .join("+");
    let mut line = format!(
        "endpoint {}: {protocol}, webhook {}, transports {transports}",
        endpoint.path.as_str(),
        endpoint.webhook.redacted()
    );
    if endpoint.secret.is_none() {
        line.push_str(", unsigned");
    }
    if !endpoint.route.is_empty() {
        line.push_str(&format!(", {} route(s)", endpoint.route.len()));
    }
    if let Some(recovery) = &endpoint.recovery {
        line.push_str(&format!(
            ", recovery up to {}",
            humantime::format_duration(recovery.max_disconnection)
        ));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        crate::config::parse_str("t.toml", text, &|_| None).expect("valid config")
    }

    #[test]
    fn each_endpoint_then_the_api_then_the_listener() {
        let config = parse(
            "[api]\nlisten = \"127.0.0.1:8081\"\ntoken = \"t0ken-SECRET\"\n\
             [[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://u:url-PASSWORD@127.0.0.1:5000/iogate\"\n\
             secret = \"signing-SECRET\"\n[endpoint.recovery]\nmax_disconnection = \"2m\"\n\
             [[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"http://127.0.0.1:5000/eio\"\n\
             transports = [\"websocket\"]\n",
        );
        let address: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let api: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        let lines = lines(&config, address, Some(api));
        assert_eq!(
            lines,
            [
                "endpoint /socket.io: socket.io, webhook http://127.0.0.1:5000/iogate, transports polling+websocket, recovery up to 2m",
                "endpoint /engine.io: engine.io, webhook http://127.0.0.1:5000/eio, transports websocket, unsigned",
                "push API on http://127.0.0.1:8081 (/v1/..., /metrics; bearer token required)",
                "iogate listening on http://127.0.0.1:8080 (2 endpoint(s))",
            ]
        );
        assert!(
            lines
                .iter()
                .all(|line| !line.contains("SECRET") && !line.contains("PASSWORD"))
        );
    }

    #[test]
    fn no_api_line_without_an_api() {
        let config =
            parse("[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"http://127.0.0.1:5000/\"\n");
        let lines = lines(&config, "127.0.0.1:8080".parse().unwrap(), None);
        assert_eq!(lines.len(), 2);
        assert!(!lines.iter().any(|line| line.contains("push API")));
    }
}
