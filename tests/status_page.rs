//! The status page on the API listener (`/status`, `/status.json`, `/status/events`): its numbers follow real
//! clients, it is behind the API token (bearer, `?token=` traded for a cookie, the login form), the public
//! listener does not serve it, and the event stream sends a snapshot per second, is capped, and ends on shutdown.

use crate::common;
use common::api::{API_TABLE, Client, TOKEN, Transport};
use common::{Gateway, sio_backend};
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The auth of a socket the test backend accepts, named `name`.
fn auth(name: &str) -> String {
    format!(r#"{{"token":"good","name":"{name}"}}"#)
}

/// A client that neither follows redirects nor keeps cookies: the test reads both itself.
fn plain_http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .expect("an HTTP client")
}

async fn status_json(gateway: &Gateway) -> Value {
    let answer = plain_http()
        .get(gateway.api_url("/status.json"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("GET /status.json");
    assert_eq!(answer.status(), 200);
    let text = answer.text().await.expect("status JSON");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

/// Reads `/status.json` until `check` holds (up to 10 s); returns the snapshot that passed.
async fn status_until(gateway: &Gateway, what: &str, check: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = status_json(gateway).await;
        if check(&status) {
            return status;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within 10 s; last snapshot: {status:#}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_follows_real_clients() {
    let (backend, gateway) = sio_backend::start(API_TABLE).await;
    let idle = status_json(&gateway).await;
    assert_eq!(idle["sessions"]["total"], 0, "{idle:#}");
    assert_eq!(idle["endpoints"][0]["path"], "/socket.io");
    assert_eq!(idle["endpoints"][0]["protocol"], "socket.io");
    assert_eq!(idle["cluster"], Value::Null);

    let (mut ann, _) = Client::connected(&gateway, Transport::Ws, "/", Some(&auth("ann"))).await;
    let (mut bob, _) =
        Client::connected(&gateway, Transport::Polling, "/", Some(&auth("bob"))).await;
    let status = status_until(&gateway, "two sessions", |s| s["sessions"]["total"] == 2).await;
    assert_eq!(status["sessions"]["websocket"], 1, "{status:#}");
    assert_eq!(status["sessions"]["polling"], 1, "{status:#}");
    assert_eq!(status["sessions"]["eio4"], 2, "{status:#}");
    assert_eq!(status["sockets"], 2, "{status:#}");
    let root = status["namespaces"]
        .as_array()
        .and_then(|all| all.iter().find(|n| n["name"] == "/"))
        .unwrap_or_else(|| panic!("no `/` namespace: {status:#}"));
    assert_eq!(root["sockets"], 2);
    let rooms: Vec<&str> = status["top_rooms"]
        .as_array()
        .expect("top_rooms")
        .iter()
        .filter_map(|room| room["room"].as_str())
        .collect();
    assert!(
        rooms.contains(&"user:ann") && rooms.contains(&"user:bob"),
        "{rooms:?}"
    );

    // Events flow: the counters grow, the rate turns positive, the webhook URL shows calls and latencies.
    let before = status["totals"]["events_in"].as_u64().expect("events_in");
    let emitting = tokio::spawn(async move {
        for i in 0..400 {
            ann.send(&format!(r#"42["seq",{i}]"#)).await;
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        ann
    });
    let moving = status_until(&gateway, "events per second", |s| {
        s["totals"]["events_in"].as_u64().unwrap_or(0) >= before + 20
            && s["rates"]["events_in"].as_f64().unwrap_or(0.0) > 0.0
    })
    .await;
    let webhook = &moving["webhooks"][0];
    assert_eq!(
        webhook["url"].as_str(),
        Some(backend.url().as_str()),
        "{moving:#}"
    );
    assert!(webhook["calls"].as_u64().unwrap_or(0) >= 3, "{webhook}");
    assert!(webhook["p50_ms"].as_f64().is_some(), "{webhook}");
    assert!(
        webhook["p99_ms"].as_f64() >= webhook["p50_ms"].as_f64(),
        "{webhook}"
    );
    let ann = emitting.await.expect("the emitting client");

    // A disconnect is counted and the session leaves the table.
    let connects = moving["totals"]["connects"].as_u64().expect("connects");
    assert!(connects >= 2);
    drop(ann);
    let after = status_until(&gateway, "one session left", |s| {
        s["sessions"]["total"] == 1 && s["totals"]["disconnects"].as_u64() >= Some(1)
    })
    .await;
    assert_eq!(after["sessions"]["polling"], 1, "{after:#}");

    // A refusal by a bound shows by reason.
    bob.send(&format!("40/{},", "n".repeat(400))).await;
    status_until(&gateway, "the refusal", |s| {
        s["refused"].as_array().is_some_and(|all| {
            all.iter()
                .any(|r| r["reason"] == "namespace_too_long" && r["count"] == 1)
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_token_opens_it_and_only_on_the_api_listener() {
    let (_backend, gateway) = sio_backend::start(API_TABLE).await;
    let http = plain_http();
    let get = |path: &str, header: Option<(&'static str, String)>| {
        let mut request = http.get(gateway.api_url(path));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        request.send()
    };

    // No token, a wrong one: the login form with 401, and no numbers.
    for (path, header) in [
        ("/status", None),
        ("/status.json", None),
        ("/status/events", None),
        (
            "/status.json",
            Some(("authorization", "Bearer wrong".to_string())),
        ),
        ("/status?token=wrong", None),
        (
            "/status.json",
            Some(("cookie", format!("iogate_status={TOKEN}"))),
        ),
    ] {
        let answer = get(path, header.clone()).await.expect("request");
        assert_eq!(answer.status(), 401, "{path} {header:?}");
        let body = answer.text().await.expect("body");
        assert!(
            body.contains("<form") && body.contains("/status/login"),
            "{body}"
        );
        assert!(!body.contains("\"sessions\""), "{body}");
    }

    // The bearer token.
    let bearer = Some(("authorization", format!("Bearer {TOKEN}")));
    let page = get("/status", bearer.clone()).await.expect("request");
    assert_eq!(page.status(), 200);
    let csp = page.headers()["content-security-policy"]
        .to_str()
        .unwrap_or_default()
        .to_string();
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(
        page.text()
            .await
            .unwrap_or_default()
            .contains("sessions-total")
    );
    assert_eq!(
        get("/status.json", bearer).await.expect("request").status(),
        200
    );

    // `?token=` is traded for an HttpOnly, SameSite=Strict cookie, and the URL loses it.
    let traded = get(&format!("/status?token={TOKEN}"), None)
        .await
        .expect("request");
    assert_eq!(traded.status(), 303);
    assert_eq!(traded.headers()["location"], "/status");
    let set_cookie = traded.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .to_string();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"),
        "{set_cookie}"
    );
    assert!(
        !set_cookie.contains(TOKEN),
        "the cookie is not the token: {set_cookie}"
    );
    let cookie = set_cookie
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let with_cookie = Some(("cookie", cookie.clone()));
    assert_eq!(
        get("/status", with_cookie.clone())
            .await
            .expect("request")
            .status(),
        200
    );
    let json = get("/status.json", with_cookie).await.expect("request");
    assert_eq!(json.status(), 200);
    let json: Value = serde_json::from_str(&json.text().await.expect("body")).expect("JSON");
    assert!(json["sessions"]["total"].is_u64(), "{json}");
    // The cookie opens the status page, not the push API.
    let api = get("/v1/rooms", Some(("cookie", cookie.clone())))
        .await
        .expect("request");
    assert_eq!(api.status(), 401);

    // The login form sets the same cookie; a wrong token gets the form again.
    let login = |token: &str| {
        http.post(gateway.api_url("/status/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("token={token}"))
            .send()
    };
    let wrong = login("nope").await.expect("request");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    let right = login(TOKEN).await.expect("request");
    assert_eq!(right.status(), 303);
    assert_eq!(right.headers()["location"], "/status");
    let form_cookie = right.headers()["set-cookie"].to_str().expect("cookie");
    assert_eq!(form_cookie.split(';').next(), Some(cookie.as_str()));

    // The public listener has no status page, token or not.
    for path in [
        "/status",
        "/status.json",
        "/status/events",
        "/status/page.js",
    ] {
        let answer = http
            .get(gateway.url(path))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("request");
        assert_eq!(answer.status(), 404, "{path} on the public listener");
    }
}

/// An open `GET /status/events`: the raw connection, and what was read past the head.
struct Stream {
    socket: TcpStream,
    read: String,
}

impl Stream {
    /// Opens the stream; returns the status line's code and the stream.
    async fn open(gateway: &Gateway) -> (u16, Self) {
        let mut socket = TcpStream::connect(gateway.api_address.expect("[api]"))
            .await
            .expect("connect to the API");
        let request = format!(
            "GET /status/events HTTP/1.1\r\nHost: status\r\nAuthorization: Bearer {TOKEN}\r\nAccept: text/event-stream\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.expect("send");
        let mut stream = Self {
            socket,
            read: String::new(),
        };
        stream.read_until("\r\n\r\n").await;
        let status = stream.read[9..12].parse().expect("a status code");
        (status, stream)
    }

    /// Reads until `marker` has arrived (10 s at most); false if the connection ended first.
    async fn read_until(&mut self, marker: &str) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !self.read.contains(marker) {
            let mut buffer = [0u8; 8192];
            let read = tokio::time::timeout_at(deadline, self.socket.read(&mut buffer))
                .await
                .unwrap_or_else(|_| panic!("no {marker:?} within 10 s; read: {}", self.read))
                .expect("read");
            if read == 0 {
                return false;
            }
            self.read
                .push_str(&String::from_utf8_lossy(&buffer[..read]));
        }
        true
    }

    /// The snapshots received so far.
    fn snapshots(&self) -> Vec<Value> {
        self.read
            .lines()
            .filter_map(|line| line.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str::<Value>(data).ok())
            .filter(Value::is_object)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_sends_snapshots_is_capped_and_ends_on_shutdown() {
    let (_backend, gateway) = sio_backend::start(API_TABLE).await;
    // Counted from the open: snapshots the test reads late may already wait in its buffer together.
    let started = tokio::time::Instant::now();
    let (status, mut first) = Stream::open(&gateway).await;
    assert_eq!(status, 200, "{}", first.read);
    let head = first.read.to_ascii_lowercase();
    assert!(head.contains("content-type: text/event-stream"), "{head}");
    assert!(!head.contains("content-length"), "{head}");
    // The plots' history comes first (an array of points, one per second the gateway has been up).
    assert!(
        first.read_until("event: history\ndata: [").await,
        "{}",
        first.read
    );
    // Two snapshots, about a second apart.
    while first.snapshots().len() < 2 {
        assert!(first.read_until_more().await, "ended early: {}", first.read);
    }
    let snapshots = first.snapshots();
    assert!(snapshots.len() >= 2, "{}", first.read);
    assert!(started.elapsed() >= Duration::from_millis(700));
    assert!(snapshots[1]["sessions"]["total"].is_u64());

    // At most 16 streams at once: the 17th is refused with 503, and a closed stream's place is free again.
    let mut open = vec![first];
    for _ in 1..16 {
        let (status, stream) = Stream::open(&gateway).await;
        assert_eq!(status, 200);
        open.push(stream);
    }
    let (status, refused) = Stream::open(&gateway).await;
    assert_eq!(status, 503, "{}", refused.read);
    drop(open.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (status, stream) = Stream::open(&gateway).await;
        if status == 200 {
            open.push(stream);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no place freed within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // A shutdown ends every stream, with an `end` event last.
    let shutdown = tokio::spawn(gateway.running.shutdown(Duration::from_secs(5)));
    for stream in &mut open {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while stream.read_until_more().await {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the stream did not end"
            );
        }
        assert!(stream.read.contains("event: end"), "{}", stream.read);
    }
    shutdown.await.expect("shutdown");
}

impl Stream {
    /// Reads whatever comes next (10 s at most); false when the connection ended.
    async fn read_until_more(&mut self) -> bool {
        let mut buffer = [0u8; 8192];
        let read = tokio::time::timeout(Duration::from_secs(10), self.socket.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("nothing within 10 s; read: {}", self.read))
            .unwrap_or(0);
        self.read
            .push_str(&String::from_utf8_lossy(&buffer[..read]));
        read > 0
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_node_shows_the_live_nodes_their_registered_sessions_and_its_own() {
    use common::cluster_gateway::{cluster_table, wait_joined};
    let redis = common::redis::Redis::start();
    let backend = common::Backend::echo().await;
    let node = |name: &str| {
        format!(
            "{API_TABLE}{}[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
            cluster_table(&redis, name),
            backend.url()
        )
    };
    let a = Gateway::start(&node("a")).await;
    let b = Gateway::start(&node("b")).await;
    wait_joined(&a, 2).await;
    wait_joined(&b, 2).await;
    let open = common::eio::http()
        .get(a.url("/engine.io/?EIO=4&transport=polling"))
        .send()
        .await
        .expect("handshake");
    assert_eq!(open.status(), 200);
    for _ in 0..2 {
        let open = common::eio::http()
            .get(b.url("/engine.io/?EIO=4&transport=polling"))
            .send()
            .await
            .expect("handshake on b");
        assert_eq!(open.status(), 200);
    }

    let registered = |s: &Value, node: &str| {
        s["cluster"]["nodes"]
            .as_array()
            .and_then(|nodes| nodes.iter().find(|n| n["node_id"] == node))
            .map(|n| n["registered"].clone())
    };
    let status = status_until(&a, "the cluster view", |s| {
        s["cluster"]["nodes"].as_array().map(Vec::len) == Some(2)
            && s["sessions"]["total"] == 1
            && registered(s, "a") == Some(Value::from(1))
            && registered(s, "b") == Some(Value::from(2))
    })
    .await;
    let cluster = &status["cluster"];
    assert_eq!(cluster["node_id"], "a", "{cluster:#}");
    assert_eq!(cluster["redis_up"], true, "{cluster:#}");
    assert_eq!(
        cluster["tag"].as_str().map(str::len),
        Some(4),
        "{cluster:#}"
    );
    let nodes = cluster["nodes"].as_array().expect("nodes");
    let this = nodes
        .iter()
        .find(|n| n["this_node"] == true)
        .expect("this node");
    assert_eq!(this["node_id"], "a");
    assert_eq!(this["sessions"], 1);
    assert_eq!(this["tag"], cluster["tag"]);
    let other = nodes.iter().find(|n| n["node_id"] == "b").expect("node b");
    assert_eq!(other["this_node"], false);
    assert_eq!(
        other["sessions"],
        Value::Null,
        "another node's count is its own page's"
    );
    assert!(
        other["advertise"]
            .as_str()
            .is_some_and(|at| at.contains(':')),
        "{other}"
    );
}
