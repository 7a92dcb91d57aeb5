//! Socket.IO v5 over raw Engine.IO for tests: a gateway with one socket.io endpoint, a WebSocket client and a
//! polling client that exchange Engine.IO message text as written on the wire (`40`, `42["x"]`, `43/chat,1[]`),
//! answer the server's pings on their own, and tell when the server ends the connection; plus backend helpers.

use super::backend::{Hook, Reply};
use super::eio::{self, Ws};
use super::gateway::Gateway;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::HashMap;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// The endpoint path every socket.io test gateway serves.
pub const PATH: &str = "/socket.io";

/// How long a test waits for one frame before failing.
const FRAME_LIMIT: Duration = Duration::from_secs(4);

/// Starts a gateway with one socket.io endpoint at [`PATH`] relaying to `webhook`; `extra` is TOML appended to
/// the endpoint table (keys first, then any `[[endpoint.route]]` tables).
pub async fn gateway(webhook: &str, extra: &str) -> Gateway {
    Gateway::start(&format!(
        "[[endpoint]]\npath = \"{PATH}\"\nprotocol = \"socket.io\"\nwebhook = \"{webhook}\"\n{extra}\n"
    ))
    .await
}

/// Accepts every hook with an empty 200.
pub fn accept(_hook: &Hook) -> Reply {
    Reply::ok("")
}

/// The raw JSON text of the top-level `key` of a hook body, byte for byte as iogate sent it.
pub fn raw_field(hook: &Hook, key: &str) -> String {
    let fields: HashMap<String, Box<RawValue>> = serde_json::from_slice(&hook.raw)
        .unwrap_or_else(|e| panic!("hook body is not a JSON object ({e}): {:?}", hook.raw));
    fields
        .get(key)
        .unwrap_or_else(|| panic!("hook body has no {key:?}: {:?}", hook.raw))
        .get()
        .to_string()
}

/// The sid of a CONNECT reply (`40{"sid":"..."}`, `40/nsp,{"sid":"..."}`); asserts `sid` is its only key.
pub fn connect_reply_sid(packet: &str, namespace: &str) -> String {
    let prefix = if namespace == "/" {
        "40".to_string()
    } else {
        format!("40{namespace},")
    };
    let json = packet
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("not a CONNECT reply for {namespace}: {packet:?}"));
    let reply: Value = serde_json::from_str(json)
        .unwrap_or_else(|_| panic!("CONNECT reply payload is not JSON: {packet:?}"));
    let object = reply
        .as_object()
        .unwrap_or_else(|| panic!("CONNECT reply payload is not an object: {packet:?}"));
    let keys: Vec<&str> = object.keys().map(String::as_str).collect();
    assert_eq!(keys, ["sid"], "CONNECT reply must hold exactly sid");
    let sid = object["sid"]
        .as_str()
        .unwrap_or_else(|| panic!("sid is not a string: {packet:?}"));
    assert!(!sid.is_empty(), "empty sid: {packet:?}");
    sid.to_string()
}

/// The CONNECT message text for `namespace` with an optional auth payload (`40`, `40/nsp,{...}`).
pub fn connect_packet(namespace: &str, auth: Option<&str>) -> String {
    let nsp = if namespace == "/" {
        String::new()
    } else {
        format!("{namespace},")
    };
    format!("40{nsp}{}", auth.unwrap_or(""))
}

/// A backend that behaves like the app the Socket.IO v5 conformance suite expects: on connect it emits `auth`
/// with the CONNECT payload; on `/`, `message` is answered with `message-back` and the same arguments, and
/// `message-with-ack` is acknowledged with the same arguments. Arguments are copied byte for byte.
pub fn reference_app(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "connect" => Reply::ok(format!(
            r#"{{"emit":[{{"event":"auth","args":[{}]}}]}}"#,
            raw_field(hook, "auth")
        )),
        "event" if hook.body["namespace"] == "/" => match hook.body["event"].as_str() {
            Some("message") => Reply::ok(format!(
                r#"{{"emit":[{{"event":"message-back","args":{}}}]}}"#,
                raw_field(hook, "args")
            )),
            Some("message-with-ack") => {
                Reply::ok(format!(r#"{{"ack":{}}}"#, raw_field(hook, "args")))
            }
            _ => Reply::ok(""),
        },
        _ => Reply::ok(""),
    }
}

/// One Engine.IO message from the server, as a Socket.IO client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A text message as on the wire, e.g. `42["x"]`.
    Text(String),
    /// A binary attachment.
    Binary(Vec<u8>),
}

/// A Socket.IO client over a raw WebSocket.
pub struct SioWs {
    /// The WebSocket.
    pub ws: Ws,
    /// The Engine.IO open packet's JSON.
    pub open: Value,
}

impl SioWs {
    /// Opens a WebSocket-only Engine.IO session at the gateway's socket.io endpoint.
    pub async fn open(gateway: &Gateway) -> Self {
        Self::open_with(gateway, "", &[]).await
    }

    /// Like [`SioWs::open`], with `query` (`&k=v...`) appended to the URL and extra request headers.
    pub async fn open_with(gateway: &Gateway, query: &str, headers: &[(&str, &str)]) -> Self {
        let url = gateway.ws_url(&format!("{PATH}/?EIO=4&transport=websocket{query}"));
        let mut request = url.into_client_request().expect("websocket request");
        for (name, value) in headers {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())
                    .expect("header name"),
                tokio_tungstenite::tungstenite::http::HeaderValue::from_str(value)
                    .expect("header value"),
            );
        }
        Self::open_request(request).await
    }

    /// Opens a WebSocket-only Engine.IO session at `url` (`ws://HOST/socket.io/?EIO=4&transport=websocket`): a
    /// gateway in another process.
    pub async fn open_at(url: &str) -> Self {
        let request = url.into_client_request().expect("websocket request");
        Self::open_request(request).await
    }

    async fn open_request(
        request: tokio_tungstenite::tungstenite::handshake::client::Request,
    ) -> Self {
        let (mut ws, _) = tokio_tungstenite::connect_async(request)
            .await
            .expect("websocket connects");
        let first = eio::next_text(&mut ws).await;
        let open = first
            .strip_prefix('0')
            .unwrap_or_else(|| panic!("first frame is not an open packet: {first:?}"));
        let open = serde_json::from_str(open).expect("open packet JSON");
        Self { ws, open }
    }

    /// Opens a session and connects `namespace` with `auth`; returns the client and the socket id.
    pub async fn connected(
        gateway: &Gateway,
        namespace: &str,
        auth: Option<&str>,
    ) -> (Self, String) {
        let mut client = Self::open(gateway).await;
        let sid = client.connect(namespace, auth).await;
        (client, sid)
    }

    /// Sends one text frame, as is (`40`, `42["x"]`, ...).
    pub async fn send(&mut self, text: &str) {
        eio::send_text(&mut self.ws, text).await;
    }

    /// Sends a binary attachment.
    pub async fn send_binary(&mut self, data: &[u8]) {
        eio::send_binary(&mut self.ws, data).await;
    }

    /// Next message from the server, answering pings on the way; panics after a few seconds, on a close, or on
    /// an Engine.IO packet other than a ping or a message.
    pub async fn recv(&mut self) -> Received {
        loop {
            let frame = tokio::time::timeout(FRAME_LIMIT, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("no frame within {FRAME_LIMIT:?}"))
                .expect("websocket open")
                .expect("frame ok");
            match frame {
                Frame::Text(text) if text.as_str() == "2" => {
                    self.ws
                        .send(Frame::Text("3".into()))
                        .await
                        .expect("send pong");
                }
                Frame::Text(text) => {
                    assert!(
                        text.as_str().starts_with('4'),
                        "unexpected Engine.IO packet {text:?}"
                    );
                    return Received::Text(text.to_string());
                }
                Frame::Binary(data) => return Received::Binary(data.to_vec()),
                Frame::Ping(_) | Frame::Pong(_) => {}
                other => panic!("expected a message, got {other:?}"),
            }
        }
    }

    /// Next text message (e.g. `42["x"]`); panics on a binary frame.
    pub async fn recv_text(&mut self) -> String {
        match self.recv().await {
            Received::Text(text) => text,
            Received::Binary(data) => panic!("expected a text packet, got binary {data:?}"),
        }
    }

    /// Next binary attachment; panics on a text frame.
    pub async fn recv_binary(&mut self) -> Vec<u8> {
        match self.recv().await {
            Received::Binary(data) => data,
            Received::Text(text) => panic!("expected a binary frame, got {text:?}"),
        }
    }

    /// Sends CONNECT for `namespace` and returns the socket id of the reply (checked to hold exactly `sid`).
    pub async fn connect(&mut self, namespace: &str, auth: Option<&str>) -> String {
        self.send(&connect_packet(namespace, auth)).await;
        let reply = self.recv_text().await;
        connect_reply_sid(&reply, namespace)
    }

    /// Sends `packet` (which must carry an ack id) and returns the next packet, expected to be the answer.
    pub async fn call(&mut self, packet: &str) -> String {
        self.send(packet).await;
        self.recv_text().await
    }

    /// Asserts that nothing but pings (answered) arrives for `quiet`.
    pub async fn assert_silent(&mut self, quiet: Duration) {
        let deadline = tokio::time::Instant::now() + quiet;
        loop {
            match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return,
                Ok(Some(Ok(Frame::Text(text)))) if text.as_str() == "2" => {
                    let _ = self.ws.send(Frame::Text("3".into())).await;
                }
                Ok(Some(Ok(Frame::Ping(_) | Frame::Pong(_)))) => {}
                Ok(other) => panic!("expected silence, got {other:?}"),
            }
        }
    }

    /// Reads until the server ends the WebSocket, answering pings; returns the messages that came before.
    /// Panics if it stays open for `limit`.
    pub async fn closed_within(&mut self, limit: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + limit;
        let mut before = Vec::new();
        loop {
            let next = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .unwrap_or_else(|_| panic!("websocket still open after {limit:?}; got {before:?}"));
            match next {
                None | Some(Err(_)) | Some(Ok(Frame::Close(_))) => return before,
                Some(Ok(Frame::Text(text))) if text.as_str() == "2" => {
                    let _ = self.ws.send(Frame::Text("3".into())).await;
                }
                Some(Ok(Frame::Text(text))) => before.push(Received::Text(text.to_string())),
                Some(Ok(Frame::Binary(data))) => before.push(Received::Binary(data.to_vec())),
                Some(Ok(_)) => {}
            }
        }
    }

    /// Closes the WebSocket from the client side.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Drain until the server acknowledges, so the close is complete before the test goes on.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

/// A Socket.IO client over raw HTTP long-polling.
pub struct SioPolling {
    /// The endpoint base URL (`http://ADDR/socket.io/`).
    pub base: String,
    /// The Engine.IO session id.
    pub sid: String,
    /// The Engine.IO open packet's JSON.
    pub open: Value,
}

impl SioPolling {
    /// Handshakes over polling at the gateway's socket.io endpoint.
    pub async fn open(gateway: &Gateway) -> Self {
        let base = gateway.url(&format!("{PATH}/"));
        let (sid, open) = eio::handshake(&base).await;
        Self { base, sid, open }
    }

    /// This session's polling URL.
    pub fn url(&self) -> String {
        eio::poll_url(&self.base, &self.sid)
    }

    /// POSTs Engine.IO packets as one payload (`40`, `42["x"]`, `bAQID`, ...); asserts `ok`.
    pub async fn send(&self, packets: &[&str]) {
        let answer = eio::post(&self.url(), packets.join("\u{1e}")).await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (200, "ok"),
            "POST refused"
        );
    }

    /// One GET: the Engine.IO packets of the answer, raw. Panics on a non-200 answer or after a few seconds.
    pub async fn poll_raw(&self) -> Vec<String> {
        let answer = tokio::time::timeout(FRAME_LIMIT, eio::get(&self.url()))
            .await
            .unwrap_or_else(|_| panic!("poll not answered within {FRAME_LIMIT:?}"));
        assert_eq!(answer.status, 200, "poll failed: {}", answer.text);
        answer.text.split('\u{1e}').map(str::to_string).collect()
    }

    /// Polls until at least one message arrives, answering pings; binary comes back as `b<base64>`.
    pub async fn recv(&self) -> Vec<String> {
        loop {
            let mut packets = Vec::new();
            for packet in self.poll_raw().await {
                if packet == "2" {
                    self.send(&["3"]).await;
                } else if packet.starts_with('4') || packet.starts_with('b') {
                    packets.push(packet);
                } else {
                    panic!("unexpected Engine.IO packet {packet:?}");
                }
            }
            if !packets.is_empty() {
                return packets;
            }
        }
    }

    /// Sends CONNECT for `namespace` and returns the socket id of the reply.
    pub async fn connect(&self, namespace: &str, auth: Option<&str>) -> String {
        self.send(&[&connect_packet(namespace, auth)]).await;
        let packets = self.recv().await;
        connect_reply_sid(&packets[0], namespace)
    }
}
