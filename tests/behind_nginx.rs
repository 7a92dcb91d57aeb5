//! iogate behind a real nginx, configured the way DEPLOY.md tells operators to: the public path `/myApp/socket/`
//! proxied to iogate's `/inside/socket/` with HTTP/1.1, the Upgrade/Connection headers, X-Forwarded-For/Proto and
//! nginx's default response buffering (iogate's `X-Accel-Buffering: no` must be enough). The real npm
//! socket.io-client talks to nginx only, over polling, WebSocket, and polling upgraded to WebSocket, and the
//! backend's hooks must show the client nginx saw. Needs nginx (`apt-get install -y nginx`) and
//! `npm ci --prefix tests/clients`; without them these tests fail, they never skip.

use crate::common;
use common::nginx::Nginx;
use common::{Backend, Gateway, Hook, Reply, eio, node};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::Duration;

/// How long one client script may run (its own overall timeout is 15 s).
const SCRIPT_LIMIT: Duration = Duration::from_secs(25);

/// How long a client stays connected: several heartbeats at [`PING_INTERVAL`] cross nginx meanwhile, and a
/// heartbeat lost on the way would end the session within [`PING_TIMEOUT`], failing the client.
const HOLD: Duration = Duration::from_millis(2000);

/// The gateway's ping interval, short so that heartbeats happen during [`HOLD`].
const PING_INTERVAL: &str = "200ms";

/// The gateway's ping timeout, well under [`HOLD`].
const PING_TIMEOUT: &str = "1s";

/// The path clients use at nginx, and the one nginx proxies it to.
const PUBLIC_PATH: &str = "/myApp/socket";
const INSIDE_PATH: &str = "/inside/socket";

/// Where nginx connects from when a test wants nginx's address to differ from the client's.
const NGINX_SOURCE: &str = "127.0.0.3";

/// The site: [`PUBLIC_PATH`] proxied to [`INSIDE_PATH`] at `upstream`, listening on 127.0.0.1:`port`.
/// `proxy_bind` (when given) is the address nginx connects to iogate from. Response buffering stays at nginx's
/// default (on).
fn proxied_site(port: u16, upstream: SocketAddr, proxy_bind: Option<&str>) -> String {
    let bind = proxy_bind
        .map(|address| format!("proxy_bind {address};"))
        .unwrap_or_default();
    format!(
        r#"    map $http_upgrade $connection_upgrade {{
        default upgrade;
        '' close;
    }}
    server {{
        listen 127.0.0.1:{port};
        location {PUBLIC_PATH}/ {{
            proxy_pass http://{upstream}{INSIDE_PATH}/;
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            {bind}
        }}
    }}"#
    )
}

/// Starts nginx in front of `upstream` ([`proxied_site`]).
fn start_nginx(upstream: SocketAddr, proxy_bind: Option<&str>) -> Nginx {
    Nginx::start(|port| proxied_site(port, upstream, proxy_bind))
}

/// The URL a client is given: the public path at nginx, without the trailing slash the client adds.
fn client_url(nginx: &Nginx) -> String {
    nginx.url(PUBLIC_PATH)
}

/// The backend: accepts every connect, acks `echo` with the args it got and `ping` with `"pong"`.
fn respond(hook: &Hook) -> Reply {
    match (hook.event.as_str(), hook.body["event"].as_str()) {
        ("event", Some("echo")) => Reply::json(json!({ "ack": hook.body["args"] })),
        ("event", Some("ping")) => Reply::json(json!({ "ack": ["pong"] })),
        _ => Reply::ok(""),
    }
}

/// A gateway with a socket.io endpoint at [`INSIDE_PATH`] relaying to `backend`, trusting `trusted`, pinging
/// every [`PING_INTERVAL`] with [`PING_TIMEOUT`].
async fn gateway(backend: &Backend, trusted: &str) -> Gateway {
    Gateway::start(&format!(
        "[server]\ntrusted_proxies = [\"{trusted}\"]\n\n[[endpoint]]\npath = \"{INSIDE_PATH}\"\nprotocol = \"socket.io\"\nwebhook = \"{}\"\nping_interval = \"{PING_INTERVAL}\"\nping_timeout = \"{PING_TIMEOUT}\"\n",
        backend.url()
    ))
    .await
}

/// Runs `socketio/proxied.js` through `nginx` in `mode`, staying connected for [`HOLD`] (with a spoofed
/// X-Forwarded-For when given).
async fn run_client(nginx: &Nginx, mode: &str, spoofed_for: Option<&str>) -> Value {
    let url = client_url(nginx);
    let hold = HOLD.as_millis().to_string();
    let mut args = vec![url.as_str(), mode, hold.as_str()];
    args.extend(spoofed_for);
    let run = node::run("socketio/proxied.js", &args, SCRIPT_LIMIT).await;
    if run.code != Some(0) || run.timed_out {
        panic!(
            "the client failed through nginx (exit {:?}, timed out: {}):\n--- stdout\n{}\n--- stderr\n{}\n--- nginx error log\n{}\n--- nginx access log\n{}",
            run.code,
            run.timed_out,
            run.stdout,
            run.stderr,
            nginx.error_log(),
            nginx.access_log()
        );
    }
    run.result()
}

/// The transport a session starts on in `mode`.
fn first_transport(mode: &str) -> &'static str {
    if mode == "websocket" {
        "websocket"
    } else {
        "polling"
    }
}

/// The transport a session ends on in `mode`.
fn last_transport(mode: &str) -> &'static str {
    if mode == "polling" {
        "polling"
    } else {
        "websocket"
    }
}

/// Checks the hooks of the client's socket `sid`: a connect whose handshake shows the client as nginx forwarded
/// it, the echo event, and the disconnect the client asked for. Returns the connect hook's handshake.
async fn check_hooks(backend: &Backend, sid: &str, mode: &str) -> Value {
    let connect = backend.wait_for("connect", Some(sid), 1).await;
    assert_eq!(connect.len(), 1, "one connect hook for {sid}");
    let handshake = connect[0].body["handshake"].clone();
    assert_eq!(
        handshake["address"], "127.0.0.1",
        "handshake.address must be the client nginx forwarded for: {handshake}"
    );
    assert_eq!(
        handshake["secure"], false,
        "nginx served plain http: {handshake}"
    );
    assert_eq!(handshake["transport"], first_transport(mode), "{handshake}");
    assert_eq!(
        handshake["headers"]["x-forwarded-proto"], "http",
        "nginx's X-Forwarded-Proto reached iogate: {handshake}"
    );
    assert_eq!(handshake["query"]["EIO"], "4", "{handshake}");
    assert_eq!(connect[0].body["auth"], json!({"token": "proxied"}));

    let events: Vec<Hook> = backend
        .hooks_of("event")
        .into_iter()
        .filter(|h| h.body["sid"] == sid && h.body["event"] == "echo")
        .collect();
    assert_eq!(events.len(), 1, "one echo event hook");
    assert_eq!(events[0].body["ack"], true);
    assert_eq!(
        events[0].body["args"],
        json!(["héllo € 😀", 42, {"nested": [true, null, "x"]}])
    );

    let disconnect = backend.wait_for("disconnect", Some(sid), 1).await;
    assert_eq!(disconnect[0].body["reason"], "client namespace disconnect");
    handshake
}

/// The whole scenario in `mode` with the gateway trusting nginx at 127.0.0.1, where the client also is.
async fn through_nginx(mode: &str) {
    let backend = Backend::start(respond).await;
    let gateway = gateway(&backend, "127.0.0.1/32").await;
    let nginx = start_nginx(gateway.address, None);

    let result = run_client(&nginx, mode, None).await;
    assert_eq!(result["transport"], last_transport(mode));
    let sid = result["sid"].as_str().expect("RESULT has the sid");
    let handshake = check_hooks(&backend, sid, mode).await;
    assert_eq!(
        handshake["headers"]["x-forwarded-for"], "127.0.0.1",
        "nginx's X-Forwarded-For reached iogate: {handshake}"
    );
    eio::eventually("the session closed", || gateway.sessions() == 0).await;

    let access = nginx.access_log();
    assert!(
        access.contains(&format!("{PUBLIC_PATH}/?EIO=4&transport=")),
        "the client went through nginx at {PUBLIC_PATH}/:\n{access}"
    );
    if mode == "polling" {
        // Each ping is a poll answered with the one byte `2`.
        let pings = access
            .lines()
            .filter(|line| {
                line.contains("\"GET ") && line.contains("&sid=") && line.contains("\" 200 1 ")
            })
            .count();
        assert!(
            pings >= 5,
            "heartbeats went through nginx (got {pings} pings):\n{access}"
        );
    } else {
        assert!(
            access.contains("transport=websocket") && access.contains("\" 101 "),
            "a WebSocket went through nginx:\n{access}"
        );
    }
}

#[tokio::test]
async fn socketio_client_over_polling_through_nginx() {
    through_nginx("polling").await;
}

#[tokio::test]
async fn socketio_client_over_websocket_through_nginx() {
    through_nginx("websocket").await;
}

#[tokio::test]
async fn socketio_client_upgrading_through_nginx() {
    through_nginx("upgrade").await;
}

/// nginx connects to iogate from another address than the client's, so the hook's address can only be the
/// client's if iogate believed nginx's X-Forwarded-For; and the client's own X-Forwarded-For, which nginx
/// appends to, must not be believed: the client is not a trusted proxy.
async fn spoofed_through_nginx(mode: &str) {
    let backend = Backend::start(respond).await;
    let gateway = gateway(&backend, &format!("{NGINX_SOURCE}/32")).await;
    let nginx = start_nginx(gateway.address, Some(NGINX_SOURCE));

    let result = run_client(&nginx, mode, Some("198.51.100.1")).await;
    let sid = result["sid"].as_str().expect("RESULT has the sid");
    let handshake = check_hooks(&backend, sid, mode).await;
    assert_eq!(
        handshake["headers"]["x-forwarded-for"], "198.51.100.1, 127.0.0.1",
        "nginx appended the client to its spoofed X-Forwarded-For: {handshake}"
    );
    eio::eventually("the session closed", || gateway.sessions() == 0).await;
}

#[tokio::test]
async fn forwarded_for_believed_from_nginx_and_not_from_the_client_over_polling() {
    spoofed_through_nginx("polling").await;
}

#[tokio::test]
async fn forwarded_for_believed_from_nginx_and_not_from_the_client_over_websocket() {
    spoofed_through_nginx("websocket").await;
}

/// A gateway trusting nginx (at [`NGINX_SOURCE`]) with the endpoint nginx exposes at [`INSIDE_PATH`] and one it
/// does not, `/hidden` (an engine.io endpoint relaying elsewhere, with its own ping interval); `server` adds
/// `[server]` lines.
async fn gateway_with_hidden(exposed: &Backend, hidden: &Backend, server: &str) -> Gateway {
    Gateway::start(&format!(
        "[server]\ntrusted_proxies = [\"{NGINX_SOURCE}/32\"]\n{server}\n\n[[endpoint]]\npath = \"{INSIDE_PATH}\"\nwebhook = \"{}\"\nping_interval = \"{PING_INTERVAL}\"\nping_timeout = \"{PING_TIMEOUT}\"\n\n[[endpoint]]\npath = \"/hidden\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\nping_interval = \"7s\"\n",
        exposed.url(),
        hidden.url()
    ))
    .await
}

/// GET `path_and_query` at nginx with `headers`.
async fn get_through(nginx: &Nginx, path_and_query: &str, headers: &[(&str, &str)]) -> eio::Answer {
    let mut request = eio::http().get(format!("http://127.0.0.1:{}{path_and_query}", nginx.port));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    eio::answer(request.send().await.expect("GET through nginx")).await
}

/// nginx sets X-Forwarded-For and X-Forwarded-Proto and passes the client's own `Forwarded` through: a client
/// that writes `Forwarded: for=6.6.6.6;proto=https` must not become 6.6.6.6 over HTTPS in its connect hook.
#[tokio::test]
async fn a_clients_own_forwarded_header_does_not_pass_nginx() {
    let backend = Backend::start(respond).await;
    let hidden = Backend::echo().await;
    let gateway = gateway_with_hidden(&backend, &hidden, "").await;
    let nginx = start_nginx(gateway.address, Some(NGINX_SOURCE));
    let spoof = [("forwarded", "for=6.6.6.6;proto=https")];
    let open = get_through(
        &nginx,
        &format!("{PUBLIC_PATH}/?EIO=4&transport=polling"),
        &spoof,
    )
    .await;
    assert_eq!(open.status, 200, "{}", open.text);
    let open: Value = serde_json::from_str(&open.text[1..]).expect("open packet");
    let sid = open["sid"].as_str().expect("sid");
    let url = format!(
        "http://127.0.0.1:{}{PUBLIC_PATH}/?EIO=4&transport=polling&sid={sid}",
        nginx.port
    );
    let posted = eio::answer(
        eio::http()
            .post(&url)
            .header("forwarded", "for=6.6.6.6;proto=https")
            .body("40")
            .send()
            .await
            .expect("POST through nginx"),
    )
    .await;
    assert_eq!(posted.text, "ok");
    let connect = backend.wait_for("connect", None, 1).await;
    let handshake = &connect[0].body["handshake"];
    assert_eq!(
        handshake["headers"]["forwarded"], "for=6.6.6.6;proto=https",
        "the client's header reached iogate, as nginx passes it: {handshake}"
    );
    assert_eq!(handshake["address"], "127.0.0.1", "{handshake}");
    assert_eq!(handshake["secure"], false, "{handshake}");
}

/// nginx passes a client's `X-Original-URL` through: by default it must not route the request to an endpoint
/// nginx does not expose. With `x_original_url = true` (for IIS URL Rewrite, which sets it) it does.
#[tokio::test]
async fn a_clients_own_x_original_url_does_not_reach_a_hidden_endpoint() {
    let exposed = Backend::start(respond).await;
    let hidden = Backend::echo().await;
    let to_hidden = [("x-original-url", "/hidden/?EIO=4&transport=polling")];
    let path = format!("{PUBLIC_PATH}/?EIO=4&transport=polling");

    let gateway = gateway_with_hidden(&exposed, &hidden, "").await;
    let nginx = start_nginx(gateway.address, Some(NGINX_SOURCE));
    let answer = get_through(&nginx, &path, &to_hidden).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let open: Value = serde_json::from_str(&answer.text[1..]).expect("open packet");
    assert_eq!(
        open["pingInterval"], 200,
        "answered by the exposed endpoint, by the request's own path: {open}"
    );
    assert!(
        hidden.hooks().is_empty(),
        "nothing reached the hidden endpoint"
    );
    drop(nginx);

    let iis_style = gateway_with_hidden(&exposed, &hidden, "x_original_url = true").await;
    let nginx = start_nginx(iis_style.address, Some(NGINX_SOURCE));
    let answer = get_through(&nginx, &path, &to_hidden).await;
    let open: Value = serde_json::from_str(&answer.text[1..]).expect("open packet");
    assert_eq!(
        open["pingInterval"], 7000,
        "with x_original_url the header routes: {open}"
    );
}
