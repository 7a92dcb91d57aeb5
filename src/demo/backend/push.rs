//! The backend's client of iogate's push API: emits that no webhook reply can carry (to other sockets while a
//! `connect` or `disconnect` hook is answered) and room sizes.

use serde_json::{Value, json};
use std::net::SocketAddr;
use std::sync::OnceLock;

/// The Socket.IO endpoint the demo's pushes go to (the API needs it named: the demo has two endpoints).
pub const CHAT_ENDPOINT: &str = "/socket.io";

/// A push API client; its address is known once the gateway listens.
pub struct Push {
    http: reqwest::Client,
    address: OnceLock<SocketAddr>,
    token: String,
}

impl Push {
    /// A client that authorizes with `token`; [`Push::listening_at`] gives it the address.
    pub fn new(token: String) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the push API client: {e}"))?;
        Ok(Self {
            http,
            address: OnceLock::new(),
            token,
        })
    }

    /// Where the API listens (set once).
    pub fn listening_at(&self, address: SocketAddr) {
        let _ = self.address.set(address);
    }

    /// `POST /v1/emit` of `event` with `args` to every chat socket in `rooms` (all of them when empty), minus the
    /// socket `except` when given. A failure is logged at debug: it is a log line or a notice the page misses, and
    /// every `disconnect` hook of a shutdown meets an API that has stopped listening.
    pub async fn emit(&self, rooms: &[&str], except: Option<&str>, event: &str, args: Value) {
        let mut body = json!({"endpoint": CHAT_ENDPOINT, "event": event, "args": args});
        // No `to`: every socket of the namespace.
        if !rooms.is_empty() {
            body["to"] = json!({"rooms": rooms});
        }
        if let Some(sid) = except {
            body["except"] = json!({"sockets": [sid]});
        }
        if let Err(error) = self
            .call(reqwest::Method::POST, "/v1/emit", Some(body))
            .await
        {
            tracing::debug!(%error, "demo backend: push emit failed");
        }
    }

    /// How many chat sockets are in `room` now (0 for a room nobody is in); `None` when the API did not answer.
    pub async fn room_size(&self, room: &str) -> Option<u64> {
        let path = format!("/v1/rooms?endpoint={CHAT_ENDPOINT}&namespace=/");
        let answer = self.call(reqwest::Method::GET, &path, None).await.ok()?;
        let rooms = answer.get("rooms")?.as_array()?;
        Some(
            rooms
                .iter()
                .find(|entry| entry.get("name").and_then(Value::as_str) == Some(room))
                .and_then(|entry| entry.get("sockets"))
                .and_then(Value::as_u64)
                .unwrap_or(0),
        )
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        let address = self.address.get().ok_or("the API is not listening yet")?;
        let mut request = self
            .http
            .request(method, format!("http://{address}{path}"))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status}: {text}"));
        }
        serde_json::from_str(&text).map_err(|e| e.to_string())
    }
}
