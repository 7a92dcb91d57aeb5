//! Push API helpers: gateways with `[api] token = "t0k"`, an authenticated API client, error-shape checks and a
//! tiny Prometheus text-format parser for `/metrics`.

use super::eio::{self, Answer};
use super::gateway::Gateway;
use super::sio::{self, Received, SioPolling, SioWs};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

/// The API token every test gateway is configured with.
pub const TOKEN: &str = "t0k";

/// The `[api]` table of every test gateway (its `listen` is replaced by an ephemeral port).
pub const API_TABLE: &str = "[api]\nlisten = \"127.0.0.1:0\"\ntoken = \"t0k\"\n";

/// Starts a gateway with `[api]` and the `[[endpoint]]` tables of `endpoints`.
pub async fn gateway_with(endpoints: &str) -> Gateway {
    Gateway::start(&format!("{API_TABLE}\n{endpoints}\n")).await
}

/// A socket.io endpoint table at `path` relaying to `webhook` serving `/` and `/chat`, with `extra` lines.
pub fn socketio_endpoint(path: &str, webhook: &str, extra: &str) -> String {
    format!(
        "[[endpoint]]\npath = \"{path}\"\nprotocol = \"socket.io\"\nwebhook = \"{webhook}\"\nnamespaces = [\"/\", \"/chat\"]\n{extra}\n"
    )
}

/// An engine.io endpoint table at `path` relaying to `webhook`, with `extra` lines.
pub fn engineio_endpoint(path: &str, webhook: &str, extra: &str) -> String {
    format!(
        "[[endpoint]]\npath = \"{path}\"\nprotocol = \"engine.io\"\nwebhook = \"{webhook}\"\n{extra}\n"
    )
}

/// A gateway with `[api]` and one socket.io endpoint at `/socket.io` (namespaces `/` and `/chat`).
pub async fn socketio_gateway(webhook: &str, extra: &str) -> Gateway {
    gateway_with(&socketio_endpoint("/socket.io", webhook, extra)).await
}

/// A gateway with `[api]` and one engine.io endpoint at `/engine.io`.
pub async fn engineio_gateway(webhook: &str, extra: &str) -> Gateway {
    gateway_with(&engineio_endpoint("/engine.io", webhook, extra)).await
}

/// A push API client for one gateway.
#[derive(Clone)]
pub struct Api {
    base: String,
    client: reqwest::Client,
}

impl Api {
    /// The API of `gateway`.
    pub fn of(gateway: &Gateway) -> Self {
        Self {
            base: gateway.api_url(""),
            client: eio::http(),
        }
    }

    /// The API at `base` (`http://ADDR`, no trailing slash): a gateway in another process.
    pub fn at(base: impl Into<String>) -> Self {
        Self {
            base: base.into(),
            client: eio::http(),
        }
    }

    /// `http://API_ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends `method path` with `body` (when given) and the `Authorization` header `auth` (when given).
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        auth: Option<&str>,
    ) -> Answer {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("HTTP method");
        let mut request = self.client.request(method, self.url(path));
        if let Some(auth) = auth {
            request = request.header("authorization", auth);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        eio::answer(request.send().await.expect("API request")).await
    }

    /// Sends `method path` with `body`, authorized with the right token.
    pub async fn call(&self, method: &str, path: &str, body: Option<&str>) -> Answer {
        let bearer = format!("Bearer {TOKEN}");
        self.request(method, path, body, Some(&bearer)).await
    }

    /// `POST path` with a JSON body, authorized.
    pub async fn post(&self, path: &str, body: &str) -> Answer {
        self.call("POST", path, Some(body)).await
    }

    /// `PUT path` with a JSON body, authorized.
    pub async fn put(&self, path: &str, body: &str) -> Answer {
        self.call("PUT", path, Some(body)).await
    }

    /// `GET path`, authorized.
    pub async fn get(&self, path: &str) -> Answer {
        self.call("GET", path, None).await
    }

    /// `POST path` that must answer 200 with JSON; returns the body text.
    pub async fn post_ok(&self, path: &str, body: &str) -> String {
        let answer = self.post(path, body).await;
        assert_ok(&answer, &format!("POST {path} {body}"));
        answer.text
    }

    /// `GET path` that must answer 200 with JSON; returns the JSON.
    pub async fn get_ok(&self, path: &str) -> Value {
        let answer = self.get(path).await;
        assert_ok(&answer, &format!("GET {path}"));
        answer.json()
    }

    /// `POST /v1/emit` with `body`; returns `N` of `{"sockets":N}`.
    pub async fn emit(&self, body: &str) -> u64 {
        sockets_count(&self.post_ok("/v1/emit", body).await)
    }

    /// `GET /v1/sockets?{query}`: the socket entries.
    pub async fn sockets(&self, query: &str) -> Vec<Value> {
        let listing = self.get_ok(&format!("/v1/sockets?{query}")).await;
        listing["sockets"]
            .as_array()
            .unwrap_or_else(|| panic!("no sockets array: {listing}"))
            .clone()
    }

    /// `GET /v1/rooms?{query}`: room name -> socket count.
    pub async fn rooms(&self, query: &str) -> BTreeMap<String, u64> {
        let listing = self.get_ok(&format!("/v1/rooms?{query}")).await;
        listing["rooms"]
            .as_array()
            .unwrap_or_else(|| panic!("no rooms array: {listing}"))
            .iter()
            .map(|room| {
                let name = room["name"].as_str().expect("room name").to_string();
                let count = room["sockets"].as_u64().expect("room socket count");
                (name, count)
            })
            .collect()
    }

    /// `GET /metrics`, parsed.
    pub async fn metrics(&self) -> Metrics {
        let answer = self.get("/metrics").await;
        assert_eq!(answer.status, 200, "GET /metrics: {}", answer.text);
        Metrics::parse(&answer.text)
    }

    /// Scrapes `/metrics` until `check` holds; panics after 5 s with `what` and the last scrape.
    pub async fn metrics_until(&self, what: &str, check: impl Fn(&Metrics) -> bool) -> Metrics {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let metrics = self.metrics().await;
            if check(&metrics) {
                return metrics;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}; last scrape: {:?}",
                metrics.samples
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Asserts a 200 JSON answer.
pub fn assert_ok(answer: &Answer, what: &str) {
    assert_eq!(answer.status, 200, "{what} -> {}", answer.text);
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{what}"
    );
}

/// `N` of a `{"sockets":N}` answer, which must hold nothing else.
pub fn sockets_count(text: &str) -> u64 {
    let value: Value = serde_json::from_str(text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    let object = value.as_object().expect("an object");
    assert_eq!(object.len(), 1, "only `sockets`: {text}");
    object["sockets"].as_u64().expect("sockets is a count")
}

/// Asserts an error answer `{"error":{"code","message"}}` with `status` and `code`; returns the message.
pub fn assert_error(answer: &Answer, status: u16, code: &str) -> String {
    assert_eq!(answer.status, status, "status of {:?}", answer.text);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let body = answer.json();
    let object = body.as_object().expect("error body is an object");
    assert_eq!(object.len(), 1, "only `error`: {body}");
    let error = body["error"].as_object().expect("`error` is an object");
    let keys: Vec<&str> = error.keys().map(String::as_str).collect();
    assert_eq!(keys, ["code", "message"], "{body}");
    assert_eq!(error["code"], code, "{body}");
    let message = error["message"].as_str().expect("message is a string");
    assert!(!message.is_empty(), "empty message: {body}");
    message.to_string()
}

/// One sample of the Prometheus text format: `name{labels} value`.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name (with its `_total`, `_count`, `_bucket` ... suffix).
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Value.
    pub value: f64,
}

/// A parsed `/metrics` scrape.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Every sample, in order.
    pub samples: Vec<Sample>,
    /// `# TYPE` lines: metric family -> type.
    pub types: BTreeMap<String, String>,
}

impl Metrics {
    /// Parses the text format; panics on a line it cannot read.
    pub fn parse(text: &str) -> Self {
        let mut samples = Vec::new();
        let mut types = BTreeMap::new();
        for line in text.lines() {
            let line = line.trim();
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let mut parts = rest.split_whitespace();
                let name = parts.next().expect("TYPE name").to_string();
                let kind = parts.next().expect("TYPE kind").to_string();
                types.insert(name, kind);
            } else if !line.is_empty() && !line.starts_with('#') {
                samples.push(parse_sample(line));
            }
        }
        Self { samples, types }
    }

    /// The value of `name` with exactly the labels `labels`; `None` when absent.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let wanted: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == wanted)
            .map(|s| s.value)
    }

    /// Like [`Metrics::get`], but absent counts as 0 (a counter not yet touched).
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Every sample named `name`.
    pub fn named(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

/// Parses `name{k="v",...} value [timestamp]`.
fn parse_sample(line: &str) -> Sample {
    let (name, labels, rest) = match line.find('{') {
        Some(open) => {
            let close = line.rfind('}').unwrap_or_else(|| panic!("no `}}`: {line}"));
            (
                &line[..open],
                parse_labels(&line[open + 1..close]),
                &line[close + 1..],
            )
        }
        None => {
            let space = line.find(' ').unwrap_or_else(|| panic!("no value: {line}"));
            (&line[..space], BTreeMap::new(), &line[space..])
        }
    };
    let value = rest
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("no value: {line}"));
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        other => other
            .parse()
            .unwrap_or_else(|_| panic!("bad value {other:?}: {line}")),
    };
    Sample {
        name: name.to_string(),
        labels,
        value,
    }
}

/// Parses `k="v",k2="v2"` with `\"`, `\\` and `\n` escapes.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        for c in chars.by_ref() {
            if c == '=' {
                break;
            }
            key.push(c);
        }
        if key.is_empty() {
            return labels;
        }
        assert_eq!(chars.next(), Some('"'), "label {key} value must be quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '"' => break,
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => panic!("dangling escape in {text}"),
                },
                other => value.push(other),
            }
        }
        labels.insert(key.trim().to_string(), value);
    }
}

/// The top-level fields of a JSON object as raw text, byte for byte.
pub fn raw_fields(text: &str) -> HashMap<String, String> {
    let fields: HashMap<String, Box<RawValue>> =
        serde_json::from_str(text).unwrap_or_else(|e| panic!("not a JSON object ({e}): {text}"));
    fields
        .into_iter()
        .map(|(key, value)| (key, value.get().to_string()))
        .collect()
}

/// The entries of an `{"acks":[...]}` answer by sid: each entry's fields as raw text.
pub fn acks_by_sid(text: &str) -> HashMap<String, HashMap<String, String>> {
    let fields = raw_fields(text);
    assert_eq!(fields.len(), 1, "only `acks`: {text}");
    let acks: Vec<Box<RawValue>> = serde_json::from_str(&fields["acks"]).expect("acks array");
    let mut by_sid = HashMap::new();
    for entry in acks {
        let entry = raw_fields(entry.get());
        let sid: String = serde_json::from_str(&entry["sid"]).expect("sid string");
        assert!(
            by_sid.insert(sid, entry).is_none(),
            "one entry per socket: {text}"
        );
    }
    by_sid
}

/// How a test client reaches the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A WebSocket-only session.
    Ws,
    /// An HTTP long-polling session.
    Polling,
}

enum Link {
    Ws(Box<SioWs>),
    Polling(SioPolling),
}

/// A Socket.IO client over either transport that reads messages one at a time: text as on the wire (`42["x"]`),
/// binary attachments as `b<base64>` on both transports.
pub struct Client {
    link: Link,
    queue: VecDeque<String>,
}

impl Client {
    /// Opens an Engine.IO session at the gateway's `/socket.io` endpoint.
    pub async fn open(gateway: &Gateway, transport: Transport) -> Self {
        let link = match transport {
            Transport::Ws => Link::Ws(Box::new(SioWs::open(gateway).await)),
            Transport::Polling => Link::Polling(SioPolling::open(gateway).await),
        };
        Self {
            link,
            queue: VecDeque::new(),
        }
    }

    /// Opens a session and connects `namespace` with `auth`; returns the client and its socket id.
    pub async fn connected(
        gateway: &Gateway,
        transport: Transport,
        namespace: &str,
        auth: Option<&str>,
    ) -> (Self, String) {
        let mut client = Self::open(gateway, transport).await;
        let sid = client.connect(namespace, auth).await;
        (client, sid)
    }

    /// Connects `namespace` on this session; returns the socket id.
    pub async fn connect(&mut self, namespace: &str, auth: Option<&str>) -> String {
        self.send(&sio::connect_packet(namespace, auth)).await;
        let reply = self.next().await;
        sio::connect_reply_sid(&reply, namespace)
    }

    /// Sends one message, as on the wire.
    pub async fn send(&mut self, text: &str) {
        match &mut self.link {
            Link::Ws(ws) => ws.send(text).await,
            Link::Polling(polling) => polling.send(&[text]).await,
        }
    }

    /// Sends one binary attachment.
    pub async fn send_binary(&mut self, data: &[u8]) {
        match &mut self.link {
            Link::Ws(ws) => ws.send_binary(data).await,
            Link::Polling(polling) => {
                let packet = format!("b{}", STANDARD.encode(data));
                polling.send(&[&packet]).await;
            }
        }
    }

    /// The next message from the server (pings are answered on the way); panics after a few seconds.
    pub async fn next(&mut self) -> String {
        if let Some(message) = self.queue.pop_front() {
            return message;
        }
        match &mut self.link {
            Link::Ws(ws) => match ws.recv().await {
                Received::Text(text) => text,
                Received::Binary(data) => format!("b{}", STANDARD.encode(data)),
            },
            Link::Polling(polling) => {
                self.queue.extend(polling.recv().await);
                self.queue.pop_front().expect("a poll brings a message")
            }
        }
    }

    /// Asserts the next message is `expected`.
    pub async fn expect(&mut self, expected: &str) {
        let got = self.next().await;
        assert_eq!(got, expected, "next message");
    }

    /// The WebSocket client (panics on polling).
    pub fn ws(&mut self) -> &mut SioWs {
        match &mut self.link {
            Link::Ws(ws) => ws,
            Link::Polling(_) => panic!("not a WebSocket client"),
        }
    }

    /// The polling client (panics on WebSocket).
    pub fn polling(&self) -> &SioPolling {
        match &self.link {
            Link::Polling(polling) => polling,
            Link::Ws(_) => panic!("not a polling client"),
        }
    }

    /// Waits until the server ends the Engine.IO session; returns the messages that came first.
    pub async fn closed_within(&mut self, limit: Duration) -> Vec<String> {
        let mut before: Vec<String> = self.queue.drain(..).collect();
        match &mut self.link {
            Link::Ws(ws) => {
                for received in ws.closed_within(limit).await {
                    before.push(match received {
                        Received::Text(text) => text,
                        Received::Binary(data) => format!("b{}", STANDARD.encode(data)),
                    });
                }
            }
            Link::Polling(polling) => {
                let deadline = tokio::time::Instant::now() + limit;
                loop {
                    let answer = tokio::time::timeout_at(deadline, eio::get(&polling.url()))
                        .await
                        .unwrap_or_else(|_| panic!("polling session still open; got {before:?}"));
                    if answer.status != 200 {
                        break;
                    }
                    let packets: Vec<&str> = answer.text.split('\u{1e}').collect();
                    let closing = packets.contains(&"1");
                    before.extend(
                        packets
                            .into_iter()
                            .filter(|p| *p != "1" && *p != "6")
                            .map(str::to_string),
                    );
                    if closing {
                        break;
                    }
                }
            }
        }
        before
    }
}
