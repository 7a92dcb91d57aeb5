//! Headless Chromium driven over the DevTools protocol: a test opens tabs, reads their DOM with `Runtime.evaluate`,
//! waits for a condition in the page and writes screenshots under `target/screenshots/`.
//!
//! The browser listens on a port it picks itself (`--remote-debugging-port=0`) and writes it to
//! `<profile>/DevToolsActivePort`. Tabs are created over the browser's own DevTools WebSocket
//! (`Target.createTarget`); each tab then gets its own WebSocket (`/devtools/page/<targetId>`), so tabs never share
//! a request stream. Every wait is bounded; a missing browser fails the test, never skips it. The process is killed
//! and its profile removed when the [`Chromium`] is dropped.

use super::browser::{HEADLESS_FLAGS, chromium_binary, fresh_profile};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex as SyncMutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one DevTools command may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the browser may take to write its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Chromium::open`] waits for the page's `load`.
const LOAD_TIMEOUT: Duration = Duration::from_secs(20);
/// The window every tab gets (screenshots are this size).
pub const WINDOW: (u32, u32) = (1280, 900);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// One DevTools WebSocket: numbered commands, answers matched by id; events seen meanwhile go to `on_event`.
struct Connection {
    socket: Mutex<Socket>,
    next_id: AtomicU64,
    /// Console messages and uncaught exceptions the page reported, as text (for failure messages).
    log: SyncMutex<Vec<String>>,
}

impl Connection {
    async fn open(url: &str) -> Self {
        let (socket, _) =
            tokio::time::timeout(COMMAND_TIMEOUT, tokio_tungstenite::connect_async(url))
                .await
                .unwrap_or_else(|_| panic!("DevTools WebSocket {url}: no handshake within 20 s"))
                .unwrap_or_else(|e| panic!("DevTools WebSocket {url}: {e}"));
        Self {
            socket: Mutex::new(socket),
            next_id: AtomicU64::new(1),
            log: SyncMutex::new(Vec::new()),
        }
    }

    /// Sends `method` with `params` and returns its `result`, or the protocol's error as text.
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let request = json!({"id": id, "method": method, "params": params}).to_string();
        let mut socket = self.socket.lock().await;
        let exchange = async {
            socket
                .send(Frame::text(request))
                .await
                .map_err(|e| format!("{method}: send: {e}"))?;
            loop {
                let frame = socket
                    .next()
                    .await
                    .ok_or_else(|| format!("{method}: the browser closed the connection"))?
                    .map_err(|e| format!("{method}: {e}"))?;
                let Frame::Text(text) = frame else { continue };
                let message: Value = serde_json::from_str(text.as_str())
                    .map_err(|e| format!("{method}: unreadable answer {text}: {e}"))?;
                if message["id"] == json!(id) {
                    if let Some(error) = message.get("error") {
                        return Err(format!("{method}: {error}"));
                    }
                    return Ok(message["result"].clone());
                }
                self.on_event(&message);
            }
        };
        tokio::time::timeout(COMMAND_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(format!("{method}: no answer within 20 s")))
    }

    /// Keeps the page's console output and exceptions.
    fn on_event(&self, message: &Value) {
        let line = match message["method"].as_str() {
            Some("Runtime.consoleAPICalled") => {
                let params = &message["params"];
                let args: Vec<String> = params["args"]
                    .as_array()
                    .map(|args| {
                        args.iter()
                            .map(|arg| match &arg["value"] {
                                Value::String(text) => text.clone(),
                                Value::Null => {
                                    arg["description"].as_str().unwrap_or("").to_string()
                                }
                                other => other.to_string(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "console.{}: {}",
                    params["type"].as_str().unwrap_or("log"),
                    args.join(" ")
                )
            }
            Some("Runtime.exceptionThrown") => {
                let details = &message["params"]["exceptionDetails"];
                let description = details["exception"]["description"]
                    .as_str()
                    .or(details["text"].as_str())
                    .unwrap_or("an exception");
                format!("uncaught: {description}")
            }
            _ => return,
        };
        if let Ok(mut log) = self.log.lock() {
            log.push(line);
        }
    }
}

/// The browser process and its profile directory: killed and removed when dropped.
struct Process {
    child: Child,
    profile: PathBuf,
}

impl Process {
    /// Waits for `<profile>/DevToolsActivePort`: the port on its first line, the browser's WebSocket path on its
    /// second.
    async fn active_port(&mut self) -> (u16, String) {
        let file = self.profile.join("DevToolsActivePort");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next())
                    && let Ok(port) = port.trim().parse::<u16>()
                {
                    return (port, path.trim().to_string());
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("chromium exited before it listened for DevTools: {status}");
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromium wrote no {} within 30 s",
                file.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// A headless Chromium; killed when dropped.
pub struct Chromium {
    browser: Connection,
    /// The DevTools HTTP port.
    pub port: u16,
    process: Process,
}

impl Chromium {
    /// Starts a headless Chromium with a fresh profile and connects to its DevTools endpoint.
    pub async fn start() -> Self {
        let profile = fresh_profile("iogate-cdp");
        std::fs::create_dir_all(&profile).expect("chromium profile directory");
        let child = Command::new(chromium_binary())
            .args(HEADLESS_FLAGS)
            .args([
                "--remote-debugging-port=0",
                "--disable-background-timer-throttling",
                "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows",
                "--hide-scrollbars",
            ])
            .arg(format!("--window-size={},{}", WINDOW.0, WINDOW.1))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromium starts");
        // Killed and cleaned up by Drop from here on, even if the port never shows up.
        let mut process = Process { child, profile };
        let (port, browser_path) = process.active_port().await;
        let browser = Connection::open(&format!("ws://127.0.0.1:{port}{browser_path}")).await;
        Self {
            browser,
            port,
            process,
        }
    }

    /// Opens `url` in a new tab and waits (bounded) until its document has loaded.
    pub async fn open(&self, url: &str) -> Tab {
        let created = self
            .browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let target_id = created["targetId"]
            .as_str()
            .unwrap_or_else(|| panic!("Target.createTarget answered {created}"))
            .to_string();
        let connection = Connection::open(&format!(
            "ws://127.0.0.1:{}/devtools/page/{target_id}",
            self.port
        ))
        .await;
        let tab = Tab {
            connection,
            target_id,
        };
        for (method, params) in [
            ("Runtime.enable", json!({})),
            ("Page.enable", json!({})),
            (
                "Emulation.setDeviceMetricsOverride",
                json!({"width": WINDOW.0, "height": WINDOW.1, "deviceScaleFactor": 1, "mobile": false}),
            ),
        ] {
            tab.call(method, params).await;
        }
        tab.navigate(url).await;
        tab
    }

    /// How many page tabs the browser has open.
    pub async fn tab_count(&self) -> usize {
        let targets = self
            .browser
            .call("Target.getTargets", json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        targets["targetInfos"]
            .as_array()
            .map(|targets| targets.iter().filter(|t| t["type"] == "page").count())
            .unwrap_or(0)
    }
}

/// One tab of a [`Chromium`].
pub struct Tab {
    connection: Connection,
    /// The tab's DevTools target id.
    pub target_id: String,
}

impl Tab {
    /// Sends a DevTools command to this tab and returns its result; a protocol error fails the test.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.connection
            .call(method, params)
            .await
            .unwrap_or_else(|e| panic!("{e}{}", self.log_suffix()))
    }

    /// Sends a DevTools command to this tab; the protocol's error comes back as text.
    pub async fn try_call(&self, method: &str, params: Value) -> Result<Value, String> {
        self.connection.call(method, params).await
    }

    /// Loads `url` in this tab and waits (bounded) until `document.readyState` is `complete`.
    pub async fn navigate(&self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url})).await;
        if let Some(error) = answer["errorText"].as_str() {
            panic!("loading {url}: {error}{}", self.log_suffix());
        }
        self.wait_for("document.readyState === 'complete'", LOAD_TIMEOUT)
            .await;
    }

    /// Evaluates `js` in the page (promises are awaited) and returns its value as JSON; an exception fails the test.
    pub async fn eval(&self, js: &str) -> Value {
        self.try_eval(js)
            .await
            .unwrap_or_else(|e| panic!("evaluating `{js}`: {e}{}", self.log_suffix()))
    }

    /// Evaluates `js` in the page; an exception or protocol error comes back as text.
    pub async fn try_eval(&self, js: &str) -> Result<Value, String> {
        let answer = self
            .connection
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(details) = answer.get("exceptionDetails") {
            let description = details["exception"]["description"]
                .as_str()
                .or(details["text"].as_str())
                .unwrap_or("an exception");
            return Err(description.to_string());
        }
        Ok(answer["result"]["value"].clone())
    }

    /// Polls `js_condition` every 100 ms until it is truthy; fails the test after `timeout`, with the page's text
    /// and console in the message.
    pub async fn wait_for(&self, js_condition: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let last = match self.try_eval(&format!("!!({js_condition})")).await {
                Ok(Value::Bool(true)) => return,
                Ok(value) => value,
                Err(e) => Value::String(e),
            };
            if tokio::time::Instant::now() >= deadline {
                let text = self
                    .try_eval("document.body ? document.body.innerText.slice(0, 2000) : ''")
                    .await
                    .unwrap_or_default();
                panic!(
                    "`{js_condition}` not true within {timeout:?} (last: {last}); page text:\n{text}{}",
                    self.log_suffix()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes a PNG of the tab's viewport to `target/screenshots/{name}.png` (relative to the crate root) and
    /// returns its path. The tab is brought to the front first: headless Chromium does not paint a background tab,
    /// and a screenshot of one waits for a frame that never comes.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.call("Page.bringToFront", json!({})).await;
        let answer = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let data = answer["data"]
            .as_str()
            .unwrap_or_else(|| panic!("Page.captureScreenshot answered no data"));
        let png = STANDARD.decode(data).expect("the screenshot is base64");
        let directory = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&directory).expect("target/screenshots");
        let path = directory.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path
    }

    /// The console messages and uncaught exceptions the page reported so far.
    pub fn console(&self) -> Vec<String> {
        self.connection
            .log
            .lock()
            .map(|log| log.clone())
            .unwrap_or_default()
    }

    fn log_suffix(&self) -> String {
        let console = self.console();
        if console.is_empty() {
            String::new()
        } else {
            format!("\npage console:\n{}", console.join("\n"))
        }
    }
}
