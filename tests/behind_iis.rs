//! iogate as IIS runs it, with requests shaped like the ones IIS sends (DEPLOY.md): the ASP.NET Core Module's
//! pairing token (`MS-ASPNETCORE-TOKEN`), the app path base that may or may not be on the path, ANCM's and ARR's
//! forwarded headers (believed from trusted peers only), URL Rewrite's `X-Original-URL`, and the shutdown event
//! (`POST {base}/iisintegration`), in process and with the real binary started the way ANCM starts it
//! (`ASPNETCORE_PORT`, `ASPNETCORE_TOKEN`, `ASPNETCORE_APPL_PATH`).

use crate::common;
use common::{Backend, Hook, Reply, eio};
use iogate::config::parse_str;
use iogate::gateway::{Running, start_with};
use iogate::server::iis::IisSettings;
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The pairing token ANCM hands the process (`ASPNETCORE_TOKEN`) and sends on every request.
const TOKEN: &str = "tok";

/// The IIS application's virtual path (`ASPNETCORE_APPL_PATH`).
const BASE: &str = "/myApp";

/// How long the real binary may take to drain and exit after the shutdown event.
const EXIT_LIMIT: Duration = Duration::from_secs(5);

/// ANCM's forwarded headers for a client at `[fe80::1%6]:63354` over HTTPS.
const ANCM_FORWARDED: [(&str, &str); 2] = [
    ("x-forwarded-for", "[fe80::1%6]:63354"),
    ("x-forwarded-proto", "https"),
];

/// ANCM's settings: the token and the path base.
fn ancm() -> IisSettings {
    IisSettings {
        token: Some(TOKEN.to_string()),
        path_base: Some(BASE.to_string()),
    }
}

/// Config text: an engine.io endpoint at `{prefix}/socket` and a socket.io one at `{prefix}/sio`, both relaying to
/// `webhook`; `server` holds extra `[server]` lines.
fn config_text(webhook: &str, prefix: &str, server: &str) -> String {
    format!(
        "[server]\n{server}\n\n\
         [[endpoint]]\npath = \"{prefix}/socket\"\nprotocol = \"engine.io\"\nwebhook = \"{webhook}\"\n\n\
         [[endpoint]]\npath = \"{prefix}/sio\"\nprotocol = \"socket.io\"\nwebhook = \"{webhook}\"\n"
    )
}

/// Starts iogate in process on an ephemeral loopback port with `iis` settings, trusting `trusted` (TOML list
/// items), endpoints under `prefix`.
async fn start(backend: &Backend, trusted: &str, prefix: &str, iis: IisSettings) -> Running {
    start_configured(
        backend,
        &format!("trusted_proxies = [{trusted}]"),
        prefix,
        iis,
    )
    .await
}

/// Starts iogate behind ARR with URL Rewrite as `deploy-iis.md` configures it: ARR on loopback trusted, and
/// `X-Original-URL` honoured (`x_original_url = true`); endpoints under `prefix`.
async fn start_behind_arr(backend: &Backend, prefix: &str) -> Running {
    let server = "trusted_proxies = [\"127.0.0.1/32\"]\nx_original_url = true";
    start_configured(backend, server, prefix, IisSettings::default()).await
}

/// Starts iogate in process on an ephemeral loopback port with `iis` settings and `[server]` lines `server`.
async fn start_configured(
    backend: &Backend,
    server: &str,
    prefix: &str,
    iis: IisSettings,
) -> Running {
    let text = config_text(
        &backend.url(),
        prefix,
        &format!("listen = \"127.0.0.1:0\"\n{server}"),
    );
    let config = parse_str("iis.toml", &text, &|_| None).expect("valid test config");
    start_with(&config, iis).await.expect("gateway starts")
}

/// Accepts every hook: engine.io sessions open, socket.io sockets connect.
fn accept(_hook: &Hook) -> Reply {
    Reply::ok("")
}

/// An HTTP client that sends the same extra headers (token, forwarding headers) on every request.
struct Client {
    origin: String,
    headers: Vec<(String, String)>,
}

impl Client {
    /// A client of `address` sending `headers` with each request.
    fn new(address: SocketAddr, headers: &[(&str, &str)]) -> Self {
        Self {
            origin: format!("http://{address}"),
            headers: headers
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        }
    }

    /// A client sending ANCM's token and `more` headers.
    fn with_token(address: SocketAddr, more: &[(&str, &str)]) -> Self {
        let mut client = Self::new(address, more);
        client
            .headers
            .push(("ms-aspnetcore-token".to_string(), TOKEN.to_string()));
        client
    }

    fn request(&self, method: reqwest::Method, path_and_query: &str) -> reqwest::RequestBuilder {
        let mut request = eio::http().request(method, format!("{}{path_and_query}", self.origin));
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
        request
    }

    async fn get(&self, path_and_query: &str) -> eio::Answer {
        let response = self
            .request(reqwest::Method::GET, path_and_query)
            .send()
            .await;
        eio::answer(response.expect("GET")).await
    }

    async fn post(&self, path_and_query: &str, body: &str) -> eio::Answer {
        let response = self
            .request(reqwest::Method::POST, path_and_query)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body.to_string())
            .send()
            .await;
        eio::answer(response.expect("POST")).await
    }

    /// An Engine.IO polling handshake at `path` (e.g. `/myApp/socket/`): the new session's sid.
    async fn handshake(&self, path: &str) -> String {
        let answer = self.get(&format!("{path}?EIO=4&transport=polling")).await;
        open_sid(&answer, path)
    }

    /// A socket.io client on the default namespace over polling at `path`: the engine.io sid and the socket id.
    async fn sio_connect(&self, backend: &Backend, path: &str) -> (String, String) {
        let eio_sid = self.handshake(path).await;
        let url = format!("{path}?EIO=4&transport=polling&sid={eio_sid}");
        let posted = self.post(&url, "40").await;
        assert_eq!(
            (posted.status, posted.text.as_str()),
            (200, "ok"),
            "POST 40"
        );
        let reply = self.get(&url).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let json = reply
            .text
            .strip_prefix("40")
            .unwrap_or_else(|| panic!("not a CONNECT reply: {:?}", reply.text));
        let sid: Value = serde_json::from_str(json).expect("CONNECT reply JSON");
        let sid = sid["sid"].as_str().expect("CONNECT reply sid").to_string();
        backend.wait_for("connect", Some(&sid), 1).await;
        (eio_sid, sid)
    }

    /// Opens a WebSocket-only Engine.IO session at `path`, or returns the refusal's status.
    async fn ws_handshake(&self, path: &str) -> Result<String, u16> {
        let url = format!(
            "{}{path}?EIO=4&transport=websocket",
            self.origin.replacen("http", "ws", 1)
        );
        let mut request = url.into_client_request().expect("WebSocket request");
        for (name, value) in &self.headers {
            request.headers_mut().insert(
                http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                http::HeaderValue::from_str(value).expect("header value"),
            );
        }
        match tokio_tungstenite::connect_async(request).await {
            Ok((mut ws, _)) => {
                let first = eio::next_text(&mut ws).await;
                let open: Value = serde_json::from_str(
                    first
                        .strip_prefix('0')
                        .unwrap_or_else(|| panic!("not an open packet: {first:?}")),
                )
                .expect("open packet JSON");
                Ok(open["sid"].as_str().expect("open sid").to_string())
            }
            Err(WsError::Http(response)) => Err(response.status().as_u16()),
            Err(other) => panic!("WebSocket failed without an HTTP answer: {other}"),
        }
    }
}

/// The sid of an open packet answer.
fn open_sid(answer: &eio::Answer, what: &str) -> String {
    assert_eq!(answer.status, 200, "handshake at {what}: {}", answer.text);
    let open = answer
        .text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet at {what}: {:?}", answer.text));
    let open: Value = serde_json::from_str(open).expect("open packet JSON");
    open["sid"].as_str().expect("open sid").to_string()
}

/// The handshake of the `open` hook of engine.io session `sid`.
async fn open_handshake(backend: &Backend, sid: &str) -> Value {
    backend.wait_for("open", Some(sid), 1).await[0].body["handshake"].clone()
}

/// The handshake of the `connect` hook of socket `sid`.
async fn connect_handshake(backend: &Backend, sid: &str) -> Value {
    backend.wait_for("connect", Some(sid), 1).await[0].body["handshake"].clone()
}

/// Asserts a handshake's client address and scheme.
fn assert_client(handshake: &Value, address: &str, secure: bool) {
    assert_eq!(
        (&handshake["address"], &handshake["secure"]),
        (&Value::from(address), &Value::from(secure)),
        "handshake address and secure: {handshake}"
    );
}

#[tokio::test]
async fn the_token_is_required_and_the_app_path_is_optional() {
    let backend = Backend::echo().await;
    let running = start(&backend, "\"127.0.0.1/32\"", "", ancm()).await;
    let client = Client::with_token(running.address, &[]);

    // With the token, the endpoint answers with the app path on the request path or without it.
    let with_base = client.handshake(&format!("{BASE}/socket/")).await;
    let without_base = client.handshake("/socket/").await;
    let other_case = client.handshake("/MYAPP/socket/").await;
    let websocket = client
        .ws_handshake(&format!("{BASE}/socket/"))
        .await
        .expect("a WebSocket with the token opens");
    let (_, socket) = client.sio_connect(&backend, &format!("{BASE}/sio/")).await;

    // A whole exchange through the base path.
    let url = format!("{BASE}/socket/?EIO=4&transport=polling&sid={with_base}");
    assert_eq!(client.post(&url, "4hello").await.text, "ok");
    assert_eq!(client.get(&url).await.text, "4hello");
    for path in [format!("{BASE}/healthz"), "/healthz".to_string()] {
        let health = client.get(&path).await;
        assert_eq!((health.status, health.text.as_str()), (200, "ok"), "{path}");
    }

    // Without the token, or with another one, every request is refused with 400 before anything else.
    let refused = [
        Client::new(running.address, &[]),
        Client::new(running.address, &[("ms-aspnetcore-token", "tok2")]),
        Client::new(running.address, &[("ms-aspnetcore-token", "TOK")]),
        Client::new(running.address, &[("ms-aspnetcore-token", "")]),
    ];
    for bad in &refused {
        for path in [
            format!("{BASE}/socket/?EIO=4&transport=polling"),
            "/socket/?EIO=4&transport=polling".to_string(),
            format!("{BASE}/sio/?EIO=4&transport=polling"),
            url.clone(),
            format!("{BASE}/healthz"),
        ] {
            let answer = bad.get(&path).await;
            assert_eq!(
                answer.status, 400,
                "{path} with {:?}: {}",
                bad.headers, answer.text
            );
        }
        assert_eq!(
            bad.post(&url, "4sneaky").await.status,
            400,
            "POST with {:?}",
            bad.headers
        );
        assert_eq!(bad.ws_handshake(&format!("{BASE}/socket/")).await, Err(400));
    }

    // Only the clients with the token reached the backend, and none of its hooks carries the token.
    let opened: Vec<String> = backend
        .hooks_of("open")
        .iter()
        .map(|h| h.body["sid"].as_str().expect("sid").to_string())
        .collect();
    assert_eq!(opened.len(), 4, "{opened:?}");
    for sid in [&with_base, &without_base, &other_case, &websocket] {
        assert!(opened.contains(sid), "{sid} opened: {opened:?}");
    }
    let messages: Vec<Value> = backend
        .hooks_of("message")
        .iter()
        .map(|h| h.body["data"].clone())
        .collect();
    assert_eq!(messages, ["hello"]);
    assert_eq!(backend.hooks_of("connect").len(), 1);
    let handshakes = backend
        .hooks()
        .into_iter()
        .filter(|h| h.body["handshake"].is_object())
        .map(|h| h.body["handshake"].clone());
    for handshake in handshakes {
        assert!(
            handshake["headers"].get("ms-aspnetcore-token").is_none(),
            "the pairing token must not reach the backend: {handshake}"
        );
    }
    assert_eq!(
        connect_handshake(&backend, &socket).await["query"]["EIO"],
        "4"
    );
}

#[tokio::test]
async fn ancm_forwarded_headers_from_the_trusted_peer_make_the_handshake() {
    let backend = Backend::start(accept).await;
    let running = start(&backend, "\"127.0.0.1/32\"", "", ancm()).await;
    let client = Client::with_token(running.address, &ANCM_FORWARDED);

    let polling = client.handshake(&format!("{BASE}/socket/")).await;
    assert_client(&open_handshake(&backend, &polling).await, "fe80::1", true);
    let websocket = client
        .ws_handshake(&format!("{BASE}/socket/"))
        .await
        .expect("WebSocket opens");
    let handshake = open_handshake(&backend, &websocket).await;
    assert_client(&handshake, "fe80::1", true);
    assert_eq!(handshake["transport"], "websocket");
    let (_, socket) = client.sio_connect(&backend, &format!("{BASE}/sio/")).await;
    assert_client(&connect_handshake(&backend, &socket).await, "fe80::1", true);

    // ANCM appends its peer to what the client sent: the client's own entries are not believed.
    let spoofing = Client::with_token(
        running.address,
        &[
            ("x-forwarded-for", "6.6.6.6, [fe80::1%6]:63354"),
            ("x-forwarded-proto", "https"),
        ],
    );
    let spoofed = spoofing.handshake(&format!("{BASE}/socket/")).await;
    assert_client(&open_handshake(&backend, &spoofed).await, "fe80::1", true);
}

#[tokio::test]
async fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let backend = Backend::start(accept).await;
    // Without ANCM (which makes loopback trusted) and with no trusted proxies, nobody's headers are believed.
    let running = start(&backend, "", BASE, IisSettings::default()).await;
    let mut headers = ANCM_FORWARDED.to_vec();
    headers.push(("x-arr-ssl", "2048|256|C=US, O=Example|C=US, CN=example.com"));
    let client = Client::with_token(running.address, &headers);

    let polling = client.handshake(&format!("{BASE}/socket/")).await;
    assert_client(
        &open_handshake(&backend, &polling).await,
        "127.0.0.1",
        false,
    );
    let websocket = client
        .ws_handshake(&format!("{BASE}/socket/"))
        .await
        .expect("WebSocket opens");
    assert_client(
        &open_handshake(&backend, &websocket).await,
        "127.0.0.1",
        false,
    );
    let (_, socket) = client.sio_connect(&backend, &format!("{BASE}/sio/")).await;
    assert_client(
        &connect_handshake(&backend, &socket).await,
        "127.0.0.1",
        false,
    );

    // Nor is X-Original-URL: the request is routed by its own path.
    let rewritten = Client::with_token(
        running.address,
        &[("x-original-url", "/myApp/socket/?EIO=4&transport=polling")],
    );
    let answer = rewritten.get("/rewritten/by/arr?x=1").await;
    assert_eq!(answer.status, 404, "{}", answer.text);
}

/// ARR with URL Rewrite: the request path was rewritten, the original is in `X-Original-URL`, the client in
/// `X-Forwarded-For` with a port and HTTPS in `X-ARR-SSL`. Runs a whole engine.io exchange through it.
async fn arr_exchange(running: &Running, backend: &Backend, mut headers: Vec<(&str, &str)>) {
    let query = "EIO=4&transport=polling";
    let original = format!("{BASE}/socket/?{query}");
    headers.extend([
        ("x-forwarded-for", "203.0.113.9:5678"),
        ("x-arr-ssl", "2048|256|C=US, O=Example|C=US, CN=example.com"),
        ("x-arr-log-id", "0c9d9f4e-6a3e-4a43-9a6b-3f8d2b5a7d11"),
        ("max-forwards", "10"),
        ("x-original-url", &original),
    ]);
    let client = Client::new(running.address, &headers);
    let sid = open_sid(&client.get("/rewritten/by/arr?x=1").await, &original);
    let handshake = open_handshake(backend, &sid).await;
    assert_client(&handshake, "203.0.113.9", true);
    assert_eq!(handshake["query"]["transport"], "polling", "{handshake}");

    let session = format!("{original}&sid={sid}");
    let mut headers = headers;
    headers.retain(|(name, _)| *name != "x-original-url");
    headers.push(("x-original-url", &session));
    let client = Client::new(running.address, &headers);
    assert_eq!(
        client.post("/rewritten/by/arr", "4over arr").await.text,
        "ok"
    );
    assert_eq!(client.get("/rewritten/by/arr").await.text, "4over arr");
}

#[tokio::test]
async fn x_original_url_is_ignored_under_ancm_which_passes_client_headers_through() {
    let backend = Backend::echo().await;
    let running = start(&backend, "\"127.0.0.1/32\"", "", ancm()).await;
    let rewritten = Client::with_token(
        running.address,
        &[("x-original-url", "/myApp/socket/?EIO=4&transport=polling")],
    );
    let answer = rewritten.get("/rewritten/by/arr?x=1").await;
    assert_eq!(answer.status, 404, "{}", answer.text);
    assert!(backend.hooks_of("open").is_empty());
}

#[tokio::test]
async fn under_ancm_loopback_is_trusted_without_configuration() {
    let backend = Backend::start(accept).await;
    // trusted_proxies is empty: the module itself, on loopback, is believed as ASP.NET Core does.
    let running = start(&backend, "", "", ancm()).await;
    let client = Client::with_token(running.address, &ANCM_FORWARDED);
    let polling = client.handshake(&format!("{BASE}/socket/")).await;
    assert_client(&open_handshake(&backend, &polling).await, "fe80::1", true);
}

#[tokio::test]
async fn arr_x_original_url_reaches_the_endpoint_without_ancm() {
    let backend = Backend::echo().await;
    // Plain ARR: no ANCM settings; the rule forwards to the app's folder, so the endpoint carries it.
    let running = start_behind_arr(&backend, BASE).await;
    arr_exchange(&running, &backend, Vec::new()).await;
}

/// The sid of a Socket.IO 0.9 handshake answer (`sid:heartbeat:close:transports`).
fn sio09_sid(answer: &eio::Answer, what: &str) -> String {
    assert_eq!(
        answer.status, 200,
        "0.9 handshake at {what}: {}",
        answer.text
    );
    let sid = answer.text.split(':').next().unwrap_or_default();
    assert_eq!(sid.len(), 20, "0.9 handshake at {what}: {:?}", answer.text);
    sid.to_string()
}

#[tokio::test]
async fn socketio09_pages_reach_their_resource_under_ancm_and_through_arr() {
    // Under ANCM: the socket.io endpoint `/sio` serves 0.9 clients at `/sio/1/`, with or without the app path.
    let backend = Backend::start(accept).await;
    let running = start(&backend, "", "", ancm()).await;
    let client = Client::with_token(running.address, &ANCM_FORWARDED);
    for base in [format!("{BASE}/sio/1"), "/sio/1".to_string()] {
        let sid = sio09_sid(&client.get(&format!("{base}/?t=1")).await, &base);
        let poll = client.get(&format!("{base}/xhr-polling/{sid}?t=2")).await;
        assert_eq!(poll.text, "1::", "{base}");
        assert_client(&connect_handshake(&backend, &sid).await, "fe80::1", true);
    }

    // ARR with URL Rewrite: the original 0.9 URL is in X-Original-URL.
    let backend = Backend::start(accept).await;
    let running = start_behind_arr(&backend, BASE).await;
    let forwarded = [("x-forwarded-for", "203.0.113.9:5678")];
    let handshake = format!("{BASE}/sio/1/?t=1");
    let mut headers = forwarded.to_vec();
    headers.push(("x-original-url", &handshake));
    let sid = sio09_sid(
        &Client::new(running.address, &headers)
            .get("/rewritten")
            .await,
        &handshake,
    );
    let poll = format!("{BASE}/sio/1/xhr-polling/{sid}?t=2");
    let mut headers = forwarded.to_vec();
    headers.push(("x-original-url", &poll));
    let answer = Client::new(running.address, &headers)
        .get("/rewritten")
        .await;
    assert_eq!(answer.text, "1::");
    assert_client(
        &connect_handshake(&backend, &sid).await,
        "203.0.113.9",
        false,
    );
}

/// Whether the app has been asked to shut down (a pending notification resolves at once).
async fn shutdown_requested(running: &Running, within: Duration) -> bool {
    tokio::time::timeout(within, running.app.shutdown_requested())
        .await
        .is_ok()
}

#[tokio::test]
async fn the_shutdown_event_is_answered_202_and_only_with_the_token() {
    let backend = Backend::start(accept).await;
    let running = start(&backend, "\"127.0.0.1/32\"", "", ancm()).await;
    let event = [("ms-aspnetcore-event", "shutdown")];
    let path = format!("{BASE}/iisintegration");
    let quiet = Duration::from_millis(300);

    let no_token = Client::new(running.address, &event);
    assert_eq!(no_token.post(&path, "").await.status, 400);
    let wrong = Client::new(
        running.address,
        &[event[0], ("ms-aspnetcore-token", "tok2")],
    );
    assert_eq!(wrong.post(&path, "").await.status, 400);
    let not_an_event = Client::with_token(running.address, &[]);
    assert_eq!(not_an_event.post(&path, "").await.status, 404);
    let other_event = Client::with_token(running.address, &[("ms-aspnetcore-event", "restart")]);
    assert_eq!(other_event.post(&path, "").await.status, 404);
    let client = Client::with_token(running.address, &event);
    assert_eq!(client.get(&path).await.status, 404, "GET is not the event");
    assert!(
        !shutdown_requested(&running, quiet).await,
        "no shutdown was asked for yet"
    );

    let answer = client.post(&path, "").await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert!(
        shutdown_requested(&running, Duration::from_secs(1)).await,
        "the app was told to shut down"
    );

    // Also without the base on the path, as ANCM may send it.
    let answer = client.post("/iisintegration", "").await;
    assert_eq!(answer.status, 202, "{}", answer.text);
    assert!(shutdown_requested(&running, Duration::from_secs(1)).await);
}

/// Outside ANCM (no pairing token) nothing proves that a shutdown event comes from IIS: any client could send
/// it and stop the gateway, so it is not one.
#[tokio::test]
async fn without_the_ancm_token_the_shutdown_event_is_not_honoured() {
    let backend = Backend::start(accept).await;
    let settings = [
        IisSettings::default(),
        IisSettings {
            token: None,
            path_base: Some(BASE.to_string()),
        },
    ];
    for iis in settings {
        let running = start(&backend, "\"127.0.0.1/32\"", "", iis.clone()).await;
        let client = Client::new(running.address, &[("ms-aspnetcore-event", "shutdown")]);
        for path in [
            format!("{BASE}/iisintegration"),
            "/iisintegration".to_string(),
        ] {
            let answer = client.post(&path, "").await;
            assert_eq!(
                answer.status, 404,
                "POST {path} with {iis:?}: {}",
                answer.text
            );
        }
        assert!(
            !shutdown_requested(&running, Duration::from_millis(300)).await,
            "a client stopped the gateway with {iis:?}"
        );
        let session = client.handshake("/socket/").await;
        assert!(!session.is_empty(), "the gateway still serves");
    }
}

/// A fresh directory for one binary run.
fn fresh_dir() -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "iis-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// `N` distinct loopback ports that were free a moment ago.
fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: Vec<TcpListener> = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port"))
        .collect();
    std::array::from_fn(|i| listeners[i].local_addr().expect("local address").port())
}

/// Whether something accepts connections on `127.0.0.1:port`.
fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

/// The real `iogate` binary started as ANCM starts it; killed when dropped (also when a test panics).
struct Process {
    child: Child,
    dir: PathBuf,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

impl Process {
    /// Runs `iogate --config <config_text> <args>` with `env` (and none of the port variables of the test's own
    /// environment), its output in files.
    fn spawn(config_text: &str, args: &[&str], env: &[(&str, String)]) -> Self {
        let dir = fresh_dir();
        let config = dir.join("iogate.toml");
        std::fs::write(&config, config_text).expect("write config");
        let mut command = Command::new(env!("CARGO_BIN_EXE_iogate"));
        command
            .arg("--config")
            .arg(&config)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("PORT")
            .env_remove("HTTP_PLATFORM_PORT")
            .env_remove("ASPNETCORE_PORT")
            .env_remove("ASPNETCORE_TOKEN")
            .env_remove("ASPNETCORE_APPL_PATH")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout")).expect("stdout file"))
            .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"));
        for (name, value) in env {
            command.env(name, value);
        }
        let child = command.spawn().expect("iogate starts");
        Self { child, dir }
    }

    /// What the process wrote to stderr so far.
    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default()
    }

    /// Waits for the process to exit; panics with its stderr after `limit`.
    async fn exit_within(&mut self, limit: Duration) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for iogate") {
                return status;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "iogate still running {limit:?} after it was asked to stop; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits until `client` gets 200 for `GET {BASE}/healthz`; panics if the process exits or after 10 s.
    async fn wait_healthy(&mut self, client: &Client) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for iogate") {
                panic!("iogate exited with {status}; stderr:\n{}", self.stderr());
            }
            let response = client
                .request(reqwest::Method::GET, &format!("{BASE}/healthz"))
                .send()
                .await;
            if let Ok(response) = response {
                assert_eq!(
                    response.status(),
                    200,
                    "healthz; stderr:\n{}",
                    self.stderr()
                );
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "iogate not answering after 10 s; stderr:\n{}",
                self.stderr()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Starts the binary as ANCM would, with a config listening on `config_port` and `PORT` set to `plain_port`,
/// while `ASPNETCORE_PORT` says `iis_port`. Returns it once it answers there.
async fn spawn_under_ancm(backend: &Backend, ports: [u16; 3]) -> (Process, Client) {
    let [iis_port, config_port, plain_port] = ports;
    let text = config_text(
        &backend.url(),
        "",
        &format!(
            "listen = \"127.0.0.1:{config_port}\"\ntrusted_proxies = [\"127.0.0.1/32\"]\nshutdown_timeout = \"3s\""
        ),
    );
    let mut process = Process::spawn(
        &text,
        &[],
        &[
            ("ASPNETCORE_PORT", iis_port.to_string()),
            ("ASPNETCORE_TOKEN", TOKEN.to_string()),
            ("ASPNETCORE_APPL_PATH", format!("{BASE}/")),
            ("PORT", plain_port.to_string()),
        ],
    );
    let client = Client::with_token(SocketAddr::from(([127, 0, 0, 1], iis_port)), &[]);
    process.wait_healthy(&client).await;
    (process, client)
}

#[tokio::test]
async fn aspnetcore_port_wins_over_the_config_and_port() {
    let backend = Backend::start(accept).await;
    let ports = free_ports::<3>();
    let (mut process, client) = spawn_under_ancm(&backend, ports).await;
    let [_, config_port, plain_port] = ports;
    assert!(
        !listening(config_port),
        "the config's listen must not be bound"
    );
    assert!(!listening(plain_port), "PORT must not be bound");
    let tokenless = Client::new(SocketAddr::from(([127, 0, 0, 1], ports[0])), &[]);
    assert_eq!(
        tokenless.get(&format!("{BASE}/healthz")).await.status,
        400,
        "ASPNETCORE_TOKEN is checked"
    );

    assert_eq!(client.get(&format!("{BASE}/healthz")).await.status, 200);

    let shutdown = Client::with_token(
        SocketAddr::from(([127, 0, 0, 1], ports[0])),
        &[("ms-aspnetcore-event", "shutdown")],
    );
    assert_eq!(
        shutdown
            .post(&format!("{BASE}/iisintegration"), "")
            .await
            .status,
        202
    );
    let status = process.exit_within(EXIT_LIMIT).await;
    assert_eq!(status.code(), Some(0), "stderr:\n{}", process.stderr());
}

#[tokio::test]
async fn the_listen_flag_wins_over_aspnetcore_port() {
    let backend = Backend::start(accept).await;
    let [flag_port, iis_port] = free_ports::<2>();
    let text = config_text(&backend.url(), "", "listen = \"127.0.0.1:0\"");
    let listen = format!("127.0.0.1:{flag_port}");
    let mut process = Process::spawn(
        &text,
        &["--listen", &listen],
        &[
            ("ASPNETCORE_PORT", iis_port.to_string()),
            ("ASPNETCORE_TOKEN", TOKEN.to_string()),
            ("ASPNETCORE_APPL_PATH", BASE.to_string()),
        ],
    );
    let client = Client::with_token(SocketAddr::from(([127, 0, 0, 1], flag_port)), &[]);
    process.wait_healthy(&client).await;
    assert!(
        !listening(iis_port),
        "ASPNETCORE_PORT must not be bound when --listen is given"
    );
    let shutdown = Client::with_token(
        SocketAddr::from(([127, 0, 0, 1], flag_port)),
        &[("ms-aspnetcore-event", "shutdown")],
    );
    assert_eq!(
        shutdown
            .post(&format!("{BASE}/iisintegration"), "")
            .await
            .status,
        202
    );
    let status = process.exit_within(EXIT_LIMIT).await;
    assert_eq!(status.code(), Some(0), "stderr:\n{}", process.stderr());
}

#[tokio::test]
async fn the_shutdown_event_drains_the_binary() {
    let backend = Backend::start(accept).await;
    let ports = free_ports::<3>();
    let (mut process, client) = spawn_under_ancm(&backend, ports).await;

    // An engine.io session waiting in a long poll, and a socket.io socket.
    let session = client.handshake(&format!("{BASE}/socket/")).await;
    let (_, socket) = client.sio_connect(&backend, &format!("{BASE}/sio/")).await;
    let poll = format!("{BASE}/socket/?EIO=4&transport=polling&sid={session}");
    let pending = {
        let request = client.request(reqwest::Method::GET, &poll);
        tokio::spawn(async move { eio::answer(request.send().await.expect("pending GET")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;

    let shutdown = Client::with_token(
        SocketAddr::from(([127, 0, 0, 1], ports[0])),
        &[("ms-aspnetcore-event", "shutdown")],
    );
    let answer = shutdown.post(&format!("{BASE}/iisintegration"), "").await;
    assert_eq!(answer.status, 202, "{}", answer.text);

    let close = &backend.wait_for("close", Some(&session), 1).await[0];
    assert_eq!(close.body["reason"], "server shutting down");
    let disconnect = &backend.wait_for("disconnect", Some(&socket), 1).await[0];
    assert_eq!(disconnect.body["reason"], "server shutting down");
    let pending = tokio::time::timeout(EXIT_LIMIT, pending)
        .await
        .expect("the pending poll is answered")
        .expect("poll task");
    assert_eq!(
        (pending.status, pending.text.as_str()),
        (200, "1"),
        "the client is told: close"
    );

    let status = process.exit_within(EXIT_LIMIT).await;
    assert_eq!(status.code(), Some(0), "stderr:\n{}", process.stderr());
    assert!(!listening(ports[0]), "nothing listens after the exit");
}

#[tokio::test]
async fn an_invalid_aspnetcore_port_exits_2_naming_the_variable() {
    let text = config_text("http://127.0.0.1:9/hook", "", "listen = \"127.0.0.1:0\"");
    for value in ["http", "70000", "-1"] {
        let mut process = Process::spawn(&text, &[], &[("ASPNETCORE_PORT", value.to_string())]);
        let status = process.exit_within(EXIT_LIMIT).await;
        let stderr = process.stderr();
        assert_eq!(status.code(), Some(2), "ASPNETCORE_PORT={value}: {stderr}");
        assert!(
            stderr.contains("ASPNETCORE_PORT"),
            "the error names the variable: {stderr}"
        );
    }
}
