//! Logs of the iogate binary: `--log-format json` writes one JSON object per line, and each request's log line
//! carries the session id and IIS's `X-ARR-LOG-ID` (at debug level, chosen with `RUST_LOG`); strings clients and
//! backends control are logged escaped: a namespace name and an event name holding a newline and a forged log
//! line each make exactly one log line, with the newline escaped, in the text format; in the JSON format every
//! line stays one JSON object.

use crate::common;
use common::{Backend, Hook, Reply};
use futures_util::{SinkExt, StreamExt};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as Frame;

/// What a client puts after a newline in a namespace name.
const FORGED_NAMESPACE: &str = "FORGED-NAMESPACE level=ERROR the client wrote this line";
/// What a backend puts after a newline in an event name (raw JSON keeps the newline).
const FORGED_EVENT: &str = "FORGED-EVENT level=ERROR the backend wrote this line";

struct Running {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    port: u16,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The connect hook's reply emits an event whose name is not valid (an array, with a raw newline in it).
fn backend_reply(hook: &Hook) -> Reply {
    match hook.event.as_str() {
        "connect" => Reply::ok(format!(
            "{{\"emit\":[{{\"event\":[\"x\",\n\"{FORGED_EVENT}\"],\"args\":[]}}]}}"
        )),
        _ => Reply::ok(""),
    }
}

/// Runs the iogate binary at debug level with `format` logs and the `[[endpoint]]` table `endpoint`; its stderr
/// is collected line by line.
async fn start(format: &str, endpoint: &str) -> Running {
    let port = free_port();
    let config =
        std::env::temp_dir().join(format!("iogate-logging-{}-{port}.toml", std::process::id()));
    std::fs::write(&config, endpoint).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iogate"))
        .args(["--config", config.to_str().unwrap(), "--log-format", format])
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "iogate=debug")
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .expect("iogate starts");
    let stderr = child.stderr.take().unwrap();
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let started = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .is_err()
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "iogate did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(config);
    Running { child, lines, port }
}

/// The socket.io endpoint the escaping tests use: every namespace is allowed, so a name with a newline is one.
fn socketio_endpoint(backend: &Backend) -> String {
    format!(
        "[[endpoint]]\npath = \"/socket.io\"\nwebhook = \"{}\"\nnamespaces = [\"/\", \"/*\"]\n",
        backend.url()
    )
}

/// A v5 client that connects `/` (the backend's reply carries the bad event name), then sends an event for a
/// namespace whose name holds a newline and a forged line (a namespace it has not joined: the session closes).
async fn misbehave(running: &Running) {
    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        running.port
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("websocket");
    ws.send(Frame::Text("40".into())).await.unwrap();
    let forged = format!("42/evil\n{FORGED_NAMESPACE},[\"x\"]");
    let mut sent = false;
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        if let Frame::Text(text) = &frame {
            if text.as_str().starts_with("40{") && !sent {
                ws.send(Frame::Text(forged.as_str().into())).await.unwrap();
                sent = true;
            }
        }
        if matches!(frame, Frame::Close(_)) {
            break;
        }
    }
    assert!(sent, "the client connected and misbehaved");
}

/// Waits until a line holds each of `markers`; returns every line so far.
async fn lines_with(running: &Running, markers: &[&str]) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let lines = running.lines.lock().unwrap().clone();
        if markers
            .iter()
            .all(|marker| lines.iter().any(|line| line.contains(marker)))
        {
            return lines;
        }
        assert!(Instant::now() < deadline, "markers not logged: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn text_logs_escape_client_and_backend_strings() {
    let backend = Backend::start(backend_reply).await;
    let running = start("text", &socketio_endpoint(&backend)).await;
    misbehave(&running).await;
    let lines = lines_with(&running, &["FORGED-NAMESPACE", "FORGED-EVENT"]).await;
    for marker in ["FORGED-NAMESPACE", "FORGED-EVENT"] {
        let holding: Vec<&String> = lines.iter().filter(|l| l.contains(marker)).collect();
        assert_eq!(holding.len(), 1, "one line for {marker}: {holding:#?}");
        assert!(
            holding[0].contains(&format!("\\n{marker}"))
                || holding[0].contains(&format!("\\n\"{marker}")),
            "the newline before {marker} is escaped: {}",
            holding[0]
        );
    }
    assert!(
        lines.iter().all(|line| !line.starts_with("FORGED")),
        "no forged line: {lines:#?}"
    );
}

#[tokio::test]
async fn json_logs_stay_one_object_per_line() {
    let backend = Backend::start(backend_reply).await;
    let running = start("json", &socketio_endpoint(&backend)).await;
    misbehave(&running).await;
    let lines = lines_with(&running, &["FORGED-NAMESPACE", "FORGED-EVENT"]).await;
    for line in &lines {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|v| v.is_object()),
            "not one JSON object: {line}"
        );
    }
    for marker in ["FORGED-NAMESPACE", "FORGED-EVENT"] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(marker)).count(),
            1,
            "{marker}"
        );
    }
}

#[tokio::test]
async fn json_logs_carry_the_session_id_and_the_arr_log_id() {
    let backend = Backend::echo().await;
    let endpoint = format!(
        "[[endpoint]]\npath = \"/engine.io\"\nprotocol = \"engine.io\"\nwebhook = \"{}\"\n",
        backend.url()
    );
    let running = start("json", &endpoint).await;
    let base = format!("http://127.0.0.1:{}/engine.io/", running.port);
    let (sid, _) = common::eio::handshake(&base).await;
    let answer = common::eio::http()
        .post(common::eio::poll_url(&base, &sid))
        .header("x-arr-log-id", "7f3c9a2e-0000-4000-8000-000000000001")
        .body("4hello")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(5);
    let (line, lines) = loop {
        let lines = running.lines.lock().unwrap().clone();
        let found = lines
            .iter()
            .find(|line| line.contains("request served") && line.contains("7f3c9a2e"))
            .cloned();
        if let Some(line) = found {
            break (line, lines);
        }
        assert!(Instant::now() < deadline, "no request log line: {lines:#?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let entry: serde_json::Value = serde_json::from_str(&line).expect("each log line is JSON");
    let span = &entry["span"];
    assert_eq!(span["sid"], sid.as_str(), "{line}");
    assert_eq!(
        span["arr_log_id"], "7f3c9a2e-0000-4000-8000-000000000001",
        "{line}"
    );
    assert_eq!(entry["fields"]["status"], 200, "{line}");
    assert!(
        lines
            .iter()
            .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok())
    );
}
