//! A minimal Engine.IO v4 client for tests: raw polling requests and WebSocket frames.

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A test WebSocket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A raw HTTP answer.
#[derive(Debug)]
pub struct Answer {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body text.
    pub text: String,
}

impl Answer {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| panic!("not JSON: {:?}", self.text))
    }

    /// A header as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A shared HTTP client with no pooling surprises.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// GET `url`.
pub async fn get(url: &str) -> Answer {
    answer(http().get(url).send().await.expect("GET")).await
}

/// The `Referer` a browser sends for a script a page at `url`'s own site loads (`http://host:port/page.html`):
/// JSONP handshakes, which only browsers make, name their page.
pub fn same_site_referer(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("an absolute URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    format!("{scheme}://{authority}/page.html")
}

/// GET `url` as a page on the same site would load it as a script (JSONP): with its `Referer`.
pub async fn get_as_script(url: &str) -> Answer {
    let request = http().get(url).header("referer", same_site_referer(url));
    answer(request.send().await.expect("GET")).await
}

/// POST `body` to `url`.
pub async fn post(url: &str, body: impl Into<reqwest::Body>) -> Answer {
    answer(
        http()
            .post(url)
            .header("content-type", "text/plain;charset=UTF-8")
            .body(body)
            .send()
            .await
            .expect("POST"),
    )
    .await
}

/// Reads a response completely.
pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    Answer {
        status,
        headers,
        text,
    }
}

/// Handshakes over polling at `base` (e.g. `http://a/engine.io/`) and returns the sid and open JSON.
pub async fn handshake(base: &str) -> (String, Value) {
    let answer = get(&format!("{base}?EIO=4&transport=polling")).await;
    assert_eq!(answer.status, 200, "handshake failed: {}", answer.text);
    let open = answer
        .text
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("not an open packet: {:?}", answer.text));
    let open: Value = serde_json::from_str(open).unwrap();
    (open["sid"].as_str().unwrap().to_string(), open)
}

/// The polling URL of session `sid`.
pub fn poll_url(base: &str, sid: &str) -> String {
    format!("{base}?EIO=4&transport=polling&sid={sid}")
}

/// Connects a WebSocket.
pub async fn ws_connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket connects");
    ws
}

/// Next text frame (skipping control frames); panics after 5 s or on a non-text frame.
pub async fn next_text(ws: &mut Ws) -> String {
    match next_frame(ws).await {
        Frame::Text(text) => text.to_string(),
        other => panic!("expected a text frame, got {other:?}"),
    }
}

/// Next data or close frame; panics after 5 s.
pub async fn next_frame(ws: &mut Ws) -> Frame {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(5), ws.next())
            .await
            .expect("frame within 5 s")
            .expect("socket open")
            .expect("frame ok");
        match frame {
            Frame::Ping(_) | Frame::Pong(_) => continue,
            other => return other,
        }
    }
}

/// Sends a text frame.
pub async fn send_text(ws: &mut Ws, text: &str) {
    ws.send(Frame::Text(text.into())).await.expect("send text");
}

/// Waits until `check` holds, polling every 10 ms; panics after 5 s with `what`.
pub async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The WebSocket URL of a new session at `base` (e.g. `ws://a/engine.io/`).
pub fn ws_handshake_url(base: &str) -> String {
    format!("{base}?EIO=4&transport=websocket")
}

/// The WebSocket URL that upgrades session `sid` at `base`.
pub fn ws_upgrade_url(base: &str, sid: &str) -> String {
    format!("{base}?EIO=4&transport=websocket&sid={sid}")
}

/// Opens a WebSocket-only session at `base` (`ws://...`): returns the socket and the open packet's JSON.
pub async fn ws_handshake(base: &str) -> (Ws, Value) {
    let mut ws = ws_connect(&ws_handshake_url(base)).await;
    let first = next_text(&mut ws).await;
    let open = first
        .strip_prefix('0')
        .unwrap_or_else(|| panic!("first frame is not an open packet: {first:?}"));
    let open: Value = serde_json::from_str(open).expect("open packet JSON");
    (ws, open)
}

/// Tries to connect a WebSocket; a refusal comes back as its HTTP status and body.
pub async fn ws_try_connect(url: &str) -> Result<Ws, (u16, String)> {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(url).await {
        Ok((ws, _)) => Ok(ws),
        Err(Error::Http(response)) => {
            let body = response
                .body()
                .as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("websocket connect failed without an HTTP answer: {other}"),
    }
}

/// Next binary frame (skipping control frames); panics after 5 s or on a non-binary frame.
pub async fn next_binary(ws: &mut Ws) -> Vec<u8> {
    match next_frame(ws).await {
        Frame::Binary(data) => data.to_vec(),
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

/// Sends a binary frame.
pub async fn send_binary(ws: &mut Ws, data: &[u8]) {
    ws.send(Frame::Binary(data.to_vec().into()))
        .await
        .expect("send binary");
}

/// Reads until the server ends the WebSocket (close frame, end of stream or a reset) and returns the
/// data frames that came before; panics if it stays open for `limit`.
pub async fn frames_until_closed(ws: &mut Ws, limit: Duration) -> Vec<Frame> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut before = Vec::new();
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
            .await
            .unwrap_or_else(|_| panic!("websocket still open after {limit:?}; got {before:?}"));
        match next {
            None | Some(Err(_)) | Some(Ok(Frame::Close(_))) => return before,
            Some(Ok(Frame::Ping(_) | Frame::Pong(_))) => {}
            Some(Ok(frame)) => before.push(frame),
        }
    }
}

/// Asserts that nothing but control frames arrives on `ws` for `quiet`.
pub async fn assert_silent(ws: &mut Ws, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + quiet;
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Frame::Ping(_) | Frame::Pong(_)))) => {}
            Ok(other) => panic!("expected silence, got {other:?}"),
        }
    }
}
