//! The whole one-line error a user sees for each bad value that config loading turns into a type (CIDR blocks,
//! webhook URLs, resource paths, secrets, the API token), pinned byte for byte.

use super::parse_str;

const ENDPOINT: &str = "[[endpoint]]\npath = \"/a\"\nwebhook = \"http://h/\"\n";

/// The error `text` is refused with, as printed.
fn refusal(text: &str) -> String {
    match parse_str("t.toml", text, &|_| None) {
        Ok(_) => panic!("accepted: {text}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn trusted_proxies() {
    for (entry, printed) in [
        (
            "\"nope\"",
            "t.toml: server.trusted_proxies[1]: \"nope\" is not an IP address or CIDR block",
        ),
        (
            "\"10.0.0.0/33\"",
            "t.toml: server.trusted_proxies[1]: \"10.0.0.0/33\" has a bad prefix length",
        ),
        (
            "\"::1/x\"",
            "t.toml: server.trusted_proxies[1]: \"::1/x\" has a bad prefix length",
        ),
        (
            "7",
            "t.toml: server.trusted_proxies[1]: invalid type: integer `7`, expected a string",
        ),
    ] {
        let text = format!("[server]\ntrusted_proxies = [\"10.0.0.0/8\", {entry}]\n{ENDPOINT}");
        assert_eq!(refusal(&text), printed);
    }
}

#[test]
fn webhook_urls() {
    for (url, printed) in [
        (
            "\"ftp://x\"",
            "t.toml: endpoint[0].webhook: \"ftp://x\" must be an http or https URL",
        ),
        (
            "\"not a url\"",
            "t.toml: endpoint[0].webhook: \"not a url\" is not a URL (relative URL without a base)",
        ),
        (
            "\"http://\"",
            "t.toml: endpoint[0].webhook: \"http://\" is not a URL (empty host)",
        ),
        (
            "1",
            "t.toml: endpoint[0].webhook: invalid type: integer `1`, expected a string",
        ),
    ] {
        let text = format!("[[endpoint]]\npath = \"/a\"\nwebhook = {url}\n");
        assert_eq!(refusal(&text), printed);
    }
    let route = format!("{ENDPOINT}[[endpoint.route]]\nevent = \"x\"\nwebhook = \"mailto:a@b\"\n");
    assert_eq!(
        refusal(&route),
        "t.toml: endpoint[0].route[0].webhook: \"mailto:a@b\" must be an http or https URL"
    );
}

#[test]
fn paths_and_resources() {
    for (lines, printed) in [
        (
            "path = \"a\"",
            "t.toml: endpoint[0].path: \"a\" must start with '/'",
        ),
        (
            "path = \"/a?b\"",
            "t.toml: endpoint[0].path: \"/a?b\" must be a plain path",
        ),
        (
            "path = \"/a b\"",
            "t.toml: endpoint[0].path: \"/a b\" must be a plain path",
        ),
        (
            "path = 3",
            "t.toml: endpoint[0].path: invalid type: integer `3`, expected a string",
        ),
        (
            "path = \"/a\"\nresource = \"x#y\"",
            "t.toml: endpoint[0].resource: \"x#y\" must be a plain path such as \"myApp/server.js\"",
        ),
        (
            "path = \"/a\"\nprotocol = \"engine.io\"\nresource = \"x\"",
            "t.toml: endpoint[0].resource: only socket.io endpoints serve Socket.IO 0.9 clients",
        ),
    ] {
        let text = format!("[[endpoint]]\n{lines}\nwebhook = \"http://h/\"\n");
        assert_eq!(refusal(&text), printed);
    }
    let twice = format!("{ENDPOINT}[[endpoint]]\npath = \"/a//\"\nwebhook = \"http://h/\"\n");
    assert_eq!(
        refusal(&twice),
        "t.toml: endpoint[1].path: \"/a//\" is used by another endpoint"
    );
    let shared = format!(
        "{ENDPOINT}[[endpoint]]\npath = \"/b\"\nwebhook = \"http://h/\"\nresource = \"a/\"\n"
    );
    assert_eq!(
        refusal(&shared),
        "t.toml: endpoint[1].resource: \"/a\" already serves another endpoint's Socket.IO 0.9 clients; set a different resource or socketio09 = false"
    );
    let hidden = format!(
        "{ENDPOINT}[[endpoint]]\npath = \"/\"\nwebhook = \"http://h/\"\nsocketio09 = true\n[[endpoint]]\npath = \"/1/x/\"\nwebhook = \"http://h/\"\nsocketio09 = false\n"
    );
    assert_eq!(
        refusal(&hidden),
        "t.toml: endpoint[1].resource: Socket.IO 0.9 clients are served at /1/..., which would hide the endpoint \"/1/x\"; set a different resource or socketio09 = false"
    );
}

#[test]
fn secrets_and_token() {
    for (secret, printed) in [
        (
            "\"\"",
            "t.toml: endpoint[0].secret: must be a non-empty string or list of non-empty strings",
        ),
        (
            "[]",
            "t.toml: endpoint[0].secret: must be a non-empty string or list of non-empty strings",
        ),
        (
            "[\"a\", \"\"]",
            "t.toml: endpoint[0].secret: must be a non-empty string or list of non-empty strings",
        ),
        (
            "5",
            "t.toml: endpoint[0].secret: data did not match any variant of untagged enum Secrets",
        ),
    ] {
        let text = format!("{ENDPOINT}secret = {secret}\n");
        assert_eq!(refusal(&text), printed);
    }
    for (token, printed) in [
        ("\" \"", "t.toml: api.token: must not be empty"),
        (
            "5",
            "t.toml: api.token: invalid type: integer `5`, expected a string",
        ),
    ] {
        let text = format!("[api]\ntoken = {token}\n{ENDPOINT}");
        assert_eq!(refusal(&text), printed);
    }
    assert_eq!(
        refusal(&format!("[api]\n{ENDPOINT}")),
        "t.toml: api: missing field `token`"
    );
}

#[test]
fn cluster_section() {
    for (section, printed) in [
        (
            "redis = \"http://h:6379\"",
            "t.toml: cluster.redis: \"http://h:6379/\" must be a redis:// URL",
        ),
        (
            "redis = \"redis://:pw@h\"\nnode_id = \"a b\"",
            "t.toml: cluster.node_id: \"a b\" must be 1 to 64 letters, digits, '.', '_' or '-'",
        ),
        (
            "redis = \"redis://h\"\nadvertise = \"https://h:1\"",
            "t.toml: cluster.advertise: \"https://h:1\" must be an http:// URL (nodes reach each other's public listener directly)",
        ),
        (
            "redis = \"redis://h\"\nkey_prefix = \"a#b\"",
            "t.toml: cluster.key_prefix: must be 1 to 64 characters without '#', '*', '?', '[' or ']'",
        ),
        (
            "redis = \"redis://h\"\npeer_timeout = \"0s\"",
            "t.toml: cluster.peer_timeout: must be greater than zero and at most 60s",
        ),
        ("node_id = \"a\"", "t.toml: cluster: missing field `redis`"),
    ] {
        let text =
            format!("[server]\nlisten = \"127.0.0.1:8080\"\n{ENDPOINT}[cluster]\n{section}\n");
        assert_eq!(refusal(&text), printed);
    }
    let unreachable = format!(
        "[server]\nlisten = \"0.0.0.0:8080\"\n{ENDPOINT}[cluster]\nredis = \"redis://h\"\n"
    );
    assert_eq!(
        refusal(&unreachable),
        "t.toml: cluster.advertise: the listen address 0.0.0.0:8080 is not one peers can reach: set advertise = \"http://<this node's address>:8080\""
    );
    let fine = format!(
        "[server]\nlisten = \"0.0.0.0:8080\"\n{ENDPOINT}[cluster]\nredis = \"redis://:pw@h\"\nadvertise = \"http://10.0.0.5:8080\"\n"
    );
    let config = parse_str("t.toml", &fine, &|_| None).expect("a cluster config");
    let cluster = config.cluster.expect("the section");
    assert_eq!(cluster.key_prefix, "socket.io");
    assert_eq!(cluster.peer_timeout, std::time::Duration::from_secs(2));
    assert!(!format!("{cluster:?}").contains("pw@"));
}

#[test]
fn recovery_settings() {
    for (recovery, printed) in [
        (
            "{ max_disconnection = \"0s\" }",
            "t.toml: endpoint[0].recovery.max_disconnection: must be greater than zero",
        ),
        (
            "{ max_disconnection = \"soon\" }",
            "t.toml: endpoint[0].recovery.max_disconnection: invalid duration \"soon\" (expected number at 0); write it like \"300ms\", \"25s\" or \"2m\"",
        ),
        (
            "{ max_buffer = 0 }",
            "t.toml: endpoint[0].recovery.max_buffer: must be greater than zero",
        ),
        (
            "{ max_buffer = 2147483648 }",
            "t.toml: endpoint[0].recovery.max_buffer: 2147483648 is absurd for a per-session limit; at most 1073741824",
        ),
        (
            "{ offsets = \"sometimes\" }",
            "t.toml: endpoint[0].recovery.offsets: unknown variant `sometimes`, expected `marked` or `always`",
        ),
        (
            "{ skip_connect_hook = \"yes\" }",
            "t.toml: endpoint[0].recovery.skip_connect_hook: invalid type: string \"yes\", expected a boolean",
        ),
        (
            "{ max_backlog = 1 }",
            "t.toml: endpoint[0].recovery.max_backlog: unknown field `max_backlog`, expected one of `max_disconnection`, `skip_connect_hook`, `max_buffer`, `offsets`",
        ),
    ] {
        let text = format!("{ENDPOINT}recovery = {recovery}\n");
        assert_eq!(refusal(&text), printed, "{recovery}");
    }
    let engine_io = format!("{ENDPOINT}protocol = \"engine.io\"\nrecovery = {{}}\n");
    assert_eq!(
        refusal(&engine_io),
        "t.toml: endpoint[0].recovery: only socket.io endpoints recover connections"
    );
    let fine = format!(
        "{ENDPOINT}recovery = {{ max_disconnection = \"30s\", skip_connect_hook = true, max_buffer = 4096, offsets = \"always\" }}\n"
    );
    let config = parse_str("t.toml", &fine, &|_| None).expect("valid recovery");
    let recovery = config.endpoints[0].recovery.as_ref().expect("recovery");
    assert_eq!(
        recovery.max_disconnection,
        std::time::Duration::from_secs(30)
    );
    assert!(recovery.skip_connect_hook);
    assert_eq!(recovery.max_buffer, 4096);
    assert_eq!(recovery.offsets, super::OffsetsMode::Always);
    let defaults =
        parse_str("t.toml", &format!("{ENDPOINT}recovery = {{}}\n"), &|_| None).expect("defaults");
    let recovery = defaults.endpoints[0].recovery.as_ref().expect("recovery");
    assert_eq!(
        recovery.max_disconnection,
        std::time::Duration::from_secs(120)
    );
    assert!(!recovery.skip_connect_hook);
    assert_eq!(recovery.max_buffer, 1_048_576);
    assert_eq!(recovery.offsets, super::OffsetsMode::Marked);
    assert!(
        parse_str("t.toml", ENDPOINT, &|_| None).unwrap().endpoints[0]
            .recovery
            .is_none()
    );
}

#[test]
fn heartbeat_bounds() {
    assert_eq!(
        refusal(&format!(
            "{ENDPOINT}ping_interval = \"20days\"\nping_timeout = \"5days\"\n"
        )),
        "t.toml: endpoint[0].ping_interval: ping_interval + ping_timeout must be at most 2147483647ms (about 24 days): clients' timers wait no longer"
    );
    assert!(
        parse_str(
            "t.toml",
            &format!("{ENDPOINT}ping_interval = \"20days\"\nping_timeout = \"4days\"\n"),
            &|_| None
        )
        .is_ok()
    );
}

#[test]
fn poll_coalesce_bounds() {
    assert_eq!(
        refusal(&format!("{ENDPOINT}poll_coalesce = \"1s\"\n")),
        "t.toml: endpoint[0].poll_coalesce: must be at most 100ms: it delays replies to polling clients by up to this much"
    );
    assert!(
        parse_str(
            "t.toml",
            &format!("{ENDPOINT}poll_coalesce = \"0s\"\n"),
            &|_| None
        )
        .is_ok()
    );
    let defaults =
        parse_str("t.toml", ENDPOINT, &|_| None).map(|config| config.endpoints[0].poll_coalesce);
    assert_eq!(defaults.ok(), Some(std::time::Duration::from_millis(1)));
}
