//! The public listener against clients that attack it: bodies sent slowly or never finished, connection and
//! session floods, oversized heads, cross-site WebSockets, and request smuggling with two framings. Each test
//! proves its bound through the gateway's own counters (open connections, sessions, `iogate_refused_total`)
//! while another client of the same gateway keeps being served.

use crate::common;
use common::api::Metrics;
use common::{Backend, Gateway, eio};
use iogate::server::HttpHandler;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// How long a raw client waits for the gateway to answer or hang up.
const READ_LIMIT: Duration = Duration::from_secs(5);

/// An engine.io endpoint at `/engine.io` relaying to `backend`, with `[server]` lines `server` and endpoint
/// lines `endpoint`.
async fn engine_gateway(backend: &Backend, server: &str, endpoint: &str) -> Gateway {
    Gateway::start(&format!(
        "[server]\n{server}\n\n[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n{endpoint}\n",
        backend.url()
    ))
    .await
}

/// The gateway's `iogate_refused_total{reason}`.
fn refused(gateway: &Gateway, reason: &str) -> f64 {
    Metrics::parse(&gateway.running.app.metrics().encode())
        .value("iogate_refused_total", &[("reason", reason)])
}

/// Connections the public listener holds now.
fn open_connections(gateway: &Gateway) -> usize {
    gateway.running.app.gate().open_connections()
}

/// What a raw connection got before the gateway closed it (or [`READ_LIMIT`] passed): the bytes, and whether
/// the connection ended.
async fn read_to_end(stream: &mut TcpStream) -> (String, bool) {
    let mut got = Vec::new();
    let deadline = tokio::time::Instant::now() + READ_LIMIT;
    let mut buf = [0u8; 16 * 1024];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&got).into_owned(), true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&got).into_owned(), false),
        }
    }
}

/// Sends `request` on a new connection and returns everything the gateway answered before it closed.
async fn raw_exchange(address: SocketAddr, request: &[u8]) -> (String, bool) {
    let mut stream = TcpStream::connect(address).await.expect("connect");
    stream.write_all(request).await.expect("write request");
    read_to_end(&mut stream).await
}

/// A connection from the loopback address `source`.
async fn connect_from(source: &str, address: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    socket
        .bind(format!("{source}:0").parse().expect("source address"))
        .expect("bind the source address");
    socket.connect(address).await.expect("connect")
}

/// Whether the gateway still serves `/healthz` on `stream` (a connection it accepted).
async fn healthz_on(stream: &mut TcpStream) -> bool {
    if stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 1024];
    match tokio::time::timeout(READ_LIMIT, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        _ => false,
    }
}

/// A session at `base` that echoes one message through the backend and back, proving the gateway still serves.
async fn echo_works(base: &str) {
    let (sid, _) = eio::handshake(base).await;
    let url = eio::poll_url(base, &sid);
    assert_eq!(eio::post(&url, "4still here").await.text, "ok");
    let answer = eio::get(&url).await;
    assert!(
        answer.text.contains("4still here"),
        "the echo comes back: {:?}",
        answer.text
    );
}

#[tokio::test]
async fn a_body_that_trickles_in_gets_408_and_its_connection_closes() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "body_timeout = \"1s\"", "").await;
    let base = gateway.url("/engine.io/");
    let (sid, _) = eio::handshake(&base).await;
    let head = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n4abc"
    );
    let mut stream = TcpStream::connect(gateway.address).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    // One byte every 300 ms: always some progress, never the whole body.
    let (mut reader, mut writer) = stream.into_split();
    let trickle = tokio::spawn(async move {
        for _ in 0..30 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if writer.write_all(b"x").await.is_err() {
                return;
            }
        }
    });
    let mut got = Vec::new();
    let ended = tokio::time::timeout(READ_LIMIT, reader.read_to_end(&mut got))
        .await
        .is_ok();
    trickle.abort();
    let got = String::from_utf8_lossy(&got);
    assert!(
        got.starts_with("HTTP/1.1 408"),
        "the slow body is answered 408: {got:?}"
    );
    assert!(
        ended,
        "the connection closes after the 408 (got {got:?} in {:?})",
        started.elapsed()
    );
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(refused(&gateway, "body_timeout"), 1.0);
    echo_works(&base).await;
}

#[tokio::test]
async fn stalled_large_bodies_are_dropped_at_the_body_timeout() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "body_timeout = \"3s\"", "").await;
    let base = gateway.url("/engine.io/");
    let baseline = open_connections(&gateway);
    let mut stalled = Vec::new();
    for _ in 0..20 {
        let (sid, _) = eio::handshake(&base).await;
        let mut stream = TcpStream::connect(gateway.address).await.unwrap();
        let head = format!(
            "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 1000000\r\n\r\n4"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(&vec![b'a'; 300_000]).await.unwrap();
        stalled.push(stream);
    }
    eio::eventually("the stalled bodies to hold their connections", || {
        open_connections(&gateway) >= baseline + 20
    })
    .await;
    // Meanwhile the gateway serves others.
    echo_works(&base).await;
    for stream in &mut stalled {
        let (got, ended) = read_to_end(stream).await;
        assert!(got.starts_with("HTTP/1.1 408"), "{got:?}");
        assert!(ended, "closed after the 408");
    }
    eio::eventually("every stalled connection to be let go", || {
        open_connections(&gateway) <= baseline
    })
    .await;
    assert_eq!(refused(&gateway, "body_timeout"), 20.0);
}

#[tokio::test]
async fn a_pipelining_client_that_never_reads_loses_its_connection_at_the_body_timeout() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "body_timeout = \"1s\"", "").await;
    // Pipelined requests hand the connection to hyper; the client sends them and takes none of the answers.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(gateway.address).await.unwrap();
    let requests = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
    let mut sent = 0;
    // Until the gateway stops reading (its answers fill the socket) or 200,000 requests are out.
    while sent < 200 {
        match tokio::time::timeout(Duration::from_millis(500), stream.write_all(&requests)).await {
            Ok(Ok(())) => sent += 1,
            Ok(Err(_)) | Err(_) => break,
        }
    }
    assert!(
        sent < 200,
        "the gateway took 200,000 requests without their answers going out"
    );
    let stalled = Instant::now();
    eio::eventually("the stalled connection to be let go", || {
        open_connections(&gateway) == 0
    })
    .await;
    assert!(
        stalled.elapsed() < Duration::from_secs(4),
        "let go at the body timeout, not later: {:?}",
        stalled.elapsed()
    );
    echo_works(&gateway.url("/engine.io/")).await;
}

#[tokio::test]
async fn connections_past_max_connections_are_closed_at_once() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "max_connections = 4", "").await;
    // A client in session before the flood, on a WebSocket: one of the four.
    let (mut ws, _) = eio::ws_handshake(&gateway.ws_url("/engine.io/")).await;
    let mut idle = Vec::new();
    for _ in 0..3 {
        let mut stream = TcpStream::connect(gateway.address).await.unwrap();
        assert!(healthz_on(&mut stream).await, "within the limit");
        idle.push(stream);
    }
    assert_eq!(open_connections(&gateway), 4);
    for _ in 0..10 {
        let (got, ended) =
            raw_exchange(gateway.address, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(
            ended && got.is_empty(),
            "closed at once, unanswered: {got:?}"
        );
    }
    assert_eq!(refused(&gateway, "max_connections"), 10.0);
    assert_eq!(open_connections(&gateway), 4, "refused ones are not kept");
    // The session in place keeps working.
    eio::send_text(&mut ws, "4over the limit").await;
    assert_eq!(eio::next_text(&mut ws).await, "4over the limit");
    // A freed place is taken again.
    drop(idle.pop());
    eio::eventually("a connection to be given back", || {
        open_connections(&gateway) == 3
    })
    .await;
    let mut stream = TcpStream::connect(gateway.address).await.unwrap();
    assert!(healthz_on(&mut stream).await);
}

#[tokio::test]
async fn one_address_cannot_take_more_than_max_connections_per_ip() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "max_connections_per_ip = 2", "").await;
    let mut first = connect_from("127.0.0.1", gateway.address).await;
    let mut second = connect_from("127.0.0.1", gateway.address).await;
    assert!(healthz_on(&mut first).await && healthz_on(&mut second).await);
    let mut third = connect_from("127.0.0.1", gateway.address).await;
    let (got, ended) = read_to_end(&mut third).await;
    assert!(ended && got.is_empty(), "the third is closed: {got:?}");
    assert_eq!(refused(&gateway, "max_connections_per_ip"), 1.0);
    // Another address is not affected.
    let mut other = connect_from("127.0.0.2", gateway.address).await;
    assert!(healthz_on(&mut other).await, "another client is served");
    drop(first);
    eio::eventually("the address's count to drop", || {
        open_connections(&gateway) == 2
    })
    .await;
    let mut again = connect_from("127.0.0.1", gateway.address).await;
    assert!(healthz_on(&mut again).await);
}

/// GET `url` as a trusted proxy forwards it for the client at `client`.
async fn get_for(url: &str, client: &str) -> eio::Answer {
    let request = eio::http().get(url).header("x-forwarded-for", client);
    eio::answer(request.send().await.expect("GET")).await
}

/// A WebSocket-only session at `gateway`'s `/engine.io/`, as a trusted proxy forwards it for `client`; its open
/// packet is read.
async fn websocket_for(gateway: &Gateway, client: &str) -> eio::Ws {
    let url = eio::ws_handshake_url(&gateway.ws_url("/engine.io/"));
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .expect("a WebSocket request");
    request
        .headers_mut()
        .insert("x-forwarded-for", client.parse().expect("an address"));
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("the WebSocket opens");
    assert!(
        eio::next_text(&mut ws).await.starts_with("0{"),
        "the open packet"
    );
    ws
}

#[tokio::test]
async fn clients_behind_a_trusted_proxy_are_counted_on_their_forwarded_address() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(
        &backend,
        "trusted_proxies = [\"127.0.0.1/32\"]\nmax_connections_per_ip = 2",
        "",
    )
    .await;
    let base = gateway.url("/engine.io/");
    let handshake = format!("{base}?EIO=4&transport=polling");
    const ATTACKER: &str = "203.0.113.9";
    // Handshakes end at once: they hold nothing afterwards.
    let mut sids = Vec::new();
    for _ in 0..3 {
        let answer = get_for(&handshake, ATTACKER).await;
        assert_eq!(answer.status, 200);
        let open: serde_json::Value = serde_json::from_str(&answer.text[1..]).unwrap();
        sids.push(open["sid"].as_str().unwrap().to_string());
    }
    // Two parked polls hold the address's two places; the proxy's own address (127.0.0.1) is not limited.
    let parked: Vec<_> = sids[..2]
        .iter()
        .map(|sid| {
            let url = eio::poll_url(&base, sid);
            tokio::spawn(async move { get_for(&url, ATTACKER).await })
        })
        .collect();
    eio::eventually("both polls to be parked", || {
        open_connections(&gateway) >= 2
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let third = get_for(&eio::poll_url(&base, &sids[2]), ATTACKER).await;
    assert_eq!(third.status, 503, "{}", third.text);
    assert!(third.header("retry-after").is_some());
    assert_eq!(refused(&gateway, "max_connections_per_ip"), 1.0);
    // Another client behind the same proxy is served.
    assert_eq!(get_for(&handshake, "198.51.100.7").await.status, 200);
    // A WebSocket through the proxy is counted for as long as it is open.
    for poll in parked {
        poll.abort();
    }
    eio::eventually("the parked polls to be given back", || {
        gateway.running.app.gate().tracked_addresses() == 0
    })
    .await;
    let ws = websocket_for(&gateway, ATTACKER).await;
    let mut ws2 = websocket_for(&gateway, ATTACKER).await;
    let refused_now = get_for(&handshake, ATTACKER).await;
    assert_eq!(refused_now.status, 503, "two WebSockets hold both places");
    drop(ws);
    let mut served = false;
    for _ in 0..50 {
        if get_for(&handshake, ATTACKER).await.status == 200 {
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served, "a place is free once the WebSocket closed");
    eio::send_text(&mut ws2, "4still open").await;
    assert_eq!(eio::next_text(&mut ws2).await, "4still open");
}

#[tokio::test]
async fn handshakes_past_max_sessions_get_503() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "max_sessions = 3", "").await;
    let base = gateway.url("/engine.io/");
    let mut sids = Vec::new();
    for _ in 0..3 {
        sids.push(eio::handshake(&base).await.0);
    }
    for _ in 0..5 {
        let answer = eio::get(&format!("{base}?EIO=4&transport=polling")).await;
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert_eq!(answer.header("retry-after"), Some("5"));
    }
    let ws = eio::ws_try_connect(&eio::ws_handshake_url(&gateway.ws_url("/engine.io/"))).await;
    assert_eq!(ws.err().map(|(status, _)| status), Some(503));
    assert_eq!(refused(&gateway, "max_sessions"), 6.0);
    assert_eq!(gateway.sessions(), 3);
    // The sessions in place keep working.
    let url = eio::poll_url(&base, &sids[0]);
    assert_eq!(eio::post(&url, "4mine").await.text, "ok");
    assert!(eio::get(&url).await.text.contains("4mine"));
    // One leaves: a new one may come.
    let leaving = eio::poll_url(&base, &sids[1]);
    assert_eq!(eio::post(&leaving, "1").await.text, "ok");
    eio::get(&leaving).await;
    eio::eventually("the closed session to go", || gateway.sessions() == 2).await;
    eio::handshake(&base).await;
}

#[tokio::test]
async fn handshakes_waiting_for_the_backend_count_toward_max_sessions() {
    // The backend takes its time to accept each session: handshakes sent together all wait for it at once.
    let backend =
        Backend::start(|hook| common::backend::echo(hook).after(Duration::from_millis(300))).await;
    let gateway = engine_gateway(&backend, "max_sessions = 3", "").await;
    let base = gateway.url("/engine.io/");
    let handshakes: Vec<_> = (0..20)
        .map(|_| {
            let url = format!("{base}?EIO=4&transport=polling");
            tokio::spawn(async move { eio::get(&url).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for handshake in handshakes {
        statuses.push(handshake.await.unwrap().status);
    }
    let accepted = statuses.iter().filter(|&&status| status == 200).count();
    assert_eq!(accepted, 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&status| status == 503).count(), 17);
    assert_eq!(gateway.sessions(), 3);
    assert_eq!(refused(&gateway, "max_sessions"), 17.0);
}

#[tokio::test]
async fn request_heads_past_max_request_head_get_431_on_every_path() {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "max_request_head = 16384", "").await;
    let big = "a".repeat(20_000);
    // A handshake (the listener's own path)...
    let request = format!(
        "GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nCookie: c={big}\r\n\r\n"
    );
    let (got, ended) = raw_exchange(gateway.address, request.as_bytes()).await;
    assert!(got.starts_with("HTTP/1.1 431"), "{got:?}");
    assert!(ended);
    // ...a WebSocket upgrade (hyper's)...
    let request = format!(
        "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: c={big}\r\n\r\n"
    );
    let (got, ended) = raw_exchange(gateway.address, request.as_bytes()).await;
    assert!(got.starts_with("HTTP/1.1 431"), "{got:?}");
    assert!(ended);
    // ...and a POST (hyper's too).
    let request = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid=x HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nCookie: c={big}\r\n\r\n4a"
    );
    let (got, _) = raw_exchange(gateway.address, request.as_bytes()).await;
    assert!(got.starts_with("HTTP/1.1 431"), "{got:?}");
    assert_eq!(gateway.sessions(), 0, "no session was made");
    assert!(refused(&gateway, "request_head_too_large") >= 1.0);
    // Under the limit, the handshake is served and its headers reach the backend.
    let cookie = "b".repeat(12_000);
    let answer = eio::answer(
        eio::http()
            .get(format!(
                "{}?EIO=4&transport=polling",
                gateway.url("/engine.io/")
            ))
            .header("cookie", format!("c={cookie}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 200);
    let open = backend.wait_for("open", None, 1).await;
    assert_eq!(
        open[0].body["handshake"]["headers"]["cookie"],
        format!("c={cookie}")
    );
}

#[tokio::test]
async fn a_pipelined_head_past_max_request_head_gets_431_too() {
    let backend = Backend::echo().await;
    // The default limit, 32 KiB; hyper reads a pipelined request's head in one go past its buffer limit.
    let gateway = engine_gateway(&backend, "", "").await;
    let big = "a".repeat(40_000);
    for first in [
        "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /healthz HTTP/1.1\r\nHost: x\r\nUpgrade: other\r\n\r\n",
    ] {
        let request = format!(
            "{first}GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\nCookie: c={big}\r\n\r\n"
        );
        let (got, ended) = raw_exchange(gateway.address, request.as_bytes()).await;
        assert!(got.starts_with("HTTP/1.1 200"), "{got:?}");
        assert!(got.contains("HTTP/1.1 431"), "{got:?}");
        assert!(ended, "the connection closes");
    }
    assert_eq!(gateway.sessions(), 0, "no session was made");
    assert_eq!(refused(&gateway, "request_head_too_large"), 2.0);
}

/// GET `url` as a script of the page `referer` (or of a page that hides itself) loads it.
async fn get_from_page(url: &str, referer: Option<&str>) -> eio::Answer {
    let mut request = eio::http().get(url);
    if let Some(referer) = referer {
        request = request.header("referer", referer);
    }
    eio::answer(request.send().await.expect("GET")).await
}

/// The status line a raw WebSocket upgrade at `path` with `headers` gets.
async fn upgrade_status(gateway: &Gateway, path: &str, headers: &str) -> String {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{headers}\r\n",
        gateway.address.port()
    );
    let mut stream = TcpStream::connect(gateway.address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buf = [0u8; 512];
    let n = tokio::time::timeout(READ_LIMIT, stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap_or(0);
    let text = String::from_utf8_lossy(&buf[..n]);
    text.lines().next().unwrap_or("").to_string()
}

#[tokio::test]
async fn websockets_from_other_sites_are_refused() {
    let backend = Backend::echo().await;
    let listed = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\ncors_origins = [\"https://app.example.com\"]\n\n[[endpoint]]\npath = \"/open\"\nwebhook = \"{0}\"\ncors_origins = [\"*\"]\nsocketio09 = false\n\n[[endpoint]]\npath = \"/plain\"\nprotocol = \"engine.io\"\nwebhook = \"{0}\"\n",
        backend.url()
    ))
    .await;
    let new_ws = "/socket.io/?EIO=4&transport=websocket";
    assert_eq!(
        upgrade_status(&listed, new_ws, "Origin: https://evil.example\r\n").await,
        "HTTP/1.1 403 Forbidden"
    );
    assert_eq!(
        upgrade_status(&listed, new_ws, "Origin: https://app.example.com\r\n").await,
        "HTTP/1.1 101 Switching Protocols"
    );
    assert_eq!(
        upgrade_status(&listed, new_ws, "").await,
        "HTTP/1.1 101 Switching Protocols",
        "not a browser: no Origin to check"
    );
    // An upgrade of a polling session from another site.
    let (sid, _) = eio::handshake(&listed.url("/socket.io/")).await;
    assert_eq!(
        upgrade_status(
            &listed,
            &format!("{new_ws}&sid={sid}"),
            "Origin: https://evil.example\r\n"
        )
        .await,
        "HTTP/1.1 403 Forbidden"
    );
    // `*` allows any origin, as before.
    assert_eq!(
        upgrade_status(
            &listed,
            "/open/?EIO=4&transport=websocket",
            "Origin: https://evil.example\r\n"
        )
        .await,
        "HTTP/1.1 101 Switching Protocols"
    );
    // Without cors_origins, only the site the gateway is served as.
    let plain = "/plain/?EIO=4&transport=websocket";
    assert_eq!(
        upgrade_status(&listed, plain, "Origin: https://evil.example\r\n").await,
        "HTTP/1.1 403 Forbidden"
    );
    let same = format!("Origin: http://127.0.0.1:{}\r\n", listed.address.port());
    assert_eq!(
        upgrade_status(&listed, plain, &same).await,
        "HTTP/1.1 101 Switching Protocols"
    );
    // JSONP (EIO3) and Socket.IO 0.9 handshakes, which browsers send without Origin, by their Referer.
    let jsonp = get_from_page(
        &listed.url("/socket.io/?EIO=3&transport=polling&j=0"),
        Some("https://evil.example/page"),
    )
    .await;
    assert_eq!(jsonp.status, 403, "{}", jsonp.text);
    let sio09 = get_from_page(
        &listed.url("/socket.io/1/?t=1"),
        Some("https://evil.example/page"),
    )
    .await;
    assert_eq!(sio09.status, 403, "{}", sio09.text);
    assert_eq!(sio09.text, "handshake bad origin");
    let good = get_from_page(
        &listed.url("/socket.io/?EIO=3&transport=polling&j=0"),
        Some("https://app.example.com/page"),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.text);
    // A JSONP script is a browser's: one that hides its page is refused.
    let hidden_page = eio::get(&listed.url("/socket.io/?EIO=3&transport=polling&j=0")).await;
    assert_eq!(hidden_page.status, 403, "{}", hidden_page.text);
    assert_eq!(refused(&listed, "cors_origin"), 6.0);
}

#[tokio::test]
async fn jsonp_handshakes_with_percent_encoded_query_keys_are_checked_too() {
    let backend = Backend::echo().await;
    let gateway = Gateway::start(&format!(
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\ncors_origins = [\"https://app.example.com\"]\n",
        backend.url()
    ))
    .await;
    // The endpoint decodes the query: `%6A=0` is `j=0` to it, and its answer is a JSONP script.
    for (path, referer) in [
        (
            "/socket.io/?EIO=3&transport=polling&%6A=0",
            Some("https://evil.example/page"),
        ),
        ("/socket.io/?EIO=3&transport=polling&%6a=0", None),
        ("/socket.io/1/?%6Asonp=0", None),
        ("/socket.io/1/?json%70=0", Some("https://evil.example/page")),
    ] {
        let answer = get_from_page(&gateway.url(path), referer).await;
        assert_eq!(
            answer.status, 403,
            "{path} from {referer:?}: {}",
            answer.text
        );
    }
    assert_eq!(refused(&gateway, "cors_origin"), 4.0);
    assert_eq!(gateway.sessions(), 0, "no session was made");
    // The page the list names is still served, however it spells the key.
    let good = get_from_page(
        &gateway.url("/socket.io/?EIO=3&transport=polling&%6A=0"),
        Some("https://app.example.com/page"),
    )
    .await;
    assert_eq!(good.status, 200, "{}", good.text);
    assert!(good.text.starts_with("___eio[0]("), "{}", good.text);
}

#[tokio::test]
async fn a_request_with_both_content_length_and_transfer_encoding_is_refused_and_nothing_smuggled_is_served()
 {
    let backend = Backend::echo().await;
    let gateway = engine_gateway(&backend, "", "").await;
    let (sid, _) = eio::handshake(&gateway.url("/engine.io/")).await;
    let smuggled = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let body = format!("0\r\n\r\n{smuggled}");
    let request = format!(
        "POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nTransfer-Encoding: chunked\r\n\r\n{body}",
        body.len()
    );
    let (got, ended) = raw_exchange(gateway.address, request.as_bytes()).await;
    assert!(got.starts_with("HTTP/1.1 400"), "{got:?}");
    assert_eq!(
        got.matches("HTTP/1.1 ").count(),
        1,
        "one answer only, the smuggled request is not served: {got:?}"
    );
    assert!(ended, "the connection closes");
    echo_works(&gateway.url("/engine.io/")).await;
}
